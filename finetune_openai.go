package ragvsft

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
	"github.com/openai/openai-go/v3/shared/constant"

	"github.com/ragvsft/ragvsft/internal/atomicfile"
)

// OpenAIFineTuner fine-tunes a chat model with OpenAI's fine-tuning API (or
// any server that speaks it), and never pays twice for the same job.
//
// FineTune first refuses a base model that Config's catalog knows to be shut
// down (*ModelShutDownError) or not fine-tunable (ErrNotFineTunable), checks
// the training file as OpenAI would (at least 10 examples, known roles,
// non-empty content, an assistant turn in every example, no example longer
// than the base model's context) and the suffix and seed, counts the tokens
// and estimates the cost (see Estimate), all before anything is sent. Then
// it uploads the file, waits until OpenAI has processed it, creates the job
// with method "supervised" (never the deprecated top-level hyperparameters)
// and waits for the job, delivering its events once each, oldest first, to
// OnEvent and Out.
//
// OpenAI is winding down self-serve fine-tuning and refuses job creation to
// most organizations (see FineTuningClosed): FineTune then returns a
// *FineTuningUnavailableError, which says what to do instead. The uploaded
// file stays recorded, so a rerun does not upload it again.
//
// A job is keyed by a hash of the training (and validation) file's bytes,
// the base model, the hyperparameters as requested, the suffix and the seed.
// The key is stored in the job's metadata ("ragvsft_key") and, when RunDir is
// set, in the record RunDir/finetune-<key>.json, written right after the
// upload and again before waiting. A second FineTune with the same key, in
// this process or after a restart, reattaches to that job, or returns its
// fine-tuned model at once if it succeeded; without a record it finds the job
// by listing the account's jobs. Only a failed or cancelled job is replaced by
// a new one.
//
// Cancelling ctx stops the waiting, not the job: the next FineTune
// reattaches. Cancel stops the job itself.
//
// The zero value is usable with an API key in Config: default prices, no
// record (the job list still prevents a second job, once created), no lock,
// polling every 5 s backing off to 1 min, no progress output. Use one
// OpenAIFineTuner from one goroutine at a time.
type OpenAIFineTuner struct {
	Config OpenAIConfig
	// RunDir is where job records are kept; "" keeps none.
	RunDir string
	// LockDir, if set, is a folder shared by the processes that may
	// fine-tune the same job, such as a cache folder (examples/cities uses
	// its -cache). FineTune then holds an exclusive lock on
	// LockDir/finetune-<key>.lock from reading its record until the job is
	// created and recorded (not while waiting for it), so a second process
	// started at the same time waits and reattaches to the first's job
	// instead of paying for another. "" takes no lock, nor do non-Unix
	// systems.
	LockDir string
	// OnEvent, if set, receives each job event once, oldest first.
	OnEvent func(FineTuneEvent)
	// PollInterval is the first wait between polls of a running job (default
	// 5 s); it doubles while nothing changes, up to MaxPollInterval
	// (default 1 min), and starts over when something does.
	PollInterval    time.Duration
	MaxPollInterval time.Duration
	// Out, if set, receives one progress line per step and event. The
	// estimate is not printed: call Estimate for it before spending.
	Out io.Writer
	// Batch, if set, makes the fine-tuned model a BatchModel with these
	// options: the fine-tuned arms are asked through the Batch API too, at
	// the fine-tune's batch price. Give it a Record of its own (not the
	// base model's BatchModel's), so that a resumed run finds its batches.
	Batch *BatchOptions
}

var _ FineTuner = (*OpenAIFineTuner)(nil)

// FineTuneEvent is one event of a fine-tuning job: a message, or the metrics
// of a training step.
type FineTuneEvent struct {
	JobID     string    `json:"job_id"`
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	// Level is "info", "warn" or "error".
	Level string `json:"level"`
	// Type is "message" or "metrics".
	Type    string `json:"type"`
	Message string `json:"message"`
	// Data holds a metrics event's values (step, train_loss, ...).
	Data map[string]any `json:"data,omitempty"`
}

// FineTuneJobError is a fine-tuning job that failed, with the error OpenAI
// reported for it (code, message, param). FineTune returns it; get it with
// errors.As.
type FineTuneJobError struct {
	JobID   string
	Code    string
	Message string
	Param   string
}

// Error says which job failed and why, in OpenAI's words.
func (e *FineTuneJobError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ragvsft: fine-tuning job %s failed", e.JobID)
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Param != "" {
		fmt.Fprintf(&b, " [param %s]", e.Param)
	}
	return b.String()
}

// ErrFineTuneCancelled is returned (wrapped, with the job id) when the job
// being waited for was cancelled.
var ErrFineTuneCancelled = errors.New("ragvsft: fine-tuning job was cancelled")

// ErrFineTuningUnavailable is what errors.Is finds in the error of a job
// that the server refused to create because the organization may no longer
// fine-tune; get the details with errors.As and *FineTuningUnavailableError.
var ErrFineTuningUnavailable = errors.New("ragvsft: OpenAI refuses to create fine-tuning jobs for this organization")

