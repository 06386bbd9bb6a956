package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// serverCPU reads the CPU time the PostgreSQL server has used, from /proc,
// when it runs on this machine: on a loaded machine wall times measure the
// load as much as the work. Nil (a remote server, or /proc not readable)
// reports "n/a".
type serverCPU struct{ postmaster int }

// newServerCPU finds the server's postmaster through its data directory
// (SHOW data_directory needs a superuser or pg_read_all_settings).
func newServerCPU(ctx context.Context, dsn string) (*serverCPU, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	defer conn.Close(ctx)
	var dir string
	if err := conn.QueryRow(ctx, "SHOW data_directory").Scan(&dir); err != nil {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return nil, nil
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		return nil, nil
	}
	c := &serverCPU{postmaster: pid}
	if _, ok := c.used(); !ok {
		return nil, nil
	}
	return c, nil
}

// used is the CPU time of the postmaster, of the children it has reaped and
// of those still running (backends, parallel workers).
func (c *serverCPU) used() (time.Duration, bool) {
	total, ok := procTicks(c.postmaster, true)
	if !ok {
		return 0, false
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == c.postmaster || parent(pid) != c.postmaster {
			continue
		}
		t, _ := procTicks(pid, false)
		total += t
	}
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(total) * time.Second / ticksPerSecond, true
}

// procTicks is utime+stime of pid, with its reaped children's if children.
func procTicks(pid int, children bool) (int64, bool) {
	f := statFields(pid)
	if len(f) < 15 {
		return 0, false
	}
	// After the command's closing parenthesis: state is field 3; utime,
	// stime, cutime and cstime are fields 14 to 17.
	n := 2
	if children {
		n = 4
	}
	var sum int64
	for _, s := range f[11 : 11+n] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, false
		}
		sum += v
	}
	return sum, true
}

func parent(pid int) int {
	f := statFields(pid)
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(f[1])
	return p
}

// statFields returns /proc/pid/stat's fields after the command name,
// starting with the state (field 3).
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// cpuTime is a measured CPU time, or none.
type cpuTime struct {
	d  time.Duration
	ok bool
}

func (t cpuTime) String() string {
	if !t.ok {
		return "n/a"
	}
	return fmtDur(t.d)
}

func (t cpuTime) per(n int) string {
	if !t.ok {
		return "n/a"
	}
	return fmtDur(t.d / time.Duration(n))
}

// timed runs f and returns its wall time and the server CPU it used.
func (c *serverCPU) timed(f func() error) (time.Duration, cpuTime, error) {
	var before time.Duration
	ok := c != nil
	if ok {
		before, ok = c.used()
	}
	start := time.Now()
	err := f()
	wall := time.Since(start)
	if ok {
		var after time.Duration
		after, ok = c.used()
		return wall, cpuTime{after - before, ok}, err
	}
	return wall, cpuTime{}, err
}
