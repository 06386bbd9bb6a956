// Command cities reruns the experiment of "Fine-tuning Won't Add New
// Knowledge To Your Model" (2023): 100 fake cities' populations, a model
// fine-tuned on them, a RAG pipeline over the same sentences, and the same
// questions asked of four arms.
//
// With no flags it runs offline on ragvsft's embedded local model, prints a
// Markdown table and writes a run folder (see -out) with the dataset, the
// configuration and report.json. -data runs the same experiment on your own
// chat fine-tuning JSONL file.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ragvsft/ragvsft"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "cities:", err)
		}
		os.Exit(1)
	}
}

// config is what a run was asked to do; it is written to config.json.
type config struct {
	Data    string   `json:"data,omitempty"`
	N       int      `json:"n"`
	K       int      `json:"k"`
	Seed    int64    `json:"seed"`
	Epochs  int      `json:"epochs"`
	Sweep   []int    `json:"sweep,omitempty"`
	Backend string   `json:"backend"`
	Model   string   `json:"model,omitempty"`
	Eval    string   `json:"eval"`
	Out     string   `json:"out"`
	Started string   `json:"started"`
	Arms    []string `json:"arms"`
}

// run is the program; stdin is only read to confirm spending money.
func run(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cities", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		data        = fs.String("data", "", "your own OpenAI chat fine-tuning JSONL `file` instead of the generated cities")
		n           = fs.Int("n", ragvsft.CitiesCount, "number of cities to generate; with -data, use the first n examples (0 = all)")
		k           = fs.Int("k", ragvsft.DefaultK, "documents retrieved per question")
		seed        = fs.Int64("seed", ragvsft.CitiesSeed, "seed of the generated cities, the fine-tuning shuffle and chat sampling")
		epochs      = fs.Int("epochs", 0, "fine-tuning epochs (0 = auto, as OpenAI resolves it)")
		sweep       = fs.String("sweep", "1,3,10,30", "comma-separated epoch counts for the memorization sweep of the local model (empty = skip)")
		out         = fs.String("out", "", "run folder `dir` (default: a new folder under ./runs)")
		backendName = fs.String("backend", defaultBackend(), "local (embedded, offline) or openai (OPENAI_API_KEY, OPENAI_BASE_URL; default when a key is set)")
		model       = fs.String("model", "gpt-3.5-turbo", "base model to fine-tune and ask (openai backend)")
		embedModel  = fs.String("embedding-model", "", "embedding model of the index (openai backend; default text-embedding-3-small)")
		yes         = fs.Bool("yes", false, "spend money without asking (openai backend; required when standard input is not a terminal)")
		eval        = fs.String("eval", "auto", "scoring: numeric (the article's rule), exact, contains, or auto (numeric when every gold answer holds a number, else contains)")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./examples/cities [flags]\n\nReruns the fine-tuning vs RAG experiment; offline on the embedded local model.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	nSet := false
	fs.Visit(func(f *flag.Flag) { nSet = nSet || f.Name == "n" })
	if *data != "" && !nSet {
		*n = 0 // all of the user's examples unless -n says otherwise
	}
	if *n < 0 {
		return fmt.Errorf("-n must not be negative, got %d", *n)
	}
	if *k <= 0 {
		return fmt.Errorf("-k must be positive, got %d", *k)
	}
	if *epochs < 0 {
		return fmt.Errorf("-epochs must not be negative, got %d", *epochs)
	}
	sweepEpochs, err := parseSweep(*sweep)
	if err != nil {
		return err
	}

	raw, ds, err := loadDataset(*data, *n, *seed)
	if err != nil {
		return err
	}
	evaluator, evalName, err := pickEvaluator(*eval, ds)
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("runs", time.Now().UTC().Format("20060102-150405"))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating run folder: %w", err)
	}
	cfg := config{Data: *data, N: *n, K: *k, Seed: *seed, Epochs: *epochs, Sweep: sweepEpochs,
		Backend: *backendName, Model: *model, Eval: evalName, Out: dir, Started: time.Now().UTC().Format(time.RFC3339)}
	for _, a := range ragvsft.AllArms {
		cfg.Arms = append(cfg.Arms, string(a))
	}
	if err := os.WriteFile(filepath.Join(dir, "dataset.jsonl"), raw, 0o644); err != nil {
		return fmt.Errorf("writing the dataset to the run folder: %w", err)
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), cfg); err != nil {
		return err
	}

	be, err := newBackend(*backendName, *model, *embedModel, dir, stdout)
	if err != nil {
		return err
	}
	retriever, err := ragvsft.NewChromemRetriever(ragvsft.ChromemOptions{Dir: filepath.Join(dir, "index"), Embed: be.embed, Model: be.embedModel})
	if err != nil {
		return err
	}
	exp := &ragvsft.Experiment{
		Dataset:         ds,
		Base:            be.base,
		BaseModel:       be.baseModel,
		FineTuner:       be.fineTuner,
		Hyperparameters: ragvsft.Hyperparameters{Epochs: *epochs},
		Retriever:       retriever,
		Evaluator:       evaluator,
		K:               *k,
		Seed:            *seed,
	}
	what := "embedded local model (offline)"
	if be.name == "openai" {
		what = "OpenAI " + be.baseModel
	}
	fmt.Fprintf(stdout, "ragvsft: %d questions from %s, 4 arms, %s, k=%d, %s scoring\n\n",
		len(ds.Examples()), ds.Name(), what, *k, evalName)
	if be.estimate != nil {
		est, err := be.estimate(ctx, ragvsft.FineTuneRequest{BaseModel: be.baseModel, Training: ds,
			Hyperparameters: exp.Hyperparameters, Seed: *seed})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Cost estimate: %s; plus %d chat completions and the embeddings of %d documents and questions.\n",
			est, 4*len(ds.Examples()), 2*len(ds.Examples()))
		if err := confirm(*yes, stdin, stdout); err != nil {
			return err
		}
	}
	start := time.Now()
	rep, runErr := exp.Run(ctx)
	if rep != nil {
		// Whatever finished is written, even when the run was cut short.
		if err := writeReport(dir, rep); err != nil {
			return errors.Join(runErr, err)
		}
	}
	if runErr != nil {
		return fmt.Errorf("%w (finished results are in %s)", runErr, dir)
	}
	if err := rep.WriteMarkdown(stdout); err != nil {
		return err
	}
	if ft := rep.FineTune; ft != nil {
		fmt.Fprintf(stdout, "\nFine-tuned %s: %d epochs, batch size %d, learning-rate multiplier %g, %d trained tokens.\n",
			ft.ModelID, ft.Hyperparameters.Epochs, ft.Hyperparameters.BatchSize, ft.Hyperparameters.LearningRateMultiplier, ft.TrainedTokens)
	}
	fmt.Fprintf(stdout, "Run took %s.\n", time.Since(start).Round(time.Millisecond))

	if len(sweepEpochs) > 0 && be.name == "local" {
		if err := memorizationSweep(ctx, stdout, dir, ds, evaluator, sweepEpochs, *seed); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "\nRun folder: %s (dataset.jsonl, config.json, report.json, report.md, results.csv, accuracy.png, report.html)\n", dir)
	if be.name == "local" {
		fmt.Fprintln(stdout, "The embedded local model demonstrates the pipeline offline; conclusions about LLMs need a real LLM (-backend openai).")
	}
	return nil
}