// FineTuningUnavailableError is OpenAI's refusal to create a fine-tuning job
// for the organization, as it refuses most of them since its wind-down of
// self-serve fine-tuning (see FineTuningClosed). FineTune returns it without
// retrying: asking again changes nothing. errors.As also finds the
// *openai.Error it came from.
type FineTuningUnavailableError struct {
	// BaseModel is the model the job was to fine-tune.
	BaseModel string
	// TrainingFileID is the uploaded file, which stays on the server.
	TrainingFileID string
	// RunDir is the fine-tuner's RunDir, whose record keeps TrainingFileID
	// so that a rerun does not upload the file again; "" when none is kept.
	RunDir string
	// Status and Message are the server's HTTP status and error message.
	Status  int
	Message string
	err     error
}

// Error says what OpenAI refused, the dates of the wind-down, and what to
// do instead.
func (e *FineTuningUnavailableError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ragvsft: OpenAI refused to create a fine-tuning job for %s (HTTP %d)", e.BaseModel, e.Status)
	if m := strings.TrimSpace(e.Message); m != "" {
		b.WriteString(": " + m)
		if !strings.HasSuffix(m, ".") {
			b.WriteString(".")
		}
	} else {
		b.WriteString(".")
	}
	fmt.Fprintf(&b, " OpenAI is winding down self-serve fine-tuning: organizations that had never fine-tuned lost access on %s, "+
		"those with no inference on a fine-tuned model in the previous 60 days on %s, and no organization can create jobs from %s; "+
		"models already fine-tuned keep answering until their base model shuts down. ",
		FineTuningClosedToNewOrgs, FineTuningClosedToInactiveOrgs, FineTuningClosed)
	switch {
	case e.TrainingFileID != "" && e.RunDir != "":
		fmt.Fprintf(&b, "The training file %s stays uploaded and recorded in %s: a rerun will not upload it again. ", e.TrainingFileID, e.RunDir)
	case e.TrainingFileID != "":
		fmt.Fprintf(&b, "The training file %s stays uploaded. ", e.TrainingFileID)
	}
	b.WriteString("To measure a fine-tuned model anyway, serve one already fine-tuned (on OpenAI or elsewhere) behind an " +
		"OpenAI-compatible endpoint and name it (examples/cities: -finetuned-model NAME -finetuned-base-url URL), " +
		"or train one yourself with your own training command (ragvsft.CommandFineTuner; examples/cities: -train-command CMD)")
	return b.String()
}

// Is makes errors.Is(err, ErrFineTuningUnavailable) true.
func (e *FineTuningUnavailableError) Is(target error) bool { return target == ErrFineTuningUnavailable }

// Unwrap returns the server's error.
func (e *FineTuningUnavailableError) Unwrap() error { return e.err }

// fineTuningRefusal returns the server's refusal to let the organization
// create jobs, if err is one. OpenAI has not published the body of this
// refusal; users report a permission error (HTTP 403) since 2026-05-07
// (github.com/ed-donner/llm_engineering issue 3258), so every 403 on job
// creation is taken for it, except OpenAI's 403 for a restricted key that
// lacks a scope, which a better key fixes.
func fineTuningRefusal(err error) (*openai.Error, bool) {
	var apiErr *openai.Error
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden &&
		!strings.Contains(strings.ToLower(apiErr.Message), "missing scopes") {
		return apiErr, true
	}
	return nil, false
}

// minTrainingExamples is OpenAI's minimum for a training or validation
// file.
const minTrainingExamples = 10

// metadataKey is the job metadata entry that holds a job's key.
const metadataKey = "ragvsft_key"

// fineTunePlan is everything worked out offline before a job is created.
type fineTunePlan struct {
	req        FineTuneRequest
	training   []byte
	validation []byte
	estimate   Estimate
	key        string
}

// planFineTune validates req's files, encodes them, counts their tokens and
// keys the job.
func planFineTune(req FineTuneRequest, catalog Catalog) (*fineTunePlan, error) {
	if strings.TrimSpace(req.BaseModel) == "" {
		return nil, errors.New("ragvsft: fine-tune: no base model")
	}
	if req.Training == nil {
		return nil, fmt.Errorf("%w: the request has no training set", ErrNoTrainingData)
	}
	if err := checkHyperparameters(req.Hyperparameters); err != nil {
		return nil, err
	}
	if err := checkJobOptions(req); err != nil {
		return nil, err
	}
	info, _ := lookupModel(catalog, req.BaseModel)
	limit := info.TrainingContext
	p := &fineTunePlan{req: req}
	train := req.Training.Examples()
	var err error
	var tokens, longest int
	p.training, tokens, longest, err = fineTuneFile(req.BaseModel, datasetName(req.Training), train, minTrainingExamples, limit)
	if err != nil {
		return nil, err
	}
	var valTokens int
	if req.Validation != nil {
		p.validation, valTokens, _, err = fineTuneFile(req.BaseModel, datasetName(req.Validation)+" (validation)", req.Validation.Examples(), minTrainingExamples, limit)
		if err != nil {
			return nil, err
		}
	}
	hp := req.Hyperparameters.Resolve(len(train))
	price, known := info.Price, info.Price.Training > 0
	e := Estimate{
		BaseModel:        req.BaseModel,
		Encoding:         encodingFor(req.BaseModel),
		Examples:         len(train),
		TrainingTokens:   tokens,
		ValidationTokens: valTokens,
		MaxExampleTokens: longest,
		ContextLimit:     limit,
		Hyperparameters:  hp,
		BilledTokens:     tokens * hp.Epochs,
		Price:            price,
		PriceKnown:       known,
	}
	if known {
		e.Cost = float64(e.BilledTokens) * price.Training / 1e6
	}
	p.estimate = e
	p.key = jobKey(p.training, p.validation, req)
	return p, nil
}

