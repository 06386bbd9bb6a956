// Command ragvsft runs the fine-tuning vs RAG experiment on your knowledge
// base: an OpenAI chat fine-tuning JSONL file of question/answer facts.
//
//	go install github.com/ragvsft/ragvsft/cmd/ragvsft@latest
//	ragvsft run -data kb.jsonl [-questions q.jsonl] [flags]   the experiment (offline by default)
//	ragvsft resume [DIR] [-retry-errors]                       continue a run (the latest under runs/)
//	ragvsft validate FILE...                                   check training or questions files
//	ragvsft estimate -data kb.jsonl [-model M]                 what a run on OpenAI would cost
//	ragvsft view DIR                                           serve DIR/report.html on 127.0.0.1
//	ragvsft compare DIR DIR                                    two runs item by item, McNemar
//	ragvsft cache stats|clear [-cache DIR]                     the on-disk answer cache
//
// run and resume are internal/runner, the program examples/cities is, with
// -data required and no memorization sweep unless -sweep asks for one:
// every flag of examples/cities works here (ragvsft run -h lists them).
// RAGVSFT_TODAY=YYYY-MM-DD sets the day the model catalog's shutdown dates
// are checked against, e.g. 2027-01-15 to see what OpenAI's shutdowns will
// do; run, resume and estimate refuse a malformed value at start.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `Usage: ragvsft COMMAND [flags]

Commands:
  run -data FILE [flags]     run the experiment on a knowledge base (offline by default)
  resume [DIR] [flags]       continue a run: DIR, else the latest under runs/
  validate FILE...           check training JSONL or questions files
  estimate -data FILE        what a run would cost on OpenAI, spending nothing
  view DIR                   serve DIR/report.html on 127.0.0.1
  compare DIR DIR            two runs of the same questions, item by item
  cache stats|clear          the on-disk answer cache

"ragvsft COMMAND -h" tells more.
`

// run is the command; it returns the exit status: 0 done, 1 failed, 2 a
// usage error.
func run(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	commands := map[string]func(context.Context, []string, *os.File, io.Writer, io.Writer) error{
		"run": runCmd, "resume": resumeCmd, "validate": validateCmd, "estimate": estimateCmd,
		"view": viewCmd, "compare": compareCmd, "cache": cacheCmd,
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "ragvsft: unknown command %q\n\n%s", name, usage)
		return 2
	}
	err := cmd(ctx, args[1:], stdin, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "ragvsft %s: %v\n", name, err)
		return 2
	}
	fmt.Fprintf(stderr, "ragvsft %s: %v\n", name, err)
	return 1
}

// errUsage marks an error in how a command was called.
var errUsage = errors.New("usage")

func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}
