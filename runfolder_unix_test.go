//go:build unix

package ragvsft

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flock locks belong to an open file, not to a process: a second
// lockRunFolder in the same process is refused too, and unlocking lets the
// next one in.
func TestLockRunFolderTwiceInOneProcess(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockRunFolder(dir)
	require.NoError(t, err)
	st, err := os.Stat(filepath.Join(dir, "lock"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	_, err = lockRunFolder(dir)
	require.ErrorIs(t, err, ErrRunFolderLocked)
	assert.Contains(t, err.Error(), dir)
	assert.Contains(t, err.Error(), fmt.Sprintf("another process (PID %d) is running on", os.Getpid()))

	require.NoError(t, unlock())
	require.NoError(t, unlock(), "a second unlock is harmless")
	unlock, err = lockRunFolder(dir)
	require.NoError(t, err, "unlocked folder")
	require.NoError(t, unlock())
}

func TestLockRunFolderNeedsTheFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	_, err := lockRunFolder(dir)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrRunFolderLocked)
	assert.Contains(t, err.Error(), dir)
	assert.NoDirExists(t, dir, "the folder is not created")
}

// Another process holding the folder is named by its PID, and its lock
// dies with it, even by SIGKILL: no stale lock is left to clean up.
func TestLockRunFolderAcrossProcesses(t *testing.T) {
	if dir := os.Getenv("RAGVSFT_TEST_LOCK_DIR"); dir != "" {
		// The child: hold the lock until killed.
		if _, err := lockRunFolder(dir); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^TestLockRunFolderAcrossProcesses$")
	child.Env = append(os.Environ(), "RAGVSFT_TEST_LOCK_DIR="+dir)
	stdout, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	defer child.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked", strings.TrimSpace(line))

	_, err = lockRunFolder(dir)
	require.ErrorIs(t, err, ErrRunFolderLocked)
	assert.Contains(t, err.Error(), fmt.Sprintf("(PID %d)", child.Process.Pid))

	require.NoError(t, child.Process.Kill())
	_ = child.Wait()
	unlock, err := lockRunFolder(dir)
	require.NoError(t, err, "the killed process's lock is gone")
	require.NoError(t, unlock())
}

// lockWaiting waits for a lock another open file holds, says so once, and
// gives up when ctx is done.
func TestLockWaiting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "finetune-x.lock")
	unlock, err := lockWaiting(context.Background(), path, nil)
	require.NoError(t, err)

	waited := 0
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = lockWaiting(ctx, path, func() { waited++ })
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), path)
	assert.Equal(t, 1, waited)

	got := make(chan error, 1)
	go func() {
		unlock2, err := lockWaiting(context.Background(), path, nil)
		if err == nil {
			err = unlock2()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("locked while held: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	require.NoError(t, unlock())
	select {
	case err := <-got:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the released lock was not taken")
	}
}