// fineTuneFile checks examples as OpenAI checks a fine-tuning file (the
// format rules of WriteJSONL, at least minExamples examples, none over the
// model's context limit) and returns the file's bytes and tokens. Problems
// come back together in one *ValidationError, each with its line.
func fineTuneFile(model, name string, examples []Example, minExamples, limit int) (data []byte, total, longest int, err error) {
	var ps []Problem
	if len(examples) < minExamples {
		ps = append(ps, Problem{Message: fmt.Sprintf("%d examples; OpenAI requires at least %d", len(examples), minExamples)})
	}
	var buf bytes.Buffer
	if len(examples) > 0 {
		werr := WriteJSONL(&buf, examples)
		var ve *ValidationError
		switch {
		case errors.As(werr, &ve):
			lines := exampleLines(examples)
			for _, p := range ve.Problems {
				if p.Line == 0 {
					p.Line = lines[p.ID]
				}
				ps = append(ps, p)
			}
		case werr != nil:
			return nil, 0, 0, fmt.Errorf("ragvsft: encoding %s: %w", name, werr)
		}
	}
	if len(ps) == 0 {
		for i, ex := range examples {
			n, cerr := CountMessageTokens(model, ex.Messages)
			if cerr != nil {
				return nil, 0, 0, fmt.Errorf("ragvsft: %s: example %d: %w", name, i+1, cerr)
			}
			if limit > 0 && n > limit {
				ps = append(ps, Problem{Line: exampleLine(ex, i), ID: ex.ID,
					Message: fmt.Sprintf("%d tokens, over %s's limit of %d per example", n, model, limit)})
			}
			total += n
			longest = max(longest, n)
		}
	}
	if len(ps) > 0 {
		return nil, 0, 0, &ValidationError{File: name, Problems: ps}
	}
	return buf.Bytes(), total, longest, nil
}

// exampleLine is the line an example came from, or its line in the file
// written from examples.
func exampleLine(ex Example, i int) int {
	if ex.Line > 0 {
		return ex.Line
	}
	return i + 1
}

// exampleLines maps example IDs, as WriteJSONL names them in its problems,
// to their lines.
func exampleLines(examples []Example) map[string]int {
	m := make(map[string]int, len(examples))
	for i, ex := range examples {
		id := ex.ID
		if id == "" {
			if ex.Line > 0 {
				id = "line " + strconv.Itoa(ex.Line)
			} else {
				id = "example " + strconv.Itoa(i+1)
			}
		}
		if _, dup := m[id]; !dup {
			m[id] = exampleLine(ex, i)
		}
	}
	return m
}

// checkHyperparameters refuses values OpenAI would refuse.
func checkHyperparameters(h Hyperparameters) error {
	switch {
	case h.Epochs < 0:
		return fmt.Errorf("%w: n_epochs %d is negative", ErrBadHyperparameters, h.Epochs)
	case h.BatchSize < 0:
		return fmt.Errorf("%w: batch_size %d is negative", ErrBadHyperparameters, h.BatchSize)
	case h.LearningRateMultiplier < 0:
		return fmt.Errorf("%w: learning_rate_multiplier %g is negative", ErrBadHyperparameters, h.LearningRateMultiplier)
	}
	return nil
}

// OpenAI's limits on a job's seed and suffix (its spec: seed 0 to
// 2147483647, suffix up to 64 characters).
const (
	maxJobSeed   = 2147483647
	maxJobSuffix = 64
)

// checkJobOptions refuses a seed or suffix OpenAI would refuse, so that no
// upload is spent on a job that cannot be created.
func checkJobOptions(req FineTuneRequest) error {
	switch n := utf8.RuneCountInString(req.Suffix); {
	case req.Seed < 0 || req.Seed > maxJobSeed:
		return fmt.Errorf("ragvsft: fine-tune: seed %d is outside OpenAI's range 0 to %d", req.Seed, maxJobSeed)
	case n > maxJobSuffix:
		return fmt.Errorf("ragvsft: fine-tune: suffix %q has %d characters; OpenAI allows at most %d", req.Suffix, n, maxJobSuffix)
	case strings.Contains(req.Suffix, ":"):
		return fmt.Errorf("ragvsft: fine-tune: suffix %q contains ':', which separates the parts of a fine-tuned model's id", req.Suffix)
	}
	return nil
}