// memorizationSweep fine-tunes the local model for each epoch count and asks
// the closed-book fine-tuned arm, to show memorization setting in.
func memorizationSweep(ctx context.Context, stdout io.Writer, dir string, ds ragvsft.Dataset, eval ragvsft.Evaluator, epochs []int, seed int64) error {
	type point struct {
		Epochs   int     `json:"epochs"`
		Correct  int     `json:"correct"`
		Answered int     `json:"answered"`
		Accuracy float64 `json:"accuracy"`
		CILow    float64 `json:"ci95_low"`
		CIHigh   float64 `json:"ci95_high"`
	}
	var points []point
	fmt.Fprintf(stdout, "\nMemorization with epochs (local model, fine-tuned arm, closed book):\n\n")
	fmt.Fprintf(stdout, "| epochs | correct | accuracy | 95%% CI |\n|---:|---:|---:|---|\n")
	for _, e := range epochs {
		exp := &ragvsft.Experiment{
			Dataset:         ds,
			BaseModel:       ragvsft.NewLocalModel().Name(),
			FineTuner:       ragvsft.LocalFineTuner{},
			Hyperparameters: ragvsft.Hyperparameters{Epochs: e},
			Arms:            []ragvsft.Arm{ragvsft.ArmFineTuned},
			Evaluator:       eval,
			Seed:            seed,
		}
		rep, err := exp.Run(ctx)
		if err != nil {
			return fmt.Errorf("sweep at %d epochs: %w", e, err)
		}
		s, _ := rep.Arm(ragvsft.ArmFineTuned)
		points = append(points, point{e, s.Correct, s.Answered, s.Accuracy, s.CILow, s.CIHigh})
		fmt.Fprintf(stdout, "| %d | %d/%d | %.1f%% | %.1f%% – %.1f%% |\n", e, s.Correct, s.Answered, 100*s.Accuracy, 100*s.CILow, 100*s.CIHigh)
	}
	return writeJSON(filepath.Join(dir, "epochs.json"), points)
}

