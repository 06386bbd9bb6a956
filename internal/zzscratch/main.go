package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/ragvsft/ragvsft/internal/runner"
)

func main() {
	go func() {
		var peak uint64
		for i := 0; ; i++ {
			time.Sleep(500 * time.Millisecond)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak+50<<20 {
				peak = ms.HeapAlloc
				f, _ := os.Create("/tmp/heap-peak.prof")
				pprof.WriteHeapProfile(f)
				f.Close()
				fmt.Fprintf(os.Stderr, "heap profile at %d MiB alloc, %d MiB sys\n", ms.HeapAlloc>>20, ms.Sys>>20)
			}
		}
	}()
	if err := runner.Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, runner.Options{}); err != nil {
		fmt.Println(err)
	}
}
