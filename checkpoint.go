package ragvsft

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Checkpoint is an append-only JSONL file of Results, one line per scored
// item, each made durable (fsync) before Append returns. Pass Append as an
// Experiment's OnResult and a run killed at any moment loses no answer it
// paid for; give the results OpenCheckpoint read back to the next run as
// Experiment.Previous and only the missing items are asked.
//
// A Checkpoint is safe for concurrent use.
type Checkpoint struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// OpenCheckpoint opens (or creates) the checkpoint at path and returns the
// results it already holds. A last line cut short by a crash is dropped and
// truncated away; a malformed line anywhere else is an error naming it.
func OpenCheckpoint(path string) (*Checkpoint, []Result, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("ragvsft: opening checkpoint: %w", err)
	}
	results, end, err := readCheckpoint(f, path)
	if err == nil {
		err = f.Truncate(end)
	}
	if err == nil {
		_, err = f.Seek(end, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return &Checkpoint{f: f, path: path}, results, nil
}

// readCheckpoint reads complete lines and returns the offset after the last
// good one.
func readCheckpoint(r io.Reader, path string) ([]Result, int64, error) {
	var (
		results []Result
		end     int64
		line    int
	)
	br := bufio.NewReader(r)
	for {
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			// No newline: the process died mid-write. Drop the fragment.
			return results, end, nil
		}
		if err != nil {
			return nil, 0, fmt.Errorf("ragvsft: reading checkpoint %s: %w", path, err)
		}
		line++
		if len(bytes.TrimSpace(b)) > 0 {
			var res Result
			if err := json.Unmarshal(b, &res); err != nil {
				return nil, 0, fmt.Errorf("ragvsft: checkpoint %s: line %d: %w", path, line, err)
			}
			results = append(results, res)
		}
		end += int64(len(b))
	}
}

// Append writes res as one line and syncs it to disk.
func (c *Checkpoint) Append(res Result) error {
	b, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("ragvsft: encoding result %s/%s: %w", res.Arm, res.QuestionID, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("ragvsft: writing checkpoint %s: %w", c.path, err)
	}
	if err := c.f.Sync(); err != nil {
		return fmt.Errorf("ragvsft: syncing checkpoint %s: %w", c.path, err)
	}
	return nil
}

// Close closes the file.
func (c *Checkpoint) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.f.Close()
}
