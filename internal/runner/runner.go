// Package runner is the experiment as a program: the flags, the run folder
// (locked, its files recorded in run.json, the checkpoint, the index, the
// reports), resume and the cost confirmation. examples/cities (the
// article's reproduction) and cmd/ragvsft (any knowledge base) are each
// this package with their own Options, so that neither copies the other.
package runner

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/internal/atomicfile"
	"github.com/ragvsft/ragvsft/internal/clock"
	"github.com/ragvsft/ragvsft/report"
)

// Options are what tells the programs apart; the zero value is
// examples/cities'.
type Options struct {
	// Program names the program in usage and messages ("cities").
	Program string
	// Usage is the usage text's first lines; "" means cities'.
	Usage string
	// NeedData refuses a run without -data: no generated cities.
	NeedData bool
	// Sweep is the -sweep default; nil means "1,3,10,30".
	Sweep *string
}

// Run is the program: args are its flags; stdin is only read to confirm
// spending money.
func Run(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer, opts Options) error {
	return run(ctx, args, stdin, stdout, stderr, opts)
}

// Config is what a run was asked to do, as config.json records it.
type Config = config

// The files of a run folder, for the programs' tests.
const (
	ConfigFile     = configFile
	DatasetFile    = datasetFile
	QuestionsFile  = questionsFile
	CheckpointFile = checkpointFile
)

// config is what a run was asked to do; it is written to config.json, and
// -resume reads it back.
type config struct {
	Data string `json:"data,omitempty"`
	// Questions is -questions, the questions file the run was started
	// with; the run folder keeps a copy (questions.jsonl).
	Questions      string   `json:"questions,omitempty"`
	N              int      `json:"n"`
	K              int      `json:"k"`
	Seed           int64    `json:"seed"`
	Epochs         int      `json:"epochs"`
	Sweep          []int    `json:"sweep,omitempty"`
	Backend        string   `json:"backend"`
	Model          string   `json:"model,omitempty"`
	EmbeddingModel string   `json:"embedding_model,omitempty"`
	Eval           string   `json:"eval"`
	Out            string   `json:"out"`
	Started        string   `json:"started"`
	Arms           []string `json:"arms"`
	// Retriever is -retriever; "" (runs before it existed) is chromem.
	// The -pg DSN is not recorded: it may hold a password.
	Retriever string `json:"retriever,omitempty"`

	// BaseURL, FineTunedModel and FineTunedBaseURL are -base-url,
	// -finetuned-model and -finetuned-base-url; keys are never recorded.
	BaseURL          string `json:"base_url,omitempty"`
	FineTunedModel   string `json:"finetuned_model,omitempty"`
	FineTunedBaseURL string `json:"finetuned_base_url,omitempty"`
	// TrainCommand and LoadLoRA are -train-command and -load-lora.
	TrainCommand string `json:"train_command,omitempty"`
	LoadLoRA     bool   `json:"load_lora,omitempty"`

	// JudgeModel and JudgeBaseURL are -judge-model (resolved: the base
	// model when not given) and -judge-base-url, with -eval judge.
	JudgeModel   string `json:"judge_model,omitempty"`
	JudgeBaseURL string `json:"judge_base_url,omitempty"`

	// HoldOutFacts and Repeats are -holdout-facts and -repeats (0 in a
	// configuration written before them: none held out, one run).
	HoldOutFacts float64 `json:"holdout_facts,omitempty"`
	Repeats      int     `json:"repeats,omitempty"`

	// Paraphrases and Paraphraser are -paraphrases and -paraphraser
	// (resolved: "rule" when paraphrases are asked for without it).
	Paraphrases int    `json:"paraphrases,omitempty"`
	Paraphraser string `json:"paraphraser,omitempty"`
	// Batch is -batch: the base model is asked through the Batch API.
	Batch bool `json:"batch,omitempty"`
}

// Files of a run folder.
const (
	configFile     = "config.json"
	datasetFile    = "dataset.jsonl"
	questionsFile  = "questions.jsonl"
	checkpointFile = "checkpoint.jsonl"
)