// jobKey hashes what makes two fine-tuning jobs the same.
func jobKey(training, validation []byte, req FineTuneRequest) string {
	sum := func(b []byte) string {
		if b == nil {
			return ""
		}
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	}
	canon, _ := json.Marshal(struct {
		Version         int             `json:"v"`
		Training        string          `json:"training_sha256"`
		Validation      string          `json:"validation_sha256,omitempty"`
		BaseModel       string          `json:"base_model"`
		Hyperparameters Hyperparameters `json:"hyperparameters"`
		Suffix          string          `json:"suffix"`
		Seed            int64           `json:"seed"`
	}{1, sum(training), sum(validation), req.BaseModel, req.Hyperparameters, req.Suffix, req.Seed})
	s := sha256.Sum256(canon)
	return hex.EncodeToString(s[:])
}

// Estimate checks req as FineTune would and returns the tokens and cost of
// the job, without contacting the server.
func (f *OpenAIFineTuner) Estimate(ctx context.Context, req FineTuneRequest) (Estimate, error) {
	if err := ctx.Err(); err != nil {
		return Estimate{}, err
	}
	now, err := f.Config.now()
	if err != nil {
		return Estimate{}, err
	}
	if err := checkModel(f.Config.Catalog, req.BaseModel, now, true); err != nil {
		return Estimate{}, err
	}
	return EstimateFineTune(req, f.Config.Catalog)
}

// FineTune runs req as an OpenAI fine-tuning job, or reattaches to the job
// already keyed by it, and waits for its model. See OpenAIFineTuner.
func (f *OpenAIFineTuner) FineTune(ctx context.Context, req FineTuneRequest) (*FineTuned, error) {
	now, err := f.Config.now()
	if err != nil {
		return nil, err
	}
	if err := checkModel(f.Config.Catalog, req.BaseModel, now, true); err != nil {
		return nil, err
	}
	p, err := planFineTune(req, f.Config.Catalog)
	if err != nil {
		return nil, err
	}
	c, err := f.Config.client()
	if err != nil {
		return nil, err
	}
	// From reading the record to recording the created job, one process at
	// a time: a second one started at once finds the first's job.
	release, err := f.claim(ctx, p.key)
	if err != nil {
		return nil, err
	}
	rec, job, reused, err := f.start(ctx, c, p)
	release()
	if err != nil || reused != nil {
		return reused, err
	}
	return f.wait(ctx, c, rec, job)
}

// claim takes the lock LockDir/finetune-<key>.lock, waiting while another
// process (or another open of it) holds it; without LockDir it takes none.
func (f *OpenAIFineTuner) claim(ctx context.Context, key string) (release func(), err error) {
	if f.LockDir == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(f.LockDir, 0o700); err != nil {
		return nil, fmt.Errorf("ragvsft: fine-tune lock: %w", err)
	}
	path := filepath.Join(f.LockDir, "finetune-"+key+".lock")
	unlock, err := lockWaiting(ctx, path, func() {
		f.logf("fine-tune: another process is starting the job of key %.12s (it holds %s); waiting for it", key, path)
	})
	if err != nil {
		return nil, err
	}
	return func() { _ = unlock() }, nil
}

// start returns the job for p, recorded, found or created, or the fine-tuned
// model at once when the job already succeeded.
func (f *OpenAIFineTuner) start(ctx context.Context, c *openAIClient, p *fineTunePlan) (*fineTuneRecord, *openai.FineTuningJob, *FineTuned, error) {
	rec, err := f.loadRecord(p.key)
	if err != nil {
		return nil, nil, nil, err
	}
	if rec.Status == string(openai.FineTuningJobStatusSucceeded) && rec.ModelID != "" {
		f.logf("fine-tune %s: reusing model %s (key %.12s)", rec.JobID, rec.ModelID, p.key)
		ft, err := f.result(rec)
		if err != nil {
			return nil, nil, nil, err
		}
		ft.Reused = true
		return nil, nil, ft, nil
	}
	// Writing the record before the first request proves RunDir is
	// writable before anything is spent.
	rec.BaseModel, rec.Suffix, rec.Seed, rec.Estimate = p.req.BaseModel, p.req.Suffix, p.req.Seed, p.estimate
	if err := f.saveRecord(rec); err != nil {
		return nil, nil, nil, err
	}
	recorded := rec.JobID
	job, err := f.attach(ctx, c, p, rec)
	if err != nil {
		return nil, nil, nil, err
	}
	if job.Status == openai.FineTuningJobStatusSucceeded && job.ID != recorded {
		// Finished before this call, started by another run folder: its
		// events were that run's, and so was the bill. A job this run
		// folder started and stopped waiting for (a restart) is waited
		// for instead, which delivers the events it missed.
		f.succeeded(rec, job)
		f.logf("fine-tune %s: reusing model %s (key %.12s)", job.ID, rec.ModelID, p.key)
		if err := f.saveRecord(rec); err != nil {
			return nil, nil, nil, err
		}
		ft, err := f.result(rec)
		if err != nil {
			return nil, nil, nil, err
		}
		ft.Reused = true
		return nil, nil, ft, nil
	}
	return rec, job, nil, nil
}

