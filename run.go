package ragvsft

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ragvsft/ragvsft/internal/atomicfile"
)

// The files of a run folder. Besides these, a program keeps its own in the
// folder (an index, fine-tuning and batch records) under Run.Path.
const (
	runConfigFile     = "config.json"
	runDatasetFile    = "dataset.jsonl"
	runQuestionsFile  = "questions.jsonl"
	runCheckpointFile = "checkpoint.jsonl"
	runReportFile     = "report.json"
	runMarkdownFile   = "report.md"
	runRepeatsFile    = "repeats.json"
	runRepeatsMDFile  = "repeats.md"
	runFineTunedFile  = "fine-tuned.json"
)

// ErrRunExists is returned by CreateRun for a folder that already holds a
// run: resume it with OpenRun, or choose another folder.
var ErrRunExists = errors.New("ragvsft: run folder already holds a run")

// ErrNotRunFolder is returned by OpenRun for a folder without a run's
// configuration.
var ErrNotRunFolder = errors.New("ragvsft: not a run folder")

// ErrItemsInError is returned by Run.Execute when the run finished but
// some items got no answer (a model call or a retrieval that failed): the
// reports are written, and a run opened with RunOptions.RetryErrors asks
// those items again. A program should exit non-zero, so that a script does
// not take the run for complete.
var ErrItemsInError = errors.New("ragvsft: items in error")

// Run is an experiment's run folder: what survives the process, so that a
// run killed at any moment (Ctrl-C, SIGTERM, kill -9, a crash) is resumed
// by OpenRun where it stopped, without paying twice for an answer.
//
// The folder (0700, its files 0600) holds a copy of the knowledge base
// (dataset.jsonl, and questions.jsonl when a questions file was given), the
// caller's configuration (config.json), run.json (the sha256 of those files;
// a JSON file is hashed in a canonical form, so reformatting it is no edit,
// and an edit names its keys), the checkpoint (checkpoint.jsonl, one line
// per scored item, see Checkpoint) and the reports (report.json, report.md,
// and whatever RunOptions.Render writes), and fine-tuned.json (what the
// run fine-tuned, so that a finished run resumed trains nothing and still
// reports the model). It is locked for the Run's life
// (an exclusive flock(2) on DIR/lock, which the system releases when the
// process ends, even by kill -9; not taken on non-Unix systems): a second
// process on the folder is refused at once (ErrRunFolderLocked) instead of
// corrupting the checkpoint. OpenRun refuses a folder whose configuration
// or data was edited since the run started (ErrRunFolderChanged): the
// results already checkpointed were computed without the edit.
//
// A Run is the ResultStore of the experiments it executes: Previous is the
// checkpoint's results, Append writes each new one there before
// RunOptions.OnResult is told of it. Close it when done.
type Run struct {
	dir         string
	opts        RunOptions
	unlock      func() error
	ckpt        *Checkpoint
	recordedNow bool
}

var _ ResultStore = (*Run)(nil)

// RunOptions are the settings of CreateRun and OpenRun; the zero value
// writes report.json and report.md only and keeps error items as errors.
type RunOptions struct {
	// RetryErrors, when resuming, asks again the items the checkpoint
	// records as errors.
	RetryErrors bool
	// OnResult, if set, is told of each new result once it is in the
	// checkpoint, one call at a time: a progress line, say.
	OnResult func(Result)
	// Finish, if set, completes a report before it is written: prices
	// (Report.ApplyPrices), what the index's embeddings cost.
	Finish func(*Report)
	// Render, if set, writes the reports other than report.json and
	// report.md into the folder dir, after those two: the report package's
	// WriteFiles writes the HTML viewer, the CSV and the chart. It is a
	// hook, not an import, so that a program that renders nothing does not
	// build in gonum/plot and its fonts (see the package doc).
	Render func(dir string, rep *Report) error
	// SyncInterval is the checkpoint's (see CheckpointOptions).
	SyncInterval time.Duration
}

// RunFiles are what a new run folder is made of.
type RunFiles struct {
	// Config is the caller's configuration of the run, recorded as
	// config.json: a value encoding/json encodes as an object (a struct
	// of its flags, say). OpenRun's caller reads it back with ReadConfig.
	// It must not hold secrets (API keys, passwords in a DSN).
	Config any
	// Dataset is the knowledge base as the run reads it (OpenAI chat
	// fine-tuning JSONL), copied into dataset.jsonl. Required.
	Dataset []byte
	// Questions, if set, is the questions file (JSONL, see
	// ReadQuestions), copied into questions.jsonl.
	Questions []byte
}

