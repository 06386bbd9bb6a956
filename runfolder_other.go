//go:build !unix

package ragvsft

import (
	"errors"
	"os"
)

// errLocked is lockFile's answer when another open file holds the lock.
var errLocked = errors.New("locked")

// lockFile takes no lock: without flock(2), lockRunFolder only writes the
// PID, and keeping two processes off one run folder is the user's to do.
func lockFile(*os.File) error { return nil }

func lockFileShared(*os.File) error { return nil }

func unlockFile(*os.File) error { return nil }
