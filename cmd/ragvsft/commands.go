package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/internal/runner"
	"github.com/ragvsft/ragvsft/report"
)

var noSweep = ""

func runnerOptions(usage string) runner.Options {
	return runner.Options{Program: "ragvsft", Usage: usage, NeedData: true, Sweep: &noSweep}
}

// runCmd is "ragvsft run": the experiment, with -data required.
func runCmd(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) error {
	return runner.Run(ctx, args, stdin, stdout, stderr,
		runnerOptions("Usage: ragvsft run -data FILE [-questions FILE] [flags]\n\nRuns the fine-tuning vs RAG experiment on a knowledge base; offline on the embedded local model unless -backend openai.\n\n"))
}

// resumeCmd is "ragvsft resume [DIR]": DIR, else the newest run folder
// under runs/ (the default -out).
func resumeCmd(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) error {
	dir := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		dir, args = args[0], args[1:]
	}
	if slices.Contains(args, "-h") || slices.Contains(args, "-help") || slices.Contains(args, "--help") {
		fmt.Fprintln(stdout, "Usage: ragvsft resume [DIR] [-retry-errors] [-yes] [flags that do not change the experiment]\n\nContinues the run in DIR, else the newest run folder under runs/.")
		return nil
	}
	if dir == "" {
		var err error
		if dir, err = latestRun("runs"); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "ragvsft: resuming the latest run, %s\n", dir)
	}
	return runner.Run(ctx, append([]string{"-resume", dir}, args...), stdin, stdout, stderr,
		runnerOptions("Usage: ragvsft resume [DIR] [flags]\n\n"))
}

// latestRun is the newest folder under root holding a config.json.
func latestRun(root string) (string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return "", fmt.Errorf("no run to resume: %w (give the run folder: ragvsft resume DIR)", err)
	}
	var newest string
	var newestTime int64
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		info, err := os.Stat(filepath.Join(root, e.Name(), runner.ConfigFile))
		if err != nil {
			continue
		}
		if t := info.ModTime().UnixNano(); newest == "" || t > newestTime {
			newest, newestTime = filepath.Join(root, e.Name()), t
		}
	}
	if newest == "" {
		return "", fmt.Errorf("no run folder under %s (give the run folder: ragvsft resume DIR)", root)
	}
	return newest, nil
}