// CreateRun makes the run folder dir (0700; an existing empty folder is
// used and its mode tightened), locks it, and writes the run's files and
// run.json before anything is asked. A folder that already holds a run
// (a checkpoint) is refused with ErrRunExists; one another process holds
// with ErrRunFolderLocked.
func CreateRun(dir string, files RunFiles, opts RunOptions) (*Run, error) {
	if len(files.Dataset) == 0 {
		return nil, fmt.Errorf("ragvsft: creating run folder %s: no dataset", dir)
	}
	config, err := json.MarshalIndent(files.Config, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("ragvsft: creating run folder %s: encoding its configuration: %w", dir, err)
	}
	if len(config) == 0 || config[0] != '{' {
		return nil, fmt.Errorf("ragvsft: creating run folder %s: its configuration must encode as a JSON object, got %.20s", dir, config)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ragvsft: creating run folder: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ragvsft: creating run folder: %w", err)
	}
	r := &Run{dir: dir, opts: opts}
	if r.unlock, err = lockRunFolder(dir); err != nil {
		return nil, err
	}
	if _, err := os.Stat(r.Path(runCheckpointFile)); err == nil {
		r.unlock()
		return nil, fmt.Errorf("%w: %s (resume it, or choose another folder)", ErrRunExists, dir)
	}
	write := map[string][]byte{runDatasetFile: files.Dataset, runConfigFile: append(config, '\n')}
	names := []string{runConfigFile, runDatasetFile}
	if files.Questions != nil {
		write[runQuestionsFile] = files.Questions
		names = append(names, runQuestionsFile)
	}
	for _, name := range names {
		if err := atomicfile.WriteFile(r.Path(name), write[name], 0o600); err != nil {
			r.unlock()
			return nil, fmt.Errorf("ragvsft: creating run folder %s: %w", dir, err)
		}
	}
	if err := recordRunFiles(dir, names...); err != nil {
		r.unlock()
		return nil, err
	}
	if err := r.openCheckpoint(); err != nil {
		r.unlock()
		return nil, err
	}
	return r, nil
}

// OpenRun opens the run folder dir to resume its run: it locks it, checks
// its files against run.json (ErrRunFolderChanged names what was edited)
// and opens its checkpoint, whose results Previous returns. A folder from
// before run.json was recorded gets one, of its files as they are now
// (RecordedNow says so). A folder without config.json is refused with
// ErrNotRunFolder.
func OpenRun(dir string, opts RunOptions) (*Run, error) {
	if _, err := os.Stat(filepath.Join(dir, runConfigFile)); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotRunFolder, dir, err)
	}
	r := &Run{dir: dir, opts: opts}
	var err error
	if r.unlock, err = lockRunFolder(dir); err != nil {
		return nil, err
	}
	// Only once the folder is locked are its files read and believed.
	err = checkRunFiles(dir)
	if errors.Is(err, fs.ErrNotExist) {
		names := []string{runConfigFile, runDatasetFile}
		if _, serr := os.Stat(r.Path(runQuestionsFile)); serr == nil {
			names = append(names, runQuestionsFile)
		}
		err = recordRunFiles(dir, names...)
		r.recordedNow = true
	}
	if err == nil {
		err = r.openCheckpoint()
	}
	if err != nil {
		r.unlock()
		return nil, err
	}
	return r, nil
}

func (r *Run) openCheckpoint() error {
	var err error
	r.ckpt, err = OpenCheckpointWith(r.Path(runCheckpointFile), CheckpointOptions{
		SyncInterval: r.opts.SyncInterval, RetryErrors: r.opts.RetryErrors})
	return err
}

// Dir returns the run folder.
func (r *Run) Dir() string { return r.dir }

// Path returns the path of the file or folder name in the run folder.
func (r *Run) Path(name string) string { return filepath.Join(r.dir, name) }

// RecordedNow reports whether OpenRun recorded run.json itself: the folder
// is from before run.json existed, so its files could not be checked.
func (r *Run) RecordedNow() bool { return r.recordedNow }