// pickEvaluator resolves -eval.
func pickEvaluator(name string, ds ragvsft.Dataset) (ragvsft.Evaluator, string, error) {
	if name == "auto" {
		name = "numeric"
		qs, err := ragvsft.Questions(ds)
		if err != nil {
			return nil, "", err
		}
		for _, q := range qs {
			if _, _, ok := ragvsft.ExtractNumber(q.Gold); !ok {
				name = "contains"
				break
			}
		}
	}
	switch name {
	case "numeric":
		return ragvsft.NumericEvaluator{}, name, nil
	case "exact":
		return ragvsft.ExactEvaluator{}, name, nil
	case "contains":
		return ragvsft.ContainsEvaluator{}, name, nil
	}
	return nil, "", fmt.Errorf("-eval: unknown evaluator %q (want auto, numeric, exact or contains)", name)
}

// loadDataset returns the raw bytes written to the run folder and the parsed
// dataset: the generated cities, or the user's file.
func loadDataset(path string, n int, seed int64) ([]byte, *ragvsft.JSONLDataset, error) {
	if path == "" {
		raw := ragvsft.CitiesJSONL(n, seed)
		ds, err := ragvsft.ReadJSONL(bytes.NewReader(raw), "cities.jsonl")
		return raw, ds, err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading -data: %w", err)
	}
	ds, err := ragvsft.ReadJSONL(bytes.NewReader(raw), path)
	if err != nil {
		return nil, nil, err
	}
	if n > 0 && n < len(ds.Examples()) {
		ds, err = ragvsft.NewDataset(path, ds.Examples()[:n])
		if err != nil {
			return nil, nil, err
		}
		var b bytes.Buffer
		if err := ragvsft.WriteJSONL(&b, ds.Examples()); err != nil {
			return nil, nil, err
		}
		raw = b.Bytes()
	}
	return raw, ds, nil
}

func parseSweep(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		e, err := strconv.Atoi(f)
		if err != nil || e <= 0 {
			return nil, fmt.Errorf("-sweep: %q is not a positive epoch count", f)
		}
		out = append(out, e)
	}
	return out, nil
}

// writeReport writes report.json, report.md, results.csv, accuracy.png and
// report.html into the run folder.
func writeReport(dir string, rep *ragvsft.Report) error {
	if err := writeJSON(filepath.Join(dir, "report.json"), rep); err != nil {
		return err
	}
	for name, write := range map[string]func(io.Writer) error{
		"report.md":    rep.WriteMarkdown,
		"results.csv":  rep.WriteCSV,
		"accuracy.png": rep.WriteChartPNG,
		"report.html":  rep.WriteHTML,
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
