//go:build !unix

package ragvsft

import (
	"os"
	"os/exec"
)

// startInGroup leaves cmd as it is: without Unix process groups,
// cancelling its context kills the command alone.
func startInGroup(cmd *exec.Cmd) {}

// killGroup kills cmd, having no group to kill.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}

// processAlive reports whether pid is a live process: on Windows,
// FindProcess fails for a process that does not exist.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