// succeeded copies a succeeded job's outcome into rec.
func (f *OpenAIFineTuner) succeeded(rec *fineTuneRecord, job *openai.FineTuningJob) {
	rec.JobID = job.ID
	rec.Status = string(job.Status)
	rec.ModelID = job.FineTunedModel
	rec.TrainedTokens = int(job.TrainedTokens)
	rec.Hyperparameters = jobHyperparameters(job, rec.Estimate.Hyperparameters)
}

// Cancel asks the server to cancel a fine-tuning job, and marks its record in
// RunDir cancelled so the next FineTune creates a new job.
func (f *OpenAIFineTuner) Cancel(ctx context.Context, jobID string) error {
	c, err := f.Config.client()
	if err != nil {
		return err
	}
	job, err := c.jobs.Cancel(ctx, jobID)
	if err != nil {
		return c.wrap("cancelling fine-tuning job "+jobID, err)
	}
	if f.RunDir == "" {
		return nil
	}
	paths, _ := filepath.Glob(filepath.Join(f.RunDir, "finetune-*.json"))
	for _, path := range paths {
		rec, err := readRecord(path)
		if err != nil || rec.JobID != jobID {
			continue
		}
		rec.Status = string(job.Status)
		if err := f.saveRecord(rec); err != nil {
			return err
		}
	}
	return nil
}

// fineTuneRecord is what RunDir/finetune-<key>.json holds.
type fineTuneRecord struct {
	Key              string          `json:"key"`
	BaseModel        string          `json:"base_model"`
	Suffix           string          `json:"suffix,omitempty"`
	Seed             int64           `json:"seed,omitempty"`
	TrainingFileID   string          `json:"training_file_id,omitempty"`
	ValidationFileID string          `json:"validation_file_id,omitempty"`
	JobID            string          `json:"job_id,omitempty"`
	Status           string          `json:"status,omitempty"`
	ModelID          string          `json:"model_id,omitempty"`
	TrainedTokens    int             `json:"trained_tokens,omitempty"`
	Hyperparameters  Hyperparameters `json:"hyperparameters"`
	LastEventID      string          `json:"last_event_id,omitempty"`
	Estimate         Estimate        `json:"estimate"`
	UpdatedAt        time.Time       `json:"updated_at"`
}

func (f *OpenAIFineTuner) recordPath(key string) string {
	return filepath.Join(f.RunDir, "finetune-"+key+".json")
}

func readRecord(path string) (*fineTuneRecord, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rec fineTuneRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("ragvsft: reading fine-tune record %s: %w", path, err)
	}
	return &rec, nil
}

// loadRecord returns the record for key, or a fresh one when there is none.
func (f *OpenAIFineTuner) loadRecord(key string) (*fineTuneRecord, error) {
	fresh := &fineTuneRecord{Key: key}
	if f.RunDir == "" {
		return fresh, nil
	}
	rec, err := readRecord(f.recordPath(key))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fresh, nil
	case err != nil:
		return nil, err
	case rec.Key != key:
		return nil, fmt.Errorf("ragvsft: fine-tune record %s holds key %q", f.recordPath(key), rec.Key)
	}
	return rec, nil
}

// saveRecord writes rec atomically, so a crash leaves the old or the new
// record, never half of one.
func (f *OpenAIFineTuner) saveRecord(rec *fineTuneRecord) error {
	if f.RunDir == "" {
		return nil
	}
	rec.UpdatedAt = time.Now().UTC()
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("ragvsft: encoding fine-tune record: %w", err)
	}
	if err := os.MkdirAll(f.RunDir, 0o755); err != nil {
		return fmt.Errorf("ragvsft: fine-tune record: %w", err)
	}
	if err := atomicfile.WriteFile(f.recordPath(rec.Key), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("ragvsft: fine-tune record: %w", err)
	}
	return nil
}

// attach returns the job for p: the recorded one, else one found by its key
// in the job list, else a new one (uploading the files first if needed).
func (f *OpenAIFineTuner) attach(ctx context.Context, c *openAIClient, p *fineTunePlan, rec *fineTuneRecord) (*openai.FineTuningJob, error) {
	if rec.JobID != "" {
		job, err := c.jobs.Get(ctx, rec.JobID)
		switch {
		case err == nil && reusable(job.Status):
			f.logf("fine-tune %s: reattaching (status %s)", job.ID, job.Status)
			return job, nil
		case err == nil:
			f.logf("fine-tune %s: previous job %s; starting a new one", job.ID, job.Status)
		case statusOf(err) != http.StatusNotFound:
			return nil, c.wrap("getting fine-tuning job "+rec.JobID, err)
		}
		rec.JobID, rec.Status, rec.LastEventID = "", "", ""
	}
	job, err := f.findJob(ctx, c, p.key)
	if err != nil {
		return nil, err
	}
	if job != nil {
		f.logf("fine-tune %s: found by key %.12s (status %s)", job.ID, p.key, job.Status)
		rec.JobID, rec.Status = job.ID, string(job.Status)
		if job.TrainingFile != "" {
			rec.TrainingFileID = job.TrainingFile
		}
		return job, f.saveRecord(rec)
	}
	files := []struct {
		which string
		id    *string
		data  []byte
	}{{"training", &rec.TrainingFileID, p.training}, {"validation", &rec.ValidationFileID, p.validation}}
	uploaded := make([]*openai.FileObject, len(files))
	for i, file := range files {
		if file.data == nil {
			continue
		}
		if uploaded[i], err = f.upload(ctx, c, *file.id, file.which, file.data, p.key); err != nil {
			return nil, err
		}
		// Recorded before waiting, so that a rerun after a stop reuses it.
		*file.id = uploaded[i].ID
		if err := f.saveRecord(rec); err != nil {
			return nil, err
		}
	}
	for i, file := range uploaded {
		if file != nil {
			if err := f.waitProcessed(ctx, c, file, files[i].which); err != nil {
				return nil, err
			}
		}
	}
	job, err = f.create(ctx, c, p, rec)
	if err != nil {
		return nil, err
	}
	rec.JobID, rec.Status = job.ID, string(job.Status)
	f.logf("fine-tune %s: created (status %s)", job.ID, job.Status)
	return job, f.saveRecord(rec)
}

