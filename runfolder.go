package ragvsft

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ragvsft/ragvsft/internal/atomicfile"
)

// Files of a run folder that this file owns.
const (
	runLockFile   = "lock"
	runRecordFile = "run.json"
)

// ErrRunFolderLocked is returned by CreateRun and OpenRun when another process holds
// the run folder's lock: two runs writing one checkpoint would corrupt it.
var ErrRunFolderLocked = errors.New("ragvsft: run folder in use")

// ErrRunFolderChanged is returned by OpenRun when a file of the run
// folder is not what the run started with: the results already checkpointed
// were computed without the edit.
var ErrRunFolderChanged = errors.New("ragvsft: run folder changed since its run started")

// lockRunFolder takes an exclusive lock on the run folder dir, which must
// exist, so that one process at a time runs on it. Take it before reading or
// writing any file in dir and hold it for the whole run: it is released by
// unlock, or by the operating system when the process ends, even by kill -9,
// so a crashed run never leaves a stale lock behind.
//
// The lock is a file named lock in dir (0600) holding the holder's PID.
// When another process holds it, lockRunFolder returns at once with an
// error wrapping ErrRunFolderLocked that names dir and, when it can read
// it, that process's PID. The lock is flock(2) on Unix systems, held per
// open file, so two lockRunFolder calls in one process conflict as well;
// elsewhere it is not taken (only the PID is written), and two processes
// must not be run on one folder.
//
// unlock is safe to call more than once; the lock file is left in dir, since
// removing it would let a third process lock a new file while a second still
// holds the old one.
func lockRunFolder(dir string) (unlock func() error, err error) {
	path := filepath.Join(dir, runLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("ragvsft: locking run folder %s: %w", dir, err)
	}
	if err := lockFile(f); err != nil {
		defer f.Close()
		if !errors.Is(err, errLocked) {
			return nil, fmt.Errorf("ragvsft: locking run folder %s: %w", dir, err)
		}
		holder := "another process"
		if b, err := io.ReadAll(io.LimitReader(f, 32)); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				holder += fmt.Sprintf(" (PID %d)", pid)
			}
		}
		return nil, fmt.Errorf("%w: %s is running on %s (it holds %s); wait for it to finish or stop it",
			ErrRunFolderLocked, holder, dir, path)
	}
	if err := writePID(f); err != nil {
		unlockFile(f)
		f.Close()
		return nil, fmt.Errorf("ragvsft: locking run folder %s: %w", dir, err)
	}
	var once sync.Once
	return func() error {
		err := os.ErrClosed
		once.Do(func() {
			// A PID left behind would name a process that no longer holds
			// the folder.
			err = errors.Join(f.Truncate(0), unlockFile(f), f.Close())
		})
		if err != nil && !errors.Is(err, os.ErrClosed) {
			return fmt.Errorf("ragvsft: unlocking run folder %s: %w", dir, err)
		}
		return nil
	}, nil
}

// lockWaiting takes an exclusive lock on the file at path (created 0600),
// waiting while another open file holds it; waiting, if set, is called once
// when it has to wait. Cancelling ctx stops the wait.
func lockWaiting(ctx context.Context, path string, waiting func()) (unlock func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("ragvsft: locking %s: %w", path, err)
	}
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		err := lockFile(f)
		if err == nil {
			return func() error { return errors.Join(unlockFile(f), f.Close()) }, nil
		}
		if !errors.Is(err, errLocked) {
			f.Close()
			return nil, fmt.Errorf("ragvsft: locking %s: %w", path, err)
		}
		if waiting != nil {
			waiting()
			waiting = nil
		}
		if err := sleep(ctx, wait); err != nil {
			f.Close()
			return nil, fmt.Errorf("ragvsft: waiting for the lock %s: %w", path, err)
		}
	}
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// runRecord is run.json: what the run folder's files were when the run
// started.
type runRecord struct {
	Version int                   `json:"version"`
	Files   map[string]fileRecord `json:"files"`
}