// run is the program; stdin is only read to confirm spending money.
func run(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer, opts Options) error {
	program := cmp.Or(opts.Program, "cities")
	// The day of the catalog's shutdown dates: a malformed RAGVSFT_TODAY is
	// refused here, before anything else is done.
	today, todayErr := clock.Today()
	if todayErr != nil {
		return todayErr
	}
	terminal := isTerminal(stderr)
	var outMu sync.Mutex
	stdout, stderr = lockedWriter{&outMu, stdout}, lockedWriter{&outMu, stderr}
	sweepDefault := "1,3,10,30"
	if opts.Sweep != nil {
		sweepDefault = *opts.Sweep
	}
	fs := flag.NewFlagSet(program, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		data        = fs.String("data", "", "your own OpenAI chat fine-tuning JSONL `file` instead of the generated cities")
		questions   = fs.String("questions", "", "ask the questions of this questions `file` (JSONL: id, question or messages, answer, optional doc_id and aliases) instead of the training prompts")
		n           = fs.Int("n", ragvsft.CitiesCount, "number of cities to generate; with -data, use the first n examples (0 = all)")
		k           = fs.Int("k", ragvsft.DefaultK, "documents retrieved per question")
		seed        = fs.Int64("seed", ragvsft.CitiesSeed, "seed of the generated cities, the fine-tuning shuffle and chat sampling")
		epochs      = fs.Int("epochs", 0, "fine-tuning epochs (0 = auto, as OpenAI resolves it)")
		sweep       = fs.String("sweep", sweepDefault, "comma-separated epoch counts for the memorization sweep of the local model (empty = skip)")
		out         = fs.String("out", "", "run folder `dir` (default: a new folder under ./runs)")
		backendName = fs.String("backend", defaultBackend(), "local (embedded, offline) or openai (OPENAI_API_KEY, OPENAI_BASE_URL, or AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY for Azure OpenAI; default when a key is set)")
		model       = fs.String("model", ragvsft.DefaultBaseModel, "base model to fine-tune and ask (openai backend; the article's gpt-3.5-turbo is shut down)")
		baseURL     = fs.String("base-url", "", "`URL` of the base model's OpenAI-compatible API, overriding OPENAI_BASE_URL (openai backend)")
		ftModel     = fs.String("finetuned-model", "", "ask this model, fine-tuned elsewhere, in the fine-tuned arms: nothing is uploaded or trained (openai backend)")
		ftBaseURL   = fs.String("finetuned-base-url", "", "`URL` of the OpenAI-compatible API serving -finetuned-model (vLLM, Ollama, llama.cpp...; key from "+ragvsft.FineTunedAPIKeyEnv+", else OPENAI_API_KEY); default: the base model's")
		trainCmd    = fs.String("train-command", "", "train the fine-tuned arms' model with this `command` of yours (split at spaces; see ragvsft.CommandFineTuner for what it receives and must print), served at -finetuned-base-url (openai backend)")
		loadLoRA    = fs.Bool("load-lora", false, "with -train-command: load the trained adapter into the vLLM at -finetuned-base-url (POST /v1/load_lora_adapter)")
		embedModel  = fs.String("embedding-model", "", "embedding model of the index (openai backend; default text-embedding-3-small; local: the embedded one, for a server that embeds nothing)")
		estimate    = fs.Bool("estimate", false, "print the cost estimate and stop before anything is spent")
		yes         = fs.Bool("yes", false, "spend money without asking (openai backend; required when standard input is not a terminal)")
		eval        = fs.String("eval", "auto", "scoring: auto (per question, by the gold answer's type: date, money, percentage, quantity, year, number or text), numeric (the article's rule), text (SQuAD-style F1), exact, contains, or judge (a model judges each answer; openai backend or -judge-base-url)")
		judgeModel  = fs.String("judge-model", "", "with -eval judge: the judge `model` (default: -model)")
		judgeURL    = fs.String("judge-base-url", "", "with -eval judge: `URL` of the OpenAI-compatible API serving the judge (key from OPENAI_API_KEY; default: the base model's)")
		resume      = fs.String("resume", "", "continue the interrupted run in `dir` with its settings, asking only what its checkpoint lacks")
		retryErrors = fs.Bool("retry-errors", false, "with -resume: ask again the items recorded as errors")
		poll        = fs.Duration("poll", 5*time.Second, "first wait between polls of the fine-tuning job and of the batches (openai backend)")
		batch       = fs.Bool("batch", false, "ask every arm and embed the documents through OpenAI's Batch API: half price, answers within 24 hours; the batches are recorded in the run folder ("+batchRecordFile+", "+fineTunedBatchRecordFile+" for the model this run fine-tunes, "+embeddingBatchRecordFile+") and -resume waits for them instead of paying again (openai backend)")
		cacheDir    = fs.String("cache", "", "`dir` caching every OpenAI chat and embedding answer, so a rerun pays nothing twice (default: cache beside the run folder, e.g. runs/cache)")
		noCache     = fs.Bool("no-cache", false, "ask the model every time, even what the cache has answered before")
		concurrency = fs.Int("concurrency", 0, "questions asked at once (0 = the library's default)")
		rpm         = fs.Int("rpm", 0, "requests per minute allowed to the chat model, its fine-tunes included (openai backend; 0 = no limit; a 429 always slows every worker down)")
		tpm         = fs.Int("tpm", 0, "tokens per minute allowed to the chat model (openai backend; 0 = no limit)")
		retrieverTo = fs.String("retriever", "chromem", "where the documents are indexed: chromem (in the run folder) or pgvector (a PostgreSQL table, see -pg)")
		pgDSN       = fs.String("pg", "", "with -retriever pgvector: the PostgreSQL `DSN`, e.g. postgres://user:password@host:5432/db (never recorded)")
		holdOut     = fs.Float64("holdout-facts", 0, "hold this `fraction` of the facts (training examples, drawn with -seed) out of fine-tuning, ask them all, and report every arm on trained and held-out facts")
		paraphrases = fs.Int("paraphrases", 0, "fine-tune on this many rewordings of each training question besides the question itself (Ovadia et al.'s paraphrase augmentation; the rewordings are listed in report.json)")
		paraphraser = fs.String("paraphraser", "", "with -paraphrases: who rewords, rule (offline English templates, the default) or model (the base model, -backend openai; cached)")
		repeats     = fs.Int("repeats", 1, "run the experiment this many times, with seeds -seed, -seed+1, ... (the fine-tuning shuffle, chat sampling and held-out facts change), and report each arm's mean and spread; the first run is the one checkpointed")
	)
	fs.Usage = func() {
		usage := cmp.Or(opts.Usage, "Usage: go run ./examples/cities [flags]\n       go run ./examples/cities -resume DIR [-retry-errors] [-yes]\n\n"+
			"Reruns the fine-tuning vs RAG experiment; offline on the embedded local model.\n\n")
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *retryErrors && *resume == "" {
		return errors.New("-retry-errors needs -resume DIR: only a resumed run has errors to retry")
	}
	if *noCache && *cacheDir != "" {
		return errors.New("-cache and -no-cache contradict each other")
	}
	if *concurrency < 0 {
		return fmt.Errorf("-concurrency must not be negative, got %d", *concurrency)
	}
	if *rpm < 0 || *tpm < 0 {
		return fmt.Errorf("-rpm and -tpm must not be negative, got %d and %d", *rpm, *tpm)
	}
	if *poll <= 0 {
		return fmt.Errorf("-poll must be positive, got %s", *poll)
	}

	if opts.NeedData && *resume == "" && *data == "" {
		return errors.New("-data FILE is required: your knowledge base, OpenAI chat fine-tuning JSONL")
	}
	var (
		cfg  config
		run  *ragvsft.Run
		prog *progress
	)
	// What the run folder does besides keeping the results: the reports
	// it writes and the progress of each new result. prog and be are set
	// before anything is asked.
	var be *backend
	runOpts := ragvsft.RunOptions{
		RetryErrors: *retryErrors,
		OnResult:    func(r ragvsft.Result) { prog.add(r) },
		Render:      report.WriteFiles,
		Finish: func(rep *ragvsft.Report) {
			if cfg.Data == "" {
				rep.Settings.ArticleModel = ragvsft.ArticleModel
			}
			rep.Embedding = be.embeddingSummary()
			for _, m := range rep.ApplyPrices(be.catalog) {
				fmt.Fprintf(stderr, "%s: no price for model %s: its answers are reported as unpriced\n", program, m)
			}
		},
	}
	if *resume != "" {
		// The folder is locked before any file in it is read, and its
		// files are checked against run.json before the configuration is
		// believed.
		var err error
		if run, err = ragvsft.OpenRun(*resume, runOpts); err != nil {
			if errors.Is(err, ragvsft.ErrNotRunFolder) {
				return fmt.Errorf("-resume: %w (is %s a run folder?)", err, *resume)
			}
			return fmt.Errorf("-resume: %w", err)
		}
		defer run.Close()
		if run.RecordedNow() {
			fmt.Fprintf(stderr, "%s: %s has no run.json (a run folder from before it was written): recorded its files as they are now\n", program, *resume)
		}
		c, err := resumeConfig(run, fs, set)
		if err != nil {
			return err
		}
		cfg = *c
	} else {
		if *data != "" && !set["n"] {
			*n = 0 // all of the user's examples unless -n says otherwise
		}
		cfg = config{Data: *data, Questions: *questions, N: *n, K: *k, Seed: *seed, Epochs: *epochs, Backend: *backendName, Model: *model,
			EmbeddingModel: *embedModel, BaseURL: *baseURL, FineTunedModel: *ftModel, FineTunedBaseURL: *ftBaseURL,
			JudgeModel: *judgeModel, JudgeBaseURL: *judgeURL,
			TrainCommand: *trainCmd, LoadLoRA: *loadLoRA, Retriever: *retrieverTo,
			Eval: *eval, Out: *out, Started: time.Now().UTC().Format(time.RFC3339),
			HoldOutFacts: *holdOut, Repeats: *repeats, Paraphrases: *paraphrases, Paraphraser: *paraphraser, Batch: *batch}
		if cfg.Paraphrases > 0 {
			cfg.Paraphraser = cmp.Or(cfg.Paraphraser, "rule")
		}
		if cfg.Batch && cfg.Backend != "openai" {
			return errors.New("-batch needs -backend openai: the Batch API is OpenAI's")
		}
		if cfg.Eval == "judge" {
			cfg.JudgeModel = cmp.Or(cfg.JudgeModel, cfg.Model)
		}
		var err error
		if cfg.Sweep, err = parseSweep(*sweep); err != nil {
			return err
		}
		for _, a := range ragvsft.AllArms {
			cfg.Arms = append(cfg.Arms, string(a))
		}
	}
	if cfg.N < 0 {
		return fmt.Errorf("-n must not be negative, got %d", cfg.N)
	}
	if cfg.K <= 0 {
		return fmt.Errorf("-k must be positive, got %d", cfg.K)
	}
	if cfg.Epochs < 0 {
		return fmt.Errorf("-epochs must not be negative, got %d", cfg.Epochs)
	}
	if !(cfg.HoldOutFacts >= 0 && cfg.HoldOutFacts < 1) {
		return fmt.Errorf("-holdout-facts must be a fraction in [0, 1), got %v", cfg.HoldOutFacts)
	}
	if err := checkParaphraseFlags(cfg); err != nil {
		return err
	}
	if cfg.Repeats = max(cfg.Repeats, 1); *repeats < 1 {
		return fmt.Errorf("-repeats must be at least 1, got %d", *repeats)
	}
	if cfg.Backend != "openai" && (cfg.FineTunedModel != "" || cfg.FineTunedBaseURL != "" || cfg.BaseURL != "") {
		return errors.New("-finetuned-model, -finetuned-base-url and -base-url need -backend openai: " +
			"the local backend's fine-tuned arms are the embedded model, trained here")
	}
	if err := checkJudgeFlags(cfg); err != nil {
		return err
	}
	if err := checkRetrieverFlags(cfg.Retriever, *pgDSN); err != nil {
		return err
	}
	if cfg.Backend != "openai" && cfg.TrainCommand != "" {
		return errors.New("-train-command needs -backend openai: the trained model is asked on an OpenAI-compatible endpoint (-finetuned-base-url)")
	}
	if cfg.TrainCommand != "" && cfg.FineTunedModel != "" {
		return errors.New("-train-command and -finetuned-model contradict each other: train a model, or measure one trained elsewhere")
	}
	if cfg.LoadLoRA && cfg.TrainCommand == "" {
		return errors.New("-load-lora needs -train-command: it loads what the command trained")
	}
	if cfg.FineTunedBaseURL != "" && cfg.FineTunedModel == "" && cfg.TrainCommand == "" {
		return errors.New("-finetuned-base-url needs -finetuned-model: the name the server there knows the model by")
	}
	if cfg.Backend == "openai" {
		// A shut-down model (the article's gpt-3.5-turbo) costs nothing,
		// not even a run folder.
		if err := ragvsft.DefaultCatalog().Check(cfg.Model, today, false); err != nil {
			return fmt.Errorf("-model: %w", err)
		}
	}

	var (
		raw, rawQuestions []byte
		ds                *ragvsft.JSONLDataset
		err               error
	)
	if run != nil {
		ds, err = run.Dataset(cmp.Or(cfg.Data, "cities.jsonl"))
	} else {
		raw, ds, err = loadDataset(cfg.Data, cfg.N, cfg.Seed)
	}
	if err != nil {
		return err
	}
	// asking is what the experiment asks: ds, or ds with the questions
	// file's questions.
	var asking ragvsft.Dataset = ds
	switch {
	case run != nil && cfg.Questions != "":
		if asking, err = run.Questions(ds, cfg.Questions); err != nil {
			return err
		}
	case cfg.Questions != "":
		if rawQuestions, asking, err = loadQuestions(cfg.Questions, ds); err != nil {
			return err
		}
	}
	evaluator, err := pickEvaluator(cfg.Eval)
	if err != nil {
		return err
	}
	if run == nil {
		if cfg.Out == "" {
			cfg.Out = filepath.Join("runs", time.Now().UTC().Format("20060102-150405"))
		}
		// Two runs started with the same -out: the second stops here.
		if run, err = ragvsft.CreateRun(cfg.Out, ragvsft.RunFiles{Config: cfg, Dataset: raw, Questions: rawQuestions}, runOpts); err != nil {
			if errors.Is(err, ragvsft.ErrRunExists) {
				return fmt.Errorf("%w: continue it with -resume %s, or choose another -out", err, cfg.Out)
			}
			return err
		}
		defer run.Close()
	}
	dir := run.Dir()

	var cache *ragvsft.Cache
	if (cfg.Backend == "openai" || cfg.JudgeModel != "") && !*noCache {
		if cache, err = ragvsft.OpenCache(cmp.Or(*cacheDir, filepath.Join(filepath.Dir(dir), "cache"))); err != nil {
			return err
		}
		defer cache.Close()
	}
	be, err = newBackend(backendOptions{name: cfg.Backend, model: cfg.Model, embedModel: cfg.EmbeddingModel,
		baseURL: cfg.BaseURL, ftModel: cfg.FineTunedModel, ftBaseURL: cfg.FineTunedBaseURL, runDir: dir,
		judgeModel: cfg.JudgeModel, judgeBaseURL: cfg.JudgeBaseURL,
		trainCommand: strings.Fields(cfg.TrainCommand), loadLoRA: cfg.LoadLoRA, batch: cfg.Batch,
		poll: *poll, cache: cache, limits: ragvsft.Limits{RequestsPerMinute: *rpm, TokensPerMinute: *tpm}, progress: stdout, phases: stderr})
	if err != nil {
		return err
	}
	if j, ok := evaluator.(ragvsft.JudgeEvaluator); ok {
		j.Model = be.judge
		evaluator = j
	}
	retriever, where, err := openRetriever(ctx, cfg.Retriever, *pgDSN, filepath.Join(dir, "index"), be, stderr)
	if err != nil {
		return err
	}
	defer retriever.Close()
	exp := &ragvsft.Experiment{
		Dataset:         asking,
		Base:            be.base,
		BaseModel:       be.baseModel,
		FineTuner:       be.fineTuner,
		FineTuned:       be.fineTuned,
		Hyperparameters: ragvsft.Hyperparameters{Epochs: cfg.Epochs},
		Retriever:       retriever,
		Evaluator:       evaluator,
		K:               cfg.K,
		Seed:            cfg.Seed,
		Concurrency:     *concurrency,
		HoldOutFacts:    cfg.HoldOutFacts,
		Paraphrases:     cfg.Paraphrases,
	}
	if cfg.Paraphraser == "model" {
		exp.Paraphraser = ragvsft.ModelParaphraser{Model: be.base} // cached like the arms' calls
	}
	what := "embedded local model (offline)"
	if be.name == "openai" {
		what = "OpenAI " + be.baseModel
		if ft := be.fineTuned; ft != nil {
			what += fmt.Sprintf(", fine-tuned arms %s on %s (fine-tuned elsewhere)", ft.ModelID, ft.Endpoint)
		}
	}
	plan, err := run.Plan(exp)
	if errors.Is(err, ragvsft.ErrUnreadableGold) {
		// Nothing was asked, so there is nothing to resume.
		return fmt.Errorf("%w\n-eval %s cannot score this knowledge base; -eval auto reads every answer type", err, cfg.Eval)
	}
	if err != nil {
		return err
	}
	total, kept := plan.Items, plan.Kept
	if *resume != "" {
		fmt.Fprintf(stdout, "ragvsft: resuming %s: %d of %d items are in its checkpoint, %d to ask\n",
			dir, kept, total, total-kept)
	}
	from := ds.Name()
	if cfg.Questions != "" {
		from = fmt.Sprintf("%s (trained on %s)", cfg.Questions, ds.Name())
	}
	scoring := cfg.Eval
	if cfg.JudgeModel != "" {
		scoring += " (" + cfg.JudgeModel + ")"
	}
	fmt.Fprintf(stdout, "ragvsft: %d questions from %s, %d arms, %s, k=%d, %s scoring\n",
		plan.Questions, from, len(ragvsft.AllArms), what, cfg.K, scoring)
	fmt.Fprintf(stdout, "Plan: %s\n\n", describePlan(plan))
	judgeCalls := ""
	if cfg.JudgeModel != "" {
		judgeCalls = fmt.Sprintf(" and %d calls to the judge %s", total-kept, cfg.JudgeModel)
	}
	if be.name != "openai" && cfg.JudgeModel != "" && total > kept {
		fmt.Fprintf(stdout, "Cost estimate: the local model bills nothing; %d calls to the judge %s at %s.\n", total-kept, cfg.JudgeModel, cfg.JudgeBaseURL)
		if err := confirm(*yes, stdin, stdout); err != nil {
			return err
		}
	}
	if be.name == "openai" && total > kept {
		est := "no fine-tuning (the fine-tuned arms' model was fine-tuned elsewhere)"
		if be.estimate != nil {
			if est, err = be.estimate(ctx, ragvsft.FineTuneRequest{BaseModel: be.baseModel, Training: ds,
				Hyperparameters: exp.Hyperparameters, Seed: cfg.Seed}); err != nil {
				return err
			}
		}
		if cfg.Paraphrases > 0 && be.estimate != nil {
			est += fmt.Sprintf(" (for the examples alone: with %d rewordings each, about %d times the trained tokens)", cfg.Paraphrases, cfg.Paraphrases+1)
		}
		if cfg.Paraphraser == "model" {
			judgeCalls += fmt.Sprintf(", %d calls to paraphrase", len(ds.Examples()))
		}
		fmt.Fprintf(stdout, "Cost estimate: %s; plus %d chat completions%s and the embeddings of %d documents and questions.\n",
			est, total-kept, judgeCalls, plan.Documents+plan.Retrievals)
		if cfg.Repeats > 1 {
			fmt.Fprintf(stdout, "That is one run: -repeats %d costs about %d times as much, a fine-tuning job each.\n", cfg.Repeats, cfg.Repeats)
		}
		if *resume != "" && be.estimate != nil {
			fmt.Fprintln(stdout, "A fine-tuning job this run folder already started is reused, not paid again.")
		}
		if *estimate {
			return nil // what it would cost, and nothing spent
		}
		if err := confirm(*yes, stdin, stdout); err != nil {
			return err
		}
	}

	// Every result is on disk before the next is counted: a run killed at
	// any moment resumes where it stopped.
	var cached func() int64
	if cache != nil {
		cached = cache.Hits
	}
	prog = newProgress(stderr, terminal, total-kept, kept, be.billed, be.catalog, cached)
	start := time.Now()
	var (
		rep    *ragvsft.Report
		reps   *ragvsft.RepeatReport
		runErr error
	)
	if cfg.Repeats > 1 {
		if reps, runErr = run.Repeat(ctx, exp, cfg.Repeats); reps != nil && len(reps.Reports) > 0 {
			rep = reps.Reports[0]
		}
	} else {
		rep, runErr = run.Execute(ctx, exp)
	}
	prog.finish()
	inError := errors.Is(runErr, ragvsft.ErrItemsInError)
	if inError {
		runErr = nil // the report is complete but for them: said at the end
	}
	if runErr != nil {
		return fmt.Errorf("%w (finished results are in %s; continue with -resume %s)", runErr, dir, dir)
	}
	if err := rep.WriteMarkdown(stdout); err != nil {
		return err
	}
	if reps != nil {
		fmt.Fprintln(stdout)
		if err := reps.WriteMarkdown(stdout); err != nil {
			return err
		}
	}
	if ft := rep.FineTune; ft != nil && ft.Endpoint == "" {
		fmt.Fprintf(stdout, "\nFine-tuned %s: %d epochs, batch size %d, learning-rate multiplier %g, %d trained tokens.\n",
			ft.ModelID, ft.Hyperparameters.Epochs, ft.Hyperparameters.BatchSize, ft.Hyperparameters.LearningRateMultiplier, ft.TrainedTokens)
	}
	st := retriever.Stats()
	fmt.Fprintf(stdout, "Index: %d documents embedded, %d reused from %s.\n", st.Embedded, st.Reused, where)
	if cache != nil {
		fmt.Fprintf(stdout, "Cache %s: %d calls answered from it, %d made.\n", cache.Dir(), cache.Hits(), cache.Misses())
		if err := cache.Err(); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", program, err)
		}
	}
	fmt.Fprintf(stdout, "Run took %s.\n", time.Since(start).Round(time.Millisecond))
	if inError {
		// The report is written, but the run is not complete: say so in
		// the exit status, so a script or a CI job does not take it for
		// done.
		return fmt.Errorf("%d of %d items are in error (see %s); ask them again with -resume %s -retry-errors", itemsInError(rep), len(rep.Results), dir, dir)
	}

	if len(cfg.Sweep) > 0 && be.name == "local" {
		sweepEval := evaluator
		if cfg.JudgeModel != "" {
			// Every epoch would ask the judge again: the sweep is scored
			// by the judge's rule-based reference instead.
			fmt.Fprintln(stdout, "\nThe sweep is scored by -eval auto, not by the judge.")
			sweepEval = ragvsft.AutoEvaluator{}
		}
		epochs, err := memorizationSweep(ctx, stdout, dir, asking, sweepEval, cfg.Sweep, cfg.Seed, cfg.Paraphrases)
		if err != nil {
			return err
		}
		// The reports show the sweep too (report.html's epoch section).
		rep.Epochs = epochs
		if err := run.WriteReport(rep); err != nil {
			return err
		}
	}
	files := "dataset.jsonl, "
	if cfg.Questions != "" {
		files += questionsFile + ", "
	}
	if reps != nil {
		files += "repeats.json, repeats.md, "
	}
	fmt.Fprintf(stdout, "\nRun folder: %s (%sconfig.json, run.json, checkpoint.jsonl, report.json, report.md, results.csv, accuracy.png, report.html)\n", dir, files)
	if be.name == "local" {
		fmt.Fprintln(stdout, "The embedded local model demonstrates the pipeline offline; conclusions about LLMs need a real LLM (-backend openai).")
	}
	return nil
}

