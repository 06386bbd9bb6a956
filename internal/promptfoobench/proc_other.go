//go:build !linux

package main

import (
	"os"
	"time"
)

// treeSample is the peak of a process tree's summed resident memory; it is
// only measured on Linux (from /proc).
type treeSample struct {
	rss       int64
	processes int
}

func sampleTree(root int, interval time.Duration, stop <-chan struct{}) treeSample {
	<-stop
	return treeSample{}
}

// maxRSS is only read on Linux, where ru_maxrss is in KiB.
func maxRSS(ps *os.ProcessState) int64 { return 0 }