// reusable says whether a job with this status is worth reattaching to.
func reusable(s openai.FineTuningJobStatus) bool {
	return s != openai.FineTuningJobStatusFailed && s != openai.FineTuningJobStatusCancelled
}

// findJob looks the key up in the account's jobs. It prefers a succeeded
// job, then one still in progress; failed and cancelled ones are skipped.
func (f *OpenAIFineTuner) findJob(ctx context.Context, c *openAIClient, key string) (*openai.FineTuningJob, error) {
	params := openai.FineTuningJobListParams{
		Limit:    openai.Int(100),
		Metadata: map[string]string{metadataKey: key},
	}
	var found *openai.FineTuningJob
	for range 50 {
		page, err := c.jobs.List(ctx, params)
		if err != nil {
			return nil, c.wrap("listing fine-tuning jobs", err)
		}
		for i := range page.Data {
			job := &page.Data[i]
			if job.Metadata[metadataKey] != key || !reusable(job.Status) {
				continue
			}
			if job.Status == openai.FineTuningJobStatusSucceeded {
				return job, nil
			}
			if found == nil {
				found = job
			}
		}
		if !page.HasMore || len(page.Data) == 0 {
			break
		}
		params.After = openai.String(page.Data[len(page.Data)-1].ID)
	}
	return found, nil
}

// upload sends a file for fine-tuning, or keeps the recorded one if the
// server still has it.
func (f *OpenAIFineTuner) upload(ctx context.Context, c *openAIClient, id, which string, data []byte, key string) (*openai.FileObject, error) {
	if id != "" {
		file, err := c.files.Get(ctx, id)
		if err == nil {
			f.logf("reusing uploaded %s file %s", which, id)
			return file, nil
		}
		if statusOf(err) != http.StatusNotFound {
			return nil, c.wrap("getting uploaded "+which+" file "+id, err)
		}
	}
	name := fmt.Sprintf("ragvsft-%s-%.12s.jsonl", which, key)
	file, err := c.files.New(ctx, openai.FileNewParams{
		File:    openai.File(bytes.NewReader(data), name, "application/jsonl"),
		Purpose: openai.FilePurposeFineTune,
	})
	if err != nil {
		return nil, c.wrap("uploading "+which+" file "+name, err)
	}
	f.logf("uploaded %s file %s (%d bytes) as %s", which, name, len(data), file.ID)
	return file, nil
}

// The waits between polls of a file being processed: short, as OpenAI
// processes a file in seconds.
const (
	firstFilePoll = 250 * time.Millisecond
	maxFilePoll   = 5 * time.Second
)

// waitProcessed polls file until its status is "processed": OpenAI refuses
// a job on a file it has not processed yet. A file that ends in "error" is
// an error with OpenAI's details; uploading the same bytes again would not
// help.
func (f *OpenAIFineTuner) waitProcessed(ctx context.Context, c *openAIClient, file *openai.FileObject, which string) error {
	interval := firstFilePoll
	if f.PollInterval > 0 {
		interval = min(f.PollInterval, firstFilePoll)
	}
	stopped := func(err error) error {
		return fmt.Errorf("ragvsft: stopped waiting for %s file %s to be processed (it stays recorded; run again to reuse it): %w", which, file.ID, err)
	}
	failures := 0
	for logged := false; ; {
		switch file.Status {
		case openai.FileObjectStatusProcessed:
			return nil
		case openai.FileObjectStatusError:
			details := file.StatusDetails
			if details == "" {
				details = "no details given"
			}
			return fmt.Errorf("ragvsft: %s file %s (%s) could not be processed by the server: %s", which, file.ID, file.Filename, c.redact(details))
		}
		if !logged {
			f.logf("waiting for %s file %s to be processed (status %s)", which, file.ID, file.Status)
			logged = true
		}
		if err := sleep(ctx, interval); err != nil {
			return stopped(err)
		}
		interval = min(2*interval, maxFilePoll)
		next, err := c.files.Get(ctx, file.ID)
		if err != nil {
			if ctx.Err() != nil {
				return stopped(c.wrap("getting the status of "+which+" file "+file.ID, err))
			}
			if !transient(err) || failures >= maxPollFailures {
				return c.wrap("getting the status of "+which+" file "+file.ID, err)
			}
			failures++
			continue
		}
		file, failures = next, 0
	}
}

