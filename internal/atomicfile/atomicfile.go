// Package atomicfile writes a file whole or not at all: a temporary file in
// the same folder, synced, renamed over the target, and the folder synced,
// so a process killed at any moment (or a power cut) leaves the old file or
// the new one, never half of one.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFile writes data to path with permissions perm, atomically and
// durably. Errors name path.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write is WriteFile for content too large to hold in memory: write
// streams it into the temporary file (buffered), which replaces path only
// if write returns nil.
func Write(path string, perm os.FileMode, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	bw := bufio.NewWriterSize(tmp, 1<<16)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	// The rename is durable once the folder's entry is.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // some systems (Windows) cannot sync a folder
		d.Close()
	}
	return nil
}