// fileRecord is one file's sha256. A JSON file is hashed in a canonical
// form (keys sorted, no spaces), so reformatting it is no change, and the
// value of each top-level key is hashed too, so a change names its keys.
type fileRecord struct {
	SHA256 string            `json:"sha256"`
	Keys   map[string]string `json:"keys,omitempty"`
}

// recordRunFiles records the sha256 of each named file of the run folder
// dir in dir/run.json (0600, written atomically and synced), for
// checkRunFiles to compare when the run is resumed. Record the files that
// decide what a run asks and how it scores (its configuration, its dataset)
// once they are written and before the first item is asked. A name ending
// in .json must hold JSON: it is hashed in a canonical form, so reformatting
// it changes nothing, and a change names the top-level keys that differ.
func recordRunFiles(dir string, names ...string) error {
	rec := runRecord{Version: 1, Files: make(map[string]fileRecord, len(names))}
	for _, name := range names {
		fr, err := hashRunFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		rec.Files[name] = fr
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("ragvsft: encoding %s: %w", runRecordFile, err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, runRecordFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("ragvsft: %w", err)
	}
	return nil
}

// checkRunFiles compares the files recordRunFiles recorded in dir/run.json
// with the files in dir now. A file edited or removed since makes an error
// wrapping ErrRunFolderChanged that names each file and, for a JSON file,
// the keys that differ. A folder without run.json (from before it was
// recorded) gives an error for which errors.Is(err, fs.ErrNotExist) holds.
func checkRunFiles(dir string) error {
	path := filepath.Join(dir, runRecordFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("ragvsft: reading %s: %w", path, err)
	}
	var rec runRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return fmt.Errorf("ragvsft: reading %s: %w", path, err)
	}
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(rec.Files)) {
		was := rec.Files[name]
		now, err := hashRunFile(filepath.Join(dir, name))
		switch {
		case errors.Is(err, os.ErrNotExist):
			problems = append(problems, name+" is missing")
		case err != nil:
			return err
		case now.SHA256 == was.SHA256:
		case was.Keys != nil && now.Keys != nil:
			problems = append(problems, fmt.Sprintf("%s differs in %s", name, strings.Join(changedKeys(was.Keys, now.Keys), ", ")))
		default:
			problems = append(problems, name+" differs")
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: in %s, %s (recorded in %s); the results already checkpointed were computed without these edits: undo them, or start a new run",
			ErrRunFolderChanged, dir, strings.Join(problems, "; "), runRecordFile)
	}
	return nil
}

// changedKeys lists, sorted, the keys whose values differ between was and
// now, added and removed ones included.
func changedKeys(was, now map[string]string) []string {
	var keys []string
	for k, v := range was {
		if now[k] != v {
			keys = append(keys, k)
		}
	}
	for k := range now {
		if _, ok := was[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if len(keys) == 0 {
		// Equal values in another form (a reordered array?): say so.
		return []string{"its content"}
	}
	return keys
}

func hashRunFile(path string) (fileRecord, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return fileRecord{}, fmt.Errorf("ragvsft: hashing %s: %w", path, err)
	}
	if !strings.HasSuffix(path, ".json") {
		return fileRecord{SHA256: sha256Hex(b)}, nil
	}
	v, err := canonicalJSON(b)
	if err != nil {
		return fileRecord{}, fmt.Errorf("ragvsft: hashing %s: %w", path, err)
	}
	canon, err := json.Marshal(v)
	if err != nil {
		return fileRecord{}, fmt.Errorf("ragvsft: hashing %s: %w", path, err)
	}
	fr := fileRecord{SHA256: sha256Hex(canon)}
	if obj, ok := v.(map[string]any); ok {
		fr.Keys = make(map[string]string, len(obj))
		for k, x := range obj {
			kb, err := json.Marshal(x)
			if err != nil {
				return fileRecord{}, fmt.Errorf("ragvsft: hashing %s: key %q: %w", path, k, err)
			}
			fr.Keys[k] = sha256Hex(kb)
		}
	}
	return fr, nil
}

// canonicalJSON decodes b keeping numbers as written; encoding it again
// sorts object keys and drops spaces.
func canonicalJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one JSON value")
	}
	return v, nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