// create creates the job. openai-go's retries are off for this call: a
// retried create whose first attempt reached the server would make a second
// job. Instead, after a transient failure the job is looked up by its key
// and created again only if it is not there. The organization's refusal
// (fineTuningRefusal) is not retried.
func (f *OpenAIFineTuner) create(ctx context.Context, c *openAIClient, p *fineTunePlan, rec *fineTuneRecord) (*openai.FineTuningJob, error) {
	h := p.req.Hyperparameters
	var hp openai.SupervisedHyperparameters
	if h.Epochs > 0 {
		hp.NEpochs.OfInt = openai.Int(int64(h.Epochs))
	} else {
		hp.NEpochs.OfAuto = constant.ValueOf[constant.Auto]()
	}
	if h.BatchSize > 0 {
		hp.BatchSize.OfInt = openai.Int(int64(h.BatchSize))
	} else {
		hp.BatchSize.OfAuto = constant.ValueOf[constant.Auto]()
	}
	if h.LearningRateMultiplier > 0 {
		hp.LearningRateMultiplier.OfFloat = openai.Float(h.LearningRateMultiplier)
	} else {
		hp.LearningRateMultiplier.OfAuto = constant.ValueOf[constant.Auto]()
	}
	params := openai.FineTuningJobNewParams{
		Model:        openai.FineTuningJobNewParamsModel(p.req.BaseModel),
		TrainingFile: rec.TrainingFileID,
		Method: openai.FineTuningJobNewParamsMethod{
			Type:       "supervised",
			Supervised: openai.SupervisedMethodParam{Hyperparameters: hp},
		},
		Metadata: shared.Metadata{metadataKey: p.key},
	}
	if p.req.Suffix != "" {
		params.Suffix = openai.String(p.req.Suffix)
	}
	if p.req.Seed != 0 {
		params.Seed = openai.Int(p.req.Seed)
	}
	if rec.ValidationFileID != "" {
		params.ValidationFile = openai.String(rec.ValidationFileID)
	}
	retries := c.cfg.retries()
	for attempt := 0; ; attempt++ {
		job, err := c.jobs.New(ctx, params, option.WithMaxRetries(0))
		if err == nil {
			return job, nil
		}
		if apiErr, ok := fineTuningRefusal(err); ok {
			return nil, &FineTuningUnavailableError{
				BaseModel:      p.req.BaseModel,
				TrainingFileID: rec.TrainingFileID,
				RunDir:         f.RunDir,
				Status:         apiErr.StatusCode,
				Message:        c.redact(apiErr.Message),
				err:            c.wrap("creating fine-tuning job on "+rec.TrainingFileID, err),
			}
		}
		// A per-attempt timeout (OpenAIConfig.RequestTimeout) is worth a
		// retry; the caller's own deadline is not.
		timedOut := errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil
		if !(transient(err) || timedOut) || attempt >= retries {
			return nil, c.wrap("creating fine-tuning job on "+rec.TrainingFileID, err)
		}
		if found, ferr := f.findJob(ctx, c, p.key); ferr == nil && found != nil {
			return found, nil
		}
		d, ok := retryAfter(err)
		if !ok {
			d = time.Duration(500<<attempt) * time.Millisecond
		}
		if err := sleep(ctx, d); err != nil {
			return nil, c.wrap("creating fine-tuning job on "+rec.TrainingFileID, err)
		}
	}
}

// maxPollFailures is how many polls in a row may fail transiently (after
// openai-go's own retries) before waiting gives up.
const maxPollFailures = 5

// wait polls job until it ends, delivering its events.
func (f *OpenAIFineTuner) wait(ctx context.Context, c *openAIClient, rec *fineTuneRecord, job *openai.FineTuningJob) (*FineTuned, error) {
	first := f.PollInterval
	if first <= 0 {
		first = 5 * time.Second
	}
	most := f.MaxPollInterval
	if most <= 0 {
		most = time.Minute
	}
	most = max(most, first)
	interval, failures := first, 0
	seen := make(map[string]bool)
	stopped := func(err error) error {
		return fmt.Errorf("ragvsft: stopped waiting for fine-tuning job %s (it keeps running; run again to reattach): %w", rec.JobID, err)
	}
	for {
		n, err := f.deliverEvents(ctx, c, rec, seen)
		if err == nil {
			changed := string(job.Status) != rec.Status || n > 0
			if string(job.Status) != rec.Status {
				f.logf("fine-tune %s: %s", job.ID, job.Status)
			}
			rec.Status = string(job.Status)
			switch job.Status {
			case openai.FineTuningJobStatusSucceeded:
				f.succeeded(rec, job)
				if err := f.saveRecord(rec); err != nil {
					return nil, err
				}
				return f.result(rec)
			case openai.FineTuningJobStatusFailed:
				if err := f.saveRecord(rec); err != nil {
					return nil, err
				}
				return nil, &FineTuneJobError{JobID: job.ID, Code: job.Error.Code, Message: c.redact(job.Error.Message), Param: job.Error.Param}
			case openai.FineTuningJobStatusCancelled:
				if err := f.saveRecord(rec); err != nil {
					return nil, err
				}
				return nil, fmt.Errorf("%w: %s", ErrFineTuneCancelled, job.ID)
			}
			if changed {
				if err := f.saveRecord(rec); err != nil {
					return nil, err
				}
				interval = first
			} else {
				interval = min(2*interval, most)
			}
		}
		if err != nil {
			if !transient(err) || failures >= maxPollFailures {
				return nil, stopped(err)
			}
			failures++
		} else {
			failures = 0
		}
		if err := sleep(ctx, interval); err != nil {
			return nil, stopped(err)
		}
		next, err := c.jobs.Get(ctx, rec.JobID)
		if err != nil {
			if ctx.Err() != nil || !transient(err) || failures >= maxPollFailures {
				return nil, stopped(c.wrap("polling fine-tuning job "+rec.JobID, err))
			}
			failures++
			continue
		}
		job = next
	}
}