// openIndex opens the persistent index in dir. The index only holds what can
// be computed again, so one left damaged by a crash (a document file cut
// short while it was written) is deleted and rebuilt; with the cache, its
// embeddings cost nothing.
func openIndex(dir string, be *backend, stderr io.Writer) (*ragvsft.ChromemRetriever, error) {
	opts := ragvsft.ChromemOptions{Dir: dir, Embed: be.embed, EmbedBatch: be.embedBatch, Model: be.embedModel,
		Progress: newPhase(stderr, "indexing", "documents").step}
	if be.embedAtOnce {
		opts.Concurrency = math.MaxInt32 // every request in one batch: one goroutine per request
	}
	r, err := ragvsft.NewChromemRetriever(opts)
	if err == nil {
		return r, nil
	}
	fmt.Fprintf(stderr, "cities: the index in %s is damaged, rebuilding it: %v\n", dir, err)
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("removing the damaged index: %w", err)
	}
	return ragvsft.NewChromemRetriever(opts)
}

// resumeConfig reads the configuration of the run in dir. A flag given
// explicitly that would change the experiment is an error; flags that do
// not (-yes, -retry-errors, -poll...) are free.
func resumeConfig(run *ragvsft.Run, fs *flag.FlagSet, set map[string]bool) (*config, error) {
	dir := run.Dir()
	var cfg config
	if err := run.ReadConfig(&cfg); err != nil {
		return nil, fmt.Errorf("-resume: %w", err)
	}
	was := map[string]string{
		"data": cfg.Data, "questions": cfg.Questions, "n": strconv.Itoa(cfg.N), "k": strconv.Itoa(cfg.K),
		"seed": strconv.FormatInt(cfg.Seed, 10), "epochs": strconv.Itoa(cfg.Epochs), "sweep": joinInts(cfg.Sweep),
		"backend": cfg.Backend, "model": cfg.Model, "embedding-model": cfg.EmbeddingModel, "eval": cfg.Eval,
		"base-url": cfg.BaseURL, "finetuned-model": cfg.FineTunedModel, "finetuned-base-url": cfg.FineTunedBaseURL,
		"judge-model": cfg.JudgeModel, "judge-base-url": cfg.JudgeBaseURL,
		"train-command": cfg.TrainCommand, "load-lora": strconv.FormatBool(cfg.LoadLoRA),
		"retriever":     cmp.Or(cfg.Retriever, "chromem"),
		"holdout-facts": strconv.FormatFloat(cfg.HoldOutFacts, 'g', -1, 64), "repeats": strconv.Itoa(max(cfg.Repeats, 1)),
		"paraphrases": strconv.Itoa(cfg.Paraphrases), "paraphraser": cfg.Paraphraser,
		"batch": strconv.FormatBool(cfg.Batch),
	}
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(set)) {
		v := fs.Lookup(name).Value.String()
		old, experimental := was[name]
		switch {
		case name == "out":
			problems = append(problems, "-out: a resumed run writes into the -resume folder")
		case !experimental:
		case name == "sweep":
			if s, err := parseSweep(v); err != nil || joinInts(s) != old {
				problems = append(problems, fmt.Sprintf("-sweep %q (the run has %q)", v, old))
			}
		case v != old:
			problems = append(problems, fmt.Sprintf("-%s %q (the run has %q)", name, v, old))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("-resume %s keeps the run's settings, but these flags would change them: %s; start a new run instead",
			dir, strings.Join(problems, ", "))
	}
	return &cfg, nil
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// memorizationSweep fine-tunes the local model for each epoch count and asks
// the closed-book fine-tuned arm, to show memorization setting in: the
// answers right, wrong (how often what it does not know it makes up rather
// than abstains) and abstained, and the digits of the gold numbers the
// answers have at the same place (partial recall before full memorization).
// It writes epochs.json and returns the fine-tuned arm's summary at each
// count, for the reports.
func memorizationSweep(ctx context.Context, stdout io.Writer, dir string, ds ragvsft.Dataset, eval ragvsft.Evaluator, epochs []int, seed int64, paraphrases int) ([]ragvsft.EpochSummary, error) {
	type point struct {
		Epochs    int     `json:"epochs"`
		Correct   int     `json:"correct"`
		Wrong     int     `json:"wrong"`
		Abstained int     `json:"abstained"`
		Answered  int     `json:"answered"`
		Accuracy  float64 `json:"accuracy"`
		CILow     float64 `json:"ci95_low"`
		CIHigh    float64 `json:"ci95_high"`
		// HallucinationRate is null when every answer was an abstention.
		HallucinationRate *float64 `json:"hallucination_rate"`
		// Digits is the share of the gold numbers' digits right (NaN-free:
		// 0 when no gold answer has a number).
		Digits float64 `json:"digit_accuracy"`
	}
	var points []point
	var summaries []ragvsft.EpochSummary
	fmt.Fprintf(stdout, "\nMemorization with epochs (local model, fine-tuned arm, closed book):\n\n")
	fmt.Fprintf(stdout, "| epochs | correct | wrong | abstained | accuracy | 95%% CI | hallucination rate | digits right |\n|---:|---:|---:|---:|---:|---|---:|---:|\n")
	for _, e := range epochs {
		exp := &ragvsft.Experiment{
			Dataset:         ds,
			BaseModel:       ragvsft.NewLocalModel().Name(),
			FineTuner:       ragvsft.LocalFineTuner{},
			Hyperparameters: ragvsft.Hyperparameters{Epochs: e},
			Arms:            []ragvsft.Arm{ragvsft.ArmFineTuned},
			Evaluator:       eval,
			Seed:            seed,
			Paraphrases:     paraphrases, // the run's training set, rule rewordings included
		}
		rep, err := exp.Run(ctx)
		if err != nil {
			return nil, fmt.Errorf("sweep at %d epochs: %w", e, err)
		}
		s, _ := rep.Arm(ragvsft.ArmFineTuned)
		summaries = append(summaries, ragvsft.EpochSummary{Epochs: e, Summary: s})
		p := point{e, s.Correct, s.Wrong, s.Abstained, s.Answered, s.Accuracy, s.CILow, s.CIHigh, nil, digitAccuracy(rep.Results)}
		hallucination := "n/a"
		if s.HasHallucinationRate() {
			p.HallucinationRate = &s.HallucinationRate
			hallucination = fmt.Sprintf("%.1f%%", 100*s.HallucinationRate)
		}
		points = append(points, p)
		fmt.Fprintf(stdout, "| %d | %d | %d | %d | %.1f%% | %.1f%% – %.1f%% | %s | %.1f%% |\n",
			e, s.Correct, s.Wrong, s.Abstained, 100*s.Accuracy, 100*s.CILow, 100*s.CIHigh, hallucination, 100*p.Digits)
	}
	return summaries, writeJSON(filepath.Join(dir, "epochs.json"), points)
}

var firstNumber = regexp.MustCompile(`(?:^|\s)(\d[\d.,]*\d|\d)`)

// digitAccuracy is the share of the digits of the gold answers' first
// numbers that the answers' first numbers have at the same place.
func digitAccuracy(results []ragvsft.Result) float64 {
	right, all := 0, 0
	for _, r := range results {
		g := firstNumber.FindStringSubmatch(r.Gold)
		if g == nil {
			continue
		}
		a := firstNumber.FindStringSubmatch(r.Answer)
		for i := range len(g[1]) {
			if a != nil && i < len(a[1]) && a[1][i] == g[1][i] {
				right++
			}
		}
		all += len(g[1])
	}
	if all == 0 {
		return 0
	}
	return float64(right) / float64(all)
}

// pickEvaluator resolves -eval. "auto" is the library's AutoEvaluator,
// which picks per question from the gold answer's type.
func pickEvaluator(name string) (ragvsft.Evaluator, error) {
	switch name {
	case "auto":
		return ragvsft.AutoEvaluator{}, nil
	case "numeric":
		return ragvsft.NumericEvaluator{}, nil
	case "text":
		return ragvsft.TextEvaluator{}, nil
	case "exact":
		return ragvsft.ExactEvaluator{}, nil
	case "contains":
		return ragvsft.ContainsEvaluator{}, nil
	case "judge":
		// The judge's Model is the backend's, set once it is built.
		return ragvsft.JudgeEvaluator{}, nil
	}
	return nil, fmt.Errorf("-eval: unknown evaluator %q (want auto, numeric, text, exact, contains or judge)", name)
}

// checkJudgeFlags refuses -judge-model and -judge-base-url without -eval
// judge, and a judge nobody can serve: the embedded local model does not
// judge.
func checkJudgeFlags(cfg config) error {
	switch {
	case cfg.Eval != "judge" && (cfg.JudgeModel != "" || cfg.JudgeBaseURL != ""):
		return errors.New("-judge-model and -judge-base-url need -eval judge")
	case cfg.Eval == "judge" && cfg.Backend != "openai" && cfg.JudgeBaseURL == "":
		return errors.New("-eval judge needs -backend openai, or -judge-base-url for a judge served elsewhere: " +
			"the embedded local model cannot judge")
	}
	return nil
}

// loadQuestions reads the questions file at path and attaches it to ds; it
// returns the raw bytes the run folder keeps.
func loadQuestions(path string, ds *ragvsft.JSONLDataset) ([]byte, ragvsft.Dataset, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading -questions: %w", err)
	}
	qs, err := ragvsft.ReadQuestions(bytes.NewReader(raw), path)
	if err != nil {
		return nil, nil, err
	}
	data, err := ragvsft.WithQuestions(ds, qs)
	if err != nil {
		return nil, nil, err
	}
	return raw, data, nil
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

// describePlan says in one line what the run will do.
func describePlan(p *ragvsft.Plan) string {
	arms := make([]string, len(p.ToAsk))
	for i, a := range p.ToAsk {
		arms[i] = fmt.Sprintf("%s %d", a.Arm, a.Items)
	}
	s := fmt.Sprintf("%d items to ask (%s)", p.Asks(), strings.Join(arms, ", "))
	if p.Kept > 0 {
		s += fmt.Sprintf(", %d kept from the checkpoint", p.Kept)
	}
	if p.Retrievals > 0 {
		s += fmt.Sprintf("; %d questions to retrieve from %d documents", p.Retrievals, p.Documents)
	} else {
		s += "; nothing to retrieve"
	}
	if p.FineTune != nil {
		s += fmt.Sprintf("; fine-tuning %s on %d examples", cmp.Or(p.FineTune.BaseModel, "the base model"), len(p.FineTune.Training.Examples()))
	}
	return s
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", filepath.Base(path), err)
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// writeFileAtomic writes a file whole or not at all, so a run killed while
// writing leaves the old file (or none), never half of one.
func writeFileAtomic(path string, data []byte) error {
	return atomicfile.WriteFile(path, data, 0o600)
}

// itemsInError counts the report's results that got no answer.
func itemsInError(rep *ragvsft.Report) int {
	n := 0
	for _, a := range rep.Arms {
		n += a.Errors
	}
	return n
}

// checkParaphraseFlags refuses -paraphraser without -paraphrases, an
// unknown paraphraser, and a model paraphraser nobody can serve: the
// embedded local model does not paraphrase.
func checkParaphraseFlags(cfg config) error {
	switch {
	case cfg.Paraphrases < 0:
		return fmt.Errorf("-paraphrases must not be negative, got %d", cfg.Paraphrases)
	case cfg.Paraphrases == 0 && cfg.Paraphraser != "":
		return errors.New("-paraphraser needs -paraphrases N: the number of rewordings of each question")
	case cfg.Paraphrases == 0:
		return nil
	case cfg.Paraphraser != "rule" && cfg.Paraphraser != "model":
		return fmt.Errorf("-paraphraser: unknown paraphraser %q (want rule or model)", cfg.Paraphraser)
	case cfg.Paraphraser == "model" && cfg.Backend != "openai":
		return errors.New("-paraphraser model needs -backend openai: the embedded local model does not paraphrase (-paraphraser rule does, offline)")
	case cfg.FineTunedModel != "":
		return errors.New("-paraphrases needs a model fine-tuned by this run: -finetuned-model was fine-tuned elsewhere, on what it was trained on")
	}
	return nil
}
