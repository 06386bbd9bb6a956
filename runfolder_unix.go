//go:build unix

package ragvsft

import (
	"errors"
	"os"
	"syscall"
)

// errLocked is lockFile's answer when another open file holds the lock.
var errLocked = errors.New("locked")

// lockFile takes flock(2)'s exclusive lock on f without waiting.
func lockFile(f *os.File) error { return flock(f, syscall.LOCK_EX) }

// lockFileShared takes flock(2)'s shared lock on f without waiting: many
// holders at once, but none while an exclusive lock is held.
func lockFileShared(f *os.File) error { return flock(f, syscall.LOCK_SH) }

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errLocked
		}
		return err
	}
}

func unlockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
