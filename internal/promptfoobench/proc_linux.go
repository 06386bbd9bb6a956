package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// treeSample is the peak of a process tree's summed resident memory.
type treeSample struct {
	rss       int64 // bytes
	processes int   // most processes in the tree at one sample
}

// sampleTree reads the resident memory of root and its descendants from
// /proc every interval until stop is closed. A process that lives less than
// an interval may be missed; ru_maxrss (maxRSS) misses none, but tells the
// largest process, not the sum.
func sampleTree(root int, interval time.Duration, stop <-chan struct{}) treeSample {
	var peak treeSample
	page := int64(os.Getpagesize())
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		var rss int64
		pids := descendants(root)
		for _, pid := range pids {
			rss += residentPages(pid) * page
		}
		peak.rss = max(peak.rss, rss)
		peak.processes = max(peak.processes, len(pids))
		select {
		case <-stop:
			return peak
		case <-t.C:
		}
	}
}

// descendants are root and every process below it, from /proc/*/stat.
func descendants(root int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := make(map[int][]int)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := parent(pid); ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	tree := []int{root}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i]]...)
	}
	return tree
}

// parent is the ppid of pid: /proc/PID/stat's field 4, after the command's
// closing parenthesis (the command may hold spaces and parentheses).
func parent(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// residentPages is /proc/PID/statm's second field, or 0 once pid is gone.
func residentPages(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.ParseInt(f[1], 10, 64)
	return n
}

// maxRSS is the exited child's ru_maxrss from wait4, in bytes (Linux gives
// KiB): the larger of its own peak and that of the largest descendant it
// waited for.
func maxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss * 1024
	}
	return 0
}