// deliverEvents fetches the events newer than the last one delivered and
// hands them, oldest first, to OnEvent and Out. The server lists events
// newest first, so pages are read until a delivered event shows up.
func (f *OpenAIFineTuner) deliverEvents(ctx context.Context, c *openAIClient, rec *fineTuneRecord, seen map[string]bool) (int, error) {
	var fresh []openai.FineTuningJobEvent
	params := openai.FineTuningJobListEventsParams{Limit: openai.Int(100)}
pages:
	for range 1000 {
		page, err := c.jobs.ListEvents(ctx, rec.JobID, params)
		if err != nil {
			return 0, c.wrap("listing events of fine-tuning job "+rec.JobID, err)
		}
		for _, e := range page.Data {
			if e.ID == rec.LastEventID || seen[e.ID] {
				break pages
			}
			fresh = append(fresh, e)
		}
		if !page.HasMore || len(page.Data) == 0 {
			break
		}
		params.After = openai.String(page.Data[len(page.Data)-1].ID)
	}
	for i := len(fresh) - 1; i >= 0; i-- {
		e := fresh[i]
		seen[e.ID] = true
		ev := FineTuneEvent{
			JobID:     rec.JobID,
			ID:        e.ID,
			CreatedAt: time.Unix(e.CreatedAt, 0).UTC(),
			Level:     string(e.Level),
			Type:      string(e.Type),
			Message:   e.Message,
		}
		if raw := e.JSON.Data.Raw(); raw != "" && raw != "null" {
			_ = json.Unmarshal([]byte(raw), &ev.Data)
		}
		if f.OnEvent != nil {
			f.OnEvent(ev)
		}
		msg := ev.Message
		if msg == "" && ev.Data != nil {
			b, _ := json.Marshal(ev.Data)
			msg = string(b)
		}
		f.logf("fine-tune %s: [%s] %s", rec.JobID, ev.Level, msg)
		rec.LastEventID = e.ID
	}
	return len(fresh), nil
}

// jobHyperparameters reads the values the job ran with from
// method.supervised.hyperparameters, or from the deprecated top-level
// hyperparameters when the server sends only those; a value the job still
// reports as "auto" keeps its resolved estimate.
func jobHyperparameters(job *openai.FineTuningJob, resolved Hyperparameters) Hyperparameters {
	sup := job.Method.Supervised.Hyperparameters
	epochs, batch, lrm := sup.NEpochs.RawJSON(), sup.BatchSize.RawJSON(), sup.LearningRateMultiplier.RawJSON()
	if epochs == "" && batch == "" && lrm == "" {
		top := job.Hyperparameters
		epochs, batch, lrm = top.NEpochs.RawJSON(), top.BatchSize.RawJSON(), top.LearningRateMultiplier.RawJSON()
	}
	h := resolved
	if n, err := strconv.Atoi(epochs); err == nil {
		h.Epochs = n
	}
	if n, err := strconv.Atoi(batch); err == nil {
		h.BatchSize = n
	}
	if x, err := strconv.ParseFloat(lrm, 64); err == nil {
		h.LearningRateMultiplier = x
	}
	return h
}

// result is the FineTuned of a succeeded record.
func (f *OpenAIFineTuner) result(rec *fineTuneRecord) (*FineTuned, error) {
	// A model that cannot be asked (its base shut down since, say) is an
	// error here, not a FineTuned without a Model for a worker to trip on.
	var m Model
	var err error
	if f.Batch != nil {
		m, err = NewBatchModel(f.Config, rec.ModelID, *f.Batch)
	} else {
		m, err = NewOpenAIModel(f.Config, rec.ModelID)
	}
	if err != nil {
		return nil, fmt.Errorf("ragvsft: fine-tuned model %s of job %s: %w", rec.ModelID, rec.JobID, err)
	}
	return &FineTuned{
		Model:           m,
		ModelID:         rec.ModelID,
		JobID:           rec.JobID,
		Hyperparameters: rec.Hyperparameters,
		TrainedTokens:   rec.TrainedTokens,
	}, nil
}

func (f *OpenAIFineTuner) logf(format string, args ...any) {
	if f.Out != nil {
		fmt.Fprintf(f.Out, format+"\n", args...)
	}
}