// ReadConfig decodes config.json into v.
func (r *Run) ReadConfig(v any) error {
	b, err := os.ReadFile(r.Path(runConfigFile))
	if err != nil {
		return fmt.Errorf("ragvsft: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("ragvsft: reading %s: %w", r.Path(runConfigFile), err)
	}
	return nil
}

// Dataset reads the run's copy of its knowledge base, named name in
// errors and reports (the file it was started with, say).
func (r *Run) Dataset(name string) (*JSONLDataset, error) {
	b, err := os.ReadFile(r.Path(runDatasetFile))
	if err != nil {
		return nil, fmt.Errorf("ragvsft: %w", err)
	}
	ds, err := ReadJSONL(bytes.NewReader(b), name)
	if err != nil {
		return nil, fmt.Errorf("ragvsft: %s: %w", r.Path(runDatasetFile), err)
	}
	return ds, nil
}

// Questions reads the run's copy of its questions file, named name in
// errors, and attaches it to ds (see WithQuestions); it returns ds itself
// when the run has none.
func (r *Run) Questions(ds Dataset, name string) (Dataset, error) {
	b, err := os.ReadFile(r.Path(runQuestionsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return ds, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ragvsft: %w", err)
	}
	qs, err := ReadQuestions(bytes.NewReader(b), name)
	if err != nil {
		return nil, err
	}
	return WithQuestions(ds, qs)
}

// Previous returns the checkpoint's results (without the errors, with
// RunOptions.RetryErrors).
func (r *Run) Previous() []Result { return r.ckpt.Previous() }

// Append writes res to the checkpoint, then tells RunOptions.OnResult.
func (r *Run) Append(res Result) error {
	if err := r.ckpt.Append(res); err != nil {
		return err
	}
	if r.opts.OnResult != nil {
		r.opts.OnResult(res)
	}
	return nil
}

// Plan is e.Plan with the run's checkpoint as e's Results: what Execute
// would still ask, before anything is spent.
func (r *Run) Plan(e *Experiment) (*Plan, error) {
	x := *e
	x.Results = r
	return x.Plan()
}

// Execute runs e with the run's checkpoint as its Results and writes the
// reports (RunOptions.Finish, then report.json, report.md and
// RunOptions.Render), even when the run stops part way: whatever finished
// is reported. It returns e.Run's error, joined with a failure to write
// the reports; a run that finished with items in error returns an error
// wrapping ErrItemsInError. e is not modified.
func (r *Run) Execute(ctx context.Context, e *Experiment) (*Report, error) {
	x := *e
	x.Results = r
	rep, err := x.Run(ctx)
	if rep == nil {
		return nil, err
	}
	if werr := r.finish(rep); werr != nil || err != nil {
		return rep, errors.Join(err, werr)
	}
	if n := rep.itemsInError(); n > 0 {
		return rep, fmt.Errorf("%w: %d of %d (see %s)", ErrItemsInError, n, len(rep.Results), r.Path(runReportFile))
	}
	return rep, nil
}

// Repeat is Execute for Repeat(ctx, e, n): the first run, the one with e's
// seed, is the checkpointed one, written as the run's report; every run
// and the spreads go to repeats.json and repeats.md.
func (r *Run) Repeat(ctx context.Context, e *Experiment, n int) (*RepeatReport, error) {
	x := *e
	x.Results = r
	reps, err := Repeat(ctx, &x, n)
	if reps == nil || len(reps.Reports) == 0 {
		return reps, err
	}
	werr := r.finish(reps.Reports[0])
	if werr == nil {
		werr = r.writeRepeats(reps)
	}
	if werr != nil || err != nil {
		return reps, errors.Join(err, werr)
	}
	if m := reps.Reports[0].itemsInError(); m > 0 {
		return reps, fmt.Errorf("%w: %d of %d in the first run (see %s)", ErrItemsInError, m, len(reps.Reports[0].Results), r.Path(runReportFile))
	}
	return reps, nil
}

func (r *Run) finish(rep *Report) error {
	if err := r.keepFineTune(rep); err != nil {
		return err
	}
	if r.opts.Finish != nil {
		r.opts.Finish(rep)
	}
	return r.WriteReport(rep)
}

// keepFineTune records what the run fine-tuned (fine-tuned.json), and gives
// it back to a report of a resumed run that fine-tuned nothing, since every
// fine-tuned item was kept: the report still says which model answered.
func (r *Run) keepFineTune(rep *Report) error {
	if rep.FineTune != nil {
		return writeRunJSON(r.Path(runFineTunedFile), rep.FineTune)
	}
	if !rep.Complete || !slices.ContainsFunc(rep.Settings.Arms, Arm.fineTuned) {
		return nil // a fine-tuning that failed is not the last one's
	}
	b, err := os.ReadFile(r.Path(runFineTunedFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ragvsft: %w", err)
	}
	var ft FineTuned
	if err := json.Unmarshal(b, &ft); err != nil {
		return fmt.Errorf("ragvsft: reading %s: %w", r.Path(runFineTunedFile), err)
	}
	rep.FineTune = &ft
	return nil
}

// WriteReport writes rep into the folder as report.json and report.md,
// then through RunOptions.Render; each file is written whole or not at all
// (0600). Execute calls it; call it again after changing a report (adding
// an epoch sweep, say).
func (r *Run) WriteReport(rep *Report) error {
	err := atomicfile.Write(r.Path(runReportFile), 0o600, func(w io.Writer) error { return writeReportJSON(w, rep) })
	if err != nil {
		return fmt.Errorf("ragvsft: %w", err)
	}
	if err := writeRunText(r.Path(runMarkdownFile), rep.WriteMarkdown); err != nil {
		return err
	}
	if r.opts.Render != nil {
		if err := r.opts.Render(r.dir, rep); err != nil {
			return fmt.Errorf("ragvsft: writing the reports of %s: %w", r.dir, err)
		}
	}
	return nil
}

func (r *Run) writeRepeats(reps *RepeatReport) error {
	if err := writeRunJSON(r.Path(runRepeatsFile), reps); err != nil {
		return err
	}
	return writeRunText(r.Path(runRepeatsMDFile), reps.WriteMarkdown)
}

// Close makes the checkpoint durable, closes it and unlocks the folder. A
// second Close does nothing.
func (r *Run) Close() error {
	var err error
	if r.ckpt != nil {
		err = r.ckpt.Close()
	}
	if r.unlock != nil {
		err = errors.Join(err, r.unlock())
	}
	return err
}

func writeRunJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("ragvsft: encoding %s: %w", filepath.Base(path), err)
	}
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("ragvsft: %w", err)
	}
	return nil
}

