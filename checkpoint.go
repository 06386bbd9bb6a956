package ragvsft

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"
)

// ResultStore is how an Experiment resumes: Previous are the results an
// earlier run of the same experiment left, and Append keeps each new one.
// Checkpoint is the file that does it and Run the run folder around it;
// ResultFunc only watches.
type ResultStore interface {
	// Previous returns the results to keep, read once when the run
	// starts. An item, arm and question, that one of them covers (the
	// last, when several do) is not asked again while its question's text
	// is unchanged; an error result is kept as an error (leave it out to
	// have it asked again).
	Previous() []Result
	// Append is called with each new result as soon as it is scored, one
	// call at a time. An error stops the run.
	Append(Result) error
}

// ResultFunc is a ResultStore without earlier results that hands each new
// result to the function, as http.HandlerFunc makes a Handler of a
// function: a progress line, a log, a test's counter.
type ResultFunc func(Result) error

// Previous returns nil: a ResultFunc resumes nothing.
func (ResultFunc) Previous() []Result { return nil }

// Append calls f(r).
func (f ResultFunc) Append(r Result) error { return f(r) }

var (
	_ ResultStore = (*Checkpoint)(nil)
	_ ResultStore = ResultFunc(nil)
)

// Checkpoint is an append-only JSONL file of Results, one line per scored
// item, and a ResultStore: set it as an Experiment's Results and a run
// killed at any moment loses no answer it paid for; the next run opens the
// same file, and only the missing items are asked.
//
// Durability is a group commit. Append writes its line to the file before
// it returns, so a process that dies (kill -9, a panic, OOM) loses nothing:
// the operating system holds the line. What a crash of the machine itself
// (power loss, kernel panic) can lose is bounded by the sync interval: the
// file is fsync'd in the background at most every
// CheckpointOptions.SyncInterval (DefaultCheckpointSyncInterval) while new
// lines are waiting, once for all of them, and at Sync and Close. So a
// run of 40,000 items pays for a few hundred fsyncs, not 40,000, while the
// results lock is held. SyncInterval < 0 fsyncs every line before Append
// returns, the stricter and slower guarantee. A failed background fsync is
// returned by the next Append, Sync or Close.
//
// A Checkpoint is safe for concurrent use.
type Checkpoint struct {
	mu       sync.Mutex
	f        *os.File
	path     string
	interval time.Duration
	dirty    bool  // lines written since the last fsync
	err      error // a failed background fsync, until returned
	closed   bool
	previous []Result
	stop     chan struct{}
	stopped  chan struct{}
}

// DefaultCheckpointSyncInterval is how long a line may wait for its fsync
// when CheckpointOptions.SyncInterval is 0: short against the seconds a
// model call takes (so a machine crash costs at most a few calls asked
// again), long against an fsync (2-5 ms on this project's machine).
const DefaultCheckpointSyncInterval = 100 * time.Millisecond

// CheckpointOptions are the settings of OpenCheckpointWith; the zero value
// is OpenCheckpoint's.
type CheckpointOptions struct {
	// SyncInterval is the longest a written line waits for its fsync; 0
	// means DefaultCheckpointSyncInterval, negative fsyncs every line in
	// Append.
	SyncInterval time.Duration
	// RetryErrors leaves the results recorded as errors out of Previous,
	// so that a resumed run asks those items again.
	RetryErrors bool
}

// OpenCheckpoint opens (or creates) the checkpoint at path with the
// default options; Previous returns the results it already holds. A last
// line cut short by a crash is dropped and truncated away; a malformed line
// anywhere else is an error naming it. Close it to sync what is left and
// stop its background syncing.
func OpenCheckpoint(path string) (*Checkpoint, error) {
	return OpenCheckpointWith(path, CheckpointOptions{})
}

// OpenCheckpointWith is OpenCheckpoint with options.
func OpenCheckpointWith(path string, opts CheckpointOptions) (*Checkpoint, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("ragvsft: opening checkpoint: %w", err)
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
		return nil, err
	}
	if opts.RetryErrors {
		results = slices.DeleteFunc(results, func(r Result) bool { return r.Error != "" })
	}
	c := &Checkpoint{f: f, path: path, interval: opts.SyncInterval, previous: results}
	if c.interval == 0 {
		c.interval = DefaultCheckpointSyncInterval
	}
	if c.interval > 0 {
		c.stop, c.stopped = make(chan struct{}), make(chan struct{})
		go c.syncLoop()
	}
	return c, nil
}

// Previous returns the results the file held when it was opened (without
// the errors, with RetryErrors), in file order.
func (c *Checkpoint) Previous() []Result { return c.previous }

// syncLoop fsyncs the written lines every interval until Close.
func (c *Checkpoint) syncLoop() {
	defer close(c.stopped)
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.mu.Lock()
			if err := c.syncLocked(); err != nil && c.err == nil {
				c.err = err
			}
			c.mu.Unlock()
		}
	}
}

// syncLocked fsyncs the file if lines are waiting; c.mu is held.
func (c *Checkpoint) syncLocked() error {
	if !c.dirty {
		return nil
	}
	if err := c.f.Sync(); err != nil {
		return fmt.Errorf("ragvsft: syncing checkpoint %s: %w", c.path, err)
	}
	c.dirty = false
	return nil
}

// takeErr returns and clears a failed background fsync; c.mu is held.
func (c *Checkpoint) takeErr() error {
	err := c.err
	c.err = nil
	return err
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

// Append writes res as one line: on disk for any later reader once it
// returns, and made durable against a machine crash within the sync
// interval (see Checkpoint). It returns the error of a background fsync
// that failed since the last call, and fails after Close.
func (c *Checkpoint) Append(res Result) error {
	b, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("ragvsft: encoding result %s/%s: %w", res.Arm, res.QuestionID, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("ragvsft: writing checkpoint %s: %w", c.path, os.ErrClosed)
	}
	if err := c.takeErr(); err != nil {
		return err
	}
	if _, err := c.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("ragvsft: writing checkpoint %s: %w", c.path, err)
	}
	c.dirty = true
	if c.interval < 0 {
		return c.syncLocked()
	}
	return nil
}

// Sync makes every line written so far durable now.
func (c *Checkpoint) Sync() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	if err := c.takeErr(); err != nil {
		return err
	}
	return c.syncLocked()
}

// Close syncs what is left, stops the background syncing and closes the
// file. A second Close does nothing.
func (c *Checkpoint) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	if c.stop != nil {
		close(c.stop)
		<-c.stopped
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.takeErr()
	if serr := c.syncLocked(); err == nil {
		err = serr
	}
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	return err
}