// validateCmd is "ragvsft validate FILE...": each file is read as a
// training file, or, when its first line has "question" or "answer", as a
// questions file, with every problem named by line.
func validateCmd(_ context.Context, args []string, _ *os.File, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("validate", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ragvsft validate FILE...\n\nChecks OpenAI chat fine-tuning JSONL (OpenAI's rules) or questions files (id, question or messages, answer, doc_id, aliases), naming every problem by line.")
	}
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() == 0 {
		return usageError("no file to validate")
	}
	failed := 0
	for _, path := range fl.Args() {
		if msg, err := validateFile(path); err != nil {
			failed++
			fmt.Fprintf(stdout, "%s: invalid\n%v\n", path, err)
		} else {
			fmt.Fprintf(stdout, "%s: %s\n", path, msg)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files are invalid", failed, fl.NArg())
	}
	return nil
}

// validateFile checks one file and says what it holds.
func validateFile(path string) (string, error) {
	first, err := firstLine(path)
	if err != nil {
		return "", err
	}
	if strings.Contains(first, `"question"`) || strings.Contains(first, `"answer"`) {
		qs, err := ragvsft.LoadQuestions(path)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("a valid questions file: %d questions", qs.Len()), nil
	}
	ds, err := ragvsft.LoadJSONL(path)
	if err != nil {
		return "", err
	}
	docs, err := ragvsft.Documents(ds)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("a valid chat fine-tuning file: %d examples, %d documents for the rag arms", ds.Len(), len(docs)), nil
}

// firstLine is the first non-blank line of path, up to 64 KB.
func firstLine(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", err
	}
	for _, line := range strings.Split(string(buf[:n]), "\n") {
		if strings.TrimSpace(line) != "" {
			return line, nil
		}
	}
	return "", nil
}

// estimateCmd is "ragvsft estimate": the run's cost estimate on the openai
// backend, stopping before anything is spent or written.
func estimateCmd(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) error {
	if slices.Contains(args, "-h") || slices.Contains(args, "-help") || slices.Contains(args, "--help") {
		fmt.Fprintln(stdout, "Usage: ragvsft estimate -data FILE [-model M] [run's flags]\n\nPrints what \"ragvsft run -backend openai\" would cost, and spends nothing.")
		return nil
	}
	if ragvsft.OpenAIConfigFromEnv().APIKey == "" {
		// Nothing is sent: a placeholder key, and a server that does not
		// exist, so that a request would fail rather than reach anyone.
		os.Setenv("OPENAI_API_KEY", "estimate-only")
		os.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
	}
	// The run folder the program needs is a temporary one, removed after.
	tmp, err := os.MkdirTemp("", "ragvsft-estimate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	return runner.Run(ctx, append([]string{"-backend", "openai", "-estimate", "-no-cache", "-out", filepath.Join(tmp, "run")}, args...), stdin, stdout, stderr,
		runnerOptions("Usage: ragvsft estimate -data FILE [flags]\n\n"))
}

// viewCmd is "ragvsft view DIR": DIR's files served on 127.0.0.1, until
// interrupted; -print prints the report's path instead.
func viewCmd(ctx context.Context, args []string, _ *os.File, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("view", flag.ContinueOnError)
	fl.SetOutput(stderr)
	addr := fl.String("addr", "127.0.0.1:0", "`address` to serve on (127.0.0.1 only by default)")
	print := fl.Bool("print", false, "print the path of report.html and exit")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ragvsft view [-addr 127.0.0.1:0] [-print] DIR\n\nServes the run folder DIR (its report.html) until Ctrl-C.")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 1 {
		return usageError("view takes one run folder")
	}
	dir := fl.Arg(0)
	page := filepath.Join(dir, "report.html")
	if _, err := os.Stat(page); err != nil {
		return fmt.Errorf("%s holds no report: %w", dir, err)
	}
	if *print {
		abs, err := filepath.Abs(page)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, abs)
		return nil
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.FileServerFS(os.DirFS(dir))}
	fmt.Fprintf(stdout, "ragvsft: serving %s at http://%s/report.html (Ctrl-C stops)\n", dir, ln.Addr())
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// compareCmd is "ragvsft compare DIR DIR": ragvsft.Compare of the two
// runs' reports, as Markdown; -html FILE writes the comparison view too.
func compareCmd(_ context.Context, args []string, _ *os.File, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("compare", flag.ContinueOnError)
	fl.SetOutput(stderr)
	html := fl.String("html", "", "also write the comparison as self-contained HTML to `FILE`")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ragvsft compare [-html FILE] DIR_A DIR_B\n\nPairs two runs of the same questions item by item: for each arm, the questions that flipped and the exact McNemar test.")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 2 {
		return usageError("compare takes two run folders")
	}
	a, err := readReport(fl.Arg(0))
	if err != nil {
		return err
	}
	b, err := readReport(fl.Arg(1))
	if err != nil {
		return err
	}
	c := ragvsft.Compare(a, b)
	fmt.Fprintf(stdout, "A: %s\nB: %s\n\n| arm | paired | both right | neither | only A | only B | McNemar p |\n|---|---:|---:|---:|---:|---:|---:|\n", fl.Arg(0), fl.Arg(1))
	for _, arm := range c.Arms {
		fmt.Fprintf(stdout, "| %s | %d | %d | %d | %d | %d | %.4g |\n", arm.Arm, arm.Paired, arm.BothCorrect, arm.NeitherCorrect, arm.OnlyA, arm.OnlyB, arm.PValue)
	}
	for _, arm := range c.Arms {
		for _, f := range arm.Flips {
			who := "A"
			if f.B.Verdict.Correct {
				who = "B"
			}
			fmt.Fprintf(stdout, "\n%s, %s: only %s right: %q; A answered %q, B %q", arm.Arm, f.A.QuestionID, who, f.A.Question, f.A.Answer, f.B.Answer)
		}
	}
	fmt.Fprintln(stdout)
	if *html != "" {
		f, err := os.OpenFile(*html, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		if err := report.WriteComparisonHTML(f, c); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return nil
}

// readReport reads DIR/report.json.
func readReport(dir string) (*ragvsft.Report, error) {
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		return nil, fmt.Errorf("%w (is %s a run folder?)", err, dir)
	}
	var r ragvsft.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, "report.json"), err)
	}
	return &r, nil
}

// cacheCmd is "ragvsft cache stats|clear".
func cacheCmd(_ context.Context, args []string, _ *os.File, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && args[0] != "-h" && args[0] != "-help" && args[0] != "--help" {
		return usageError("cache stats|clear [-cache DIR]")
	}
	sub := args[0]
	fl := flag.NewFlagSet("cache", flag.ContinueOnError)
	fl.SetOutput(stderr)
	dir := fl.String("cache", filepath.Join("runs", "cache"), "the cache `folder` (the run's default: runs/cache)")
	yes := fl.Bool("yes", false, "with clear: remove without asking")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ragvsft cache stats|clear [-cache DIR] [-yes]\n\nstats counts the cached answers and embeddings and their size; clear removes the folder.")
		fl.PrintDefaults()
	}
	if sub == "-h" || sub == "-help" || sub == "--help" {
		fl.Usage()
		return flag.ErrHelp
	}
	if err := fl.Parse(args[1:]); err != nil {
		return err
	}
	files, size, err := cacheStats(*dir)
	if err != nil {
		return err
	}
	switch sub {
	case "stats":
		fmt.Fprintf(stdout, "%s: %d entries, %.1f MB\n", *dir, files, float64(size)/1e6)
		return nil
	case "clear":
		if !*yes {
			return fmt.Errorf("clearing %s would forget %d entries (%.1f MB) that reruns would pay for again; pass -yes to clear it", *dir, files, float64(size)/1e6)
		}
		if err := ragvsft.ClearCache(*dir); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: cleared %d entries\n", *dir, files)
		return nil
	}
	return usageError("unknown cache command %q (want stats or clear)", sub)
}

// cacheStats counts the files under dir and their bytes.
func cacheStats(dir string) (files int, size int64, err error) {
	if _, err := os.Stat(dir); err != nil {
		return 0, 0, fmt.Errorf("no cache at %s: %w", dir, err)
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path == filepath.Join(dir, "in-use") {
			return err // the lock a run holds is no entry
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files++
		size += info.Size()
		return nil
	})
	return files, size, err
}