func writeRunText(path string, write func(io.Writer) error) error {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return fmt.Errorf("ragvsft: writing %s: %w", filepath.Base(path), err)
	}
	if err := atomicfile.WriteFile(path, b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("ragvsft: %w", err)
	}
	return nil
}

// resultsKey is how json.MarshalIndent writes a Report's nil Results: at
// the top level, the only place a key starts a line after two spaces (a
// string holds no raw newline).
const resultsKey = "\n  \"results\": null"

// writeReportJSON writes what json.MarshalIndent(rep, "", "  ") and a
// newline would, byte for byte, with the results encoded one at a time
// onto w: a report of 100,000 questions is not held in memory twice.
func writeReportJSON(w io.Writer, rep *Report) error {
	head := *rep
	head.Results = nil
	b, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the report: %w", err)
	}
	i := bytes.Index(b, []byte(resultsKey))
	if i < 0 || rep.Results == nil {
		_, err := w.Write(append(b, '\n'))
		return err
	}
	if _, err := w.Write(b[:i]); err != nil {
		return err
	}
	if _, err := io.WriteString(w, "\n  \"results\": ["); err != nil {
		return err
	}
	for j := range rep.Results {
		rb, err := json.MarshalIndent(&rep.Results[j], "    ", "  ")
		if err != nil {
			return fmt.Errorf("encoding result %s/%s: %w", rep.Results[j].Arm, rep.Results[j].QuestionID, err)
		}
		if _, err := io.WriteString(w, "\n    "); err != nil {
			return err
		}
		if j < len(rep.Results)-1 {
			rb = append(rb, ',')
		}
		if _, err := w.Write(rb); err != nil {
			return err
		}
	}
	end := "\n  ]"
	if len(rep.Results) == 0 {
		end = "]"
	}
	if _, err := io.WriteString(w, end); err != nil {
		return err
	}
	_, err = w.Write(append(b[i+len(resultsKey):], '\n'))
	return err
}
