package ragvsfttest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ragvsft/ragvsft"
)

// Job statuses, as OpenAI names them.
const (
	statusValidating = "validating_files"
	statusQueued     = "queued"
	statusRunning    = "running"
	statusSucceeded  = "succeeded"
	statusFailed     = "failed"
	statusCancelled  = "cancelled"
)

// snapshotDate matches the date that ends a dated snapshot's id, as in
// gpt-4.1-mini-2025-04-14.
var snapshotDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// fineTunable reports whether a job may start from model on day now: the
// catalog knows it as fine-tunable and not shut down, and model is the
// catalog's alias itself or a dated snapshot of it (not any id that merely
// starts like it).
func fineTunable(model string, now time.Time) bool {
	info, ok := catalog.Lookup(model)
	if !ok || !info.FineTunable || info.ShutDownBy(now) {
		return false
	}
	if _, exact := catalog[model]; exact {
		return true
	}
	alias := ""
	for k := range catalog {
		if strings.HasPrefix(model, k+"-") && len(k) > len(alias) {
			alias = k
		}
	}
	return alias != "" && snapshotDate.MatchString(model[len(alias)+1:])
}

// maxSeed is the largest seed OpenAI accepts (its spec: 0 to 2147483647).
const maxSeed = 2147483647

// maxSuffix is the longest suffix OpenAI accepts, in characters.
const maxSuffix = 64

// typeForbidden is the error type OpenAI gives its documented 403
// (unsupported_country_region_territory).
const typeForbidden = "request_forbidden"

// refusedMessage is the refusal of a job to an organization that may no
// longer fine-tune. OpenAI has not published the body of this refusal;
// users report a permission error (403) since 2026-05-07 (for example
// github.com/ed-donner/llm_engineering issue 3258). The shape is that of
// OpenAI's documented 403, with no code: the message is ours, its facts
// are those of OpenAI's deprecations page.
const refusedMessage = "This organization can no longer create fine-tuning jobs: self-serve fine-tuning is being wound down " +
	"(see https://developers.openai.com/api/docs/deprecations)."

// event is one fine-tuning job event.
type event struct {
	ID        string         `json:"id"`
	Object    string         `json:"object"`
	CreatedAt int64          `json:"created_at"`
	Level     string         `json:"level"`
	Message   string         `json:"message"`
	Type      string         `json:"type"`
	Data      map[string]any `json:"data"`
}

// job is a fine-tuning job. Its fields are guarded by OpenAIServer.mu.
type job struct {
	view   jobView
	hp     requestedHyperparameters
	events []event // oldest first
	cancel context.CancelFunc
	// checkpoints are the last epochs', oldest first (checkpoints.go).
	checkpoints []checkpoint
}

// jobView is a job as the API shows it.
type jobView struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	CreatedAt          int64             `json:"created_at"`
	Error              *JobError         `json:"error"`
	FineTunedModel     *string           `json:"fine_tuned_model"`
	FinishedAt         *int64            `json:"finished_at"`
	Hyperparameters    map[string]any    `json:"hyperparameters"`
	Model              string            `json:"model"`
	OrganizationID     string            `json:"organization_id"`
	ResultFiles        []string          `json:"result_files"`
	Seed               int64             `json:"seed"`
	Status             string            `json:"status"`
	TrainedTokens      *int64            `json:"trained_tokens"`
	TrainingFile       string            `json:"training_file"`
	ValidationFile     *string           `json:"validation_file"`
	EstimatedFinish    *int64            `json:"estimated_finish"`
	Integrations       []any             `json:"integrations"`
	Metadata           map[string]string `json:"metadata"`
	Method             map[string]any    `json:"method"`
	UserProvidedSuffix *string           `json:"user_provided_suffix"`
}

// requestedHyperparameters holds what the request asked; zero means "auto".
type requestedHyperparameters struct {
	epochs    int
	batchSize int
	lrm       float64
}

type hyperparametersIn struct {
	NEpochs                json.RawMessage `json:"n_epochs"`
	BatchSize              json.RawMessage `json:"batch_size"`
	LearningRateMultiplier json.RawMessage `json:"learning_rate_multiplier"`
}

type createJobRequest struct {
	Model           string             `json:"model"`
	TrainingFile    string             `json:"training_file"`
	ValidationFile  *string            `json:"validation_file"`
	Suffix          *string            `json:"suffix"`
	Seed            json.RawMessage    `json:"seed"`
	Hyperparameters *hyperparametersIn `json:"hyperparameters"`
	Method          *struct {
		Type       string `json:"type"`
		Supervised *struct {
			Hyperparameters *hyperparametersIn `json:"hyperparameters"`
		} `json:"supervised"`
	} `json:"method"`
	Metadata map[string]string `json:"metadata"`
}

// errClosed refuses a job on a server that is shutting down.
var errClosed = errors.New("the server is shutting down: no new job can start")

// errRefused refuses a job to an organization that may no longer
// fine-tune (ServerConfig.RefuseFineTuning).
var errRefused = errors.New(refusedMessage)

// paramError is a 400 about one request parameter.
type paramError struct{ param, code, msg string }

func (e *paramError) Error() string { return e.msg }

// parseAuto reads a hyperparameter that is "auto", absent or a number in
// [lo, hi]; 0 means auto.
func parseAuto(raw json.RawMessage, param string, lo, hi float64, integer bool) (float64, error) {
	if len(raw) == 0 || string(raw) == "null" || string(raw) == `"auto"` {
		return 0, nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, &paramError{param, "invalid_type", fmt.Sprintf("Invalid type for '%s': expected \"auto\" or a number, but got %s.", param, raw)}
	}
	if integer && v != math.Trunc(v) {
		return 0, &paramError{param, "invalid_type", fmt.Sprintf("Invalid type for '%s': expected an integer, but got %s.", param, raw)}
	}
	if v < lo || v > hi {
		return 0, &paramError{param, "invalid_value", fmt.Sprintf("Invalid '%s': expected a value between %g and %g, but got %s.", param, lo, hi, raw)}
	}
	return v, nil
}

func parseHyperparameters(in *hyperparametersIn, prefix string) (requestedHyperparameters, error) {
	var hp requestedHyperparameters
	if in == nil {
		return hp, nil
	}
	e, err := parseAuto(in.NEpochs, prefix+"n_epochs", 1, 50, true)
	if err != nil {
		return hp, err
	}
	b, err := parseAuto(in.BatchSize, prefix+"batch_size", 1, 256, true)
	if err != nil {
		return hp, err
	}
	l, err := parseAuto(in.LearningRateMultiplier, prefix+"learning_rate_multiplier", math.SmallestNonzeroFloat64, 10, false)
	if err != nil {
		return hp, err
	}
	return requestedHyperparameters{epochs: int(e), batchSize: int(b), lrm: l}, nil
}

// parseSeed reads an optional seed: an integer in [0, maxSeed].
func parseSeed(raw json.RawMessage) (*int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil || v != math.Trunc(v) {
		return nil, &paramError{"seed", "invalid_type", fmt.Sprintf("Invalid type for 'seed': expected an integer, but got %s instead.", raw)}
	}
	switch {
	case v < 0:
		return nil, &paramError{"seed", "integer_below_min_value", fmt.Sprintf("Invalid 'seed': integer below minimum value. Expected a value >= 0, but got %s instead.", raw)}
	case v > maxSeed:
		return nil, &paramError{"seed", "integer_above_max_value", fmt.Sprintf("Invalid 'seed': integer above maximum value. Expected a value <= %d, but got %s instead.", maxSeed, raw)}
	}
	n := int64(v)
	return &n, nil
}

// parseSuffix reads an optional suffix: 1 to maxSuffix characters (not
// bytes), without ':', which separates the parts of a fine-tune's id.
func parseSuffix(p *string) (string, error) {
	if p == nil {
		return "", nil
	}
	switch n := utf8.RuneCountInString(*p); {
	case n == 0:
		return "", &paramError{"suffix", "string_below_min_length", "Invalid 'suffix': string too short. Expected a string with minimum length 1, but got an empty string instead."}
	case n > maxSuffix:
		return "", &paramError{"suffix", "string_above_max_length", fmt.Sprintf("Invalid 'suffix': string too long. Expected a string with maximum length %d, but got a string with length %d instead.", maxSuffix, n)}
	}
	if strings.Contains(*p, ":") {
		return "", &paramError{"suffix", "invalid_value", "Invalid 'suffix': it may not contain ':'."}
	}
	return *p, nil
}

// resolve fills "auto" hyperparameters from the number of training
// examples, as OpenAI does (see ragvsft.Hyperparameters.Resolve).
func (hp requestedHyperparameters) resolve(nExamples int) ragvsft.Hyperparameters {
	return ragvsft.Hyperparameters{Epochs: hp.epochs, BatchSize: hp.batchSize, LearningRateMultiplier: hp.lrm}.Resolve(nExamples)
}

func hyperparametersJSON(hp ragvsft.Hyperparameters, req requestedHyperparameters) map[string]any {
	m := map[string]any{"n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto"}
	if hp.Epochs > 0 {
		m["n_epochs"] = hp.Epochs
	} else if req.epochs > 0 {
		m["n_epochs"] = req.epochs
	}
	if hp.BatchSize > 0 {
		m["batch_size"] = hp.BatchSize
	} else if req.batchSize > 0 {
		m["batch_size"] = req.batchSize
	}
	if hp.LearningRateMultiplier > 0 {
		m["learning_rate_multiplier"] = hp.LearningRateMultiplier
	} else if req.lrm > 0 {
		m["learning_rate_multiplier"] = req.lrm
	}
	return m
}

func (j *job) setHyperparameters(hp ragvsft.Hyperparameters) {
	h := hyperparametersJSON(hp, j.hp)
	j.view.Hyperparameters = h
	j.view.Method = map[string]any{"type": "supervised", "supervised": map[string]any{"hyperparameters": h}}
}

func (s *OpenAIServer) createJob(w http.ResponseWriter, r *http.Request) {
	var req createJobRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		badRequest(w, "", "", "We could not parse the JSON body of your request: "+err.Error())
		return
	}
	j, err := s.newJob(req)
	var pe *paramError
	switch {
	case errors.Is(err, errRefused):
		writeError(w, http.StatusForbidden, typeForbidden, "", "", err.Error())
		return
	case errors.As(err, &pe):
		badRequest(w, pe.param, pe.code, pe.msg)
		return
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, typeServer, "server_error", "", err.Error())
		return
	}
	s.mu.Lock()
	v := j.view
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, &v)
}

// newJob validates a create request and starts the job.
func (s *OpenAIServer) newJob(req createJobRequest) (*job, error) {
	s.mu.Lock()
	refused := s.refuseFT
	s.mu.Unlock()
	if refused {
		// The organization is refused before its request is read.
		return nil, errRefused
	}
	if req.Model == "" {
		return nil, &paramError{"model", "", "Missing required parameter: 'model'."}
	}
	if req.TrainingFile == "" {
		return nil, &paramError{"training_file", "", "Missing required parameter: 'training_file'."}
	}
	hp, err := parseHyperparameters(req.Hyperparameters, "hyperparameters.")
	if err != nil {
		return nil, err
	}
	deprecated := req.Hyperparameters != nil
	if m := req.Method; m != nil {
		if m.Type != "" && m.Type != "supervised" {
			return nil, &paramError{"method.type", "unsupported_value", fmt.Sprintf("This server supports only the 'supervised' method, not %q.", m.Type)}
		}
		if m.Supervised != nil && m.Supervised.Hyperparameters != nil {
			if req.Hyperparameters != nil {
				return nil, &paramError{"hyperparameters", "", "Give hyperparameters either in 'hyperparameters' or in 'method.supervised.hyperparameters', not both."}
			}
			if hp, err = parseHyperparameters(m.Supervised.Hyperparameters, "method.supervised.hyperparameters."); err != nil {
				return nil, err
			}
		}
	}
	suffix, err := parseSuffix(req.Suffix)
	if err != nil {
		return nil, err
	}
	reqSeed, err := parseSeed(req.Seed)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(req.Model, "ft:") {
		// The local trainer always starts from the base model.
		return nil, &paramError{"model", "model_not_available", fmt.Sprintf("This server cannot continue training a fine-tuned model (%s); fine-tune a base model instead.", req.Model)}
	}
	if !fineTunable(req.Model, s.now()) {
		// OpenAI's answer for a model that is shut down, cannot be
		// fine-tuned or does not exist.
		return nil, &paramError{"model", "model_not_available", fmt.Sprintf("Model %s is not available for fine-tuning or does not exist.", req.Model)}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	now := time.Now()
	if err := s.checkFileLocked(req.TrainingFile, "training_file", now); err != nil {
		return nil, err
	}
	if req.ValidationFile != nil && *req.ValidationFile != "" {
		if err := s.checkFileLocked(*req.ValidationFile, "validation_file", now); err != nil {
			return nil, err
		}
	} else {
		req.ValidationFile = nil
	}
	seed := rand.Int64N(maxSeed + 1)
	if reqSeed != nil {
		seed = *reqSeed
	}
	ctx, cancel := context.WithCancel(s.ctx)
	j := &job{hp: hp, cancel: cancel}
	j.view = jobView{
		ID:             newID("ftjob-", 24),
		Object:         "fine_tuning.job",
		CreatedAt:      time.Now().Unix(),
		Model:          req.Model,
		OrganizationID: "org-ragvsft",
		ResultFiles:    []string{},
		Seed:           seed,
		Status:         statusValidating,
		TrainingFile:   req.TrainingFile,
		ValidationFile: req.ValidationFile,
		Integrations:   []any{},
		Metadata:       req.Metadata,
	}
	if req.Suffix != nil {
		j.view.UserProvidedSuffix = &suffix
	}
	j.setHyperparameters(ragvsft.Hyperparameters{})
	s.jobs[j.view.ID] = j
	s.jobOrder = append(s.jobOrder, j.view.ID)
	s.stats.JobsCreated++
	if deprecated {
		s.stats.DeprecatedHyperparameters++
	}
	s.addEventLocked(j, "info", "message", "Created fine-tuning job: "+j.view.ID, nil)
	s.addEventLocked(j, "info", "message", "Validating training file: "+req.TrainingFile, nil)
	s.wg.Add(1)
	go s.runJob(ctx, j, suffix)
	return j, nil
}

// checkFileLocked refuses a job on a file that is unknown, not meant for
// fine-tuning, or not processed at time now. The message for a file still
// being processed is OpenAI's, as its clients have reported it.
func (s *OpenAIServer) checkFileLocked(id, param string, now time.Time) error {
	f, ok := s.files[id]
	if !ok {
		return &paramError{param, "", fmt.Sprintf("invalid %s: %s", param, id)}
	}
	if f.Purpose != "fine-tune" {
		return &paramError{param, "", fmt.Sprintf("File %s has purpose '%s', but fine-tuning needs a file with purpose 'fine-tune'.", id, f.Purpose)}
	}
	switch v := f.at(now); v.Status {
	case fileUploaded:
		return &paramError{param, "", fmt.Sprintf("File '%s' is still being processed and is not ready to be used for fine-tuning. Please try again later.", id)}
	case fileError:
		return &paramError{param, "", fmt.Sprintf("File '%s' could not be processed and cannot be used for fine-tuning: %s", id, *v.StatusDetails)}
	}
	return nil
}

func (s *OpenAIServer) addEventLocked(j *job, level, typ, msg string, data map[string]any) {
	j.events = append(j.events, event{
		ID:        newID("ftevent-", 24),
		Object:    "fine_tuning.job.event",
		CreatedAt: time.Now().Unix(),
		Level:     level,
		Message:   msg,
		Type:      typ,
		Data:      data,
	})
}

func terminal(status string) bool {
	return status == statusSucceeded || status == statusFailed || status == statusCancelled
}

// transition moves a job that is still live to status, running fn under the
// lock; it reports false if the job already ended (cancelled).
func (s *OpenAIServer) transition(j *job, status string, fn func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if terminal(j.view.Status) {
		return false
	}
	j.view.Status = status
	if terminal(status) {
		now := time.Now().Unix()
		j.view.FinishedAt = &now
	}
	if fn != nil {
		fn()
	}
	return true
}

func (s *OpenAIServer) failJob(j *job, e JobError) {
	s.transition(j, statusFailed, func() {
		j.view.Error = &e
		s.addEventLocked(j, "error", "message", e.Message, nil)
	})
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// runJob drives a job through OpenAI's states: validating_files, queued,
// running, then succeeded or failed. Cancellation ends it at any point.
func (s *OpenAIServer) runJob(ctx context.Context, j *job, suffix string) {
	defer s.wg.Done()
	defer j.cancel()
	step := s.cfg.JobStepDelay
	if !sleep(ctx, step) {
		return
	}
	s.mu.Lock()
	trainingFile := s.files[j.view.TrainingFile]
	var validationFile *file
	if j.view.ValidationFile != nil {
		validationFile = s.files[*j.view.ValidationFile]
	}
	s.mu.Unlock()
	if trainingFile == nil {
		s.failJob(j, JobError{Code: "invalid_training_file", Param: "training_file", Message: "The training file was deleted before it could be validated."})
		return
	}
	training, jerr := validateTrainingFile(trainingFile.content, trainingFile.ID, "training_file")
	if jerr != nil {
		s.failJob(j, *jerr)
		return
	}
	var validation ragvsft.Dataset
	if validationFile != nil {
		v, jerr := validateTrainingFile(validationFile.content, validationFile.ID, "validation_file")
		if jerr != nil {
			s.failJob(j, *jerr)
			return
		}
		validation = v
	}
	hp := j.hp.resolve(training.Len())
	if !s.transition(j, statusQueued, func() {
		j.setHyperparameters(hp)
		s.addEventLocked(j, "info", "message", "Files validated, moving job to queued state", nil)
	}) {
		return
	}
	if !sleep(ctx, step) {
		return
	}
	var model string
	if !s.transition(j, statusRunning, func() {
		s.addEventLocked(j, "info", "message", "Fine-tuning job started", nil)
		model = j.view.Model
	}) {
		return
	}
	if e, fail := s.takeJobFailure(); fail {
		if sleep(ctx, step) {
			s.failJob(j, e)
		}
		return
	}

	// Steps count batches, as OpenAI's do; one metrics event ends each epoch.
	perEpoch := (training.Len() + hp.BatchSize - 1) / hp.BatchSize
	onEpoch := func(epoch int, loss float64) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if terminal(j.view.Status) {
			return // cancelled: no event after the cancellation's
		}
		step, total := epoch*perEpoch, hp.Epochs*perEpoch
		s.addEventLocked(j, "info", "metrics", fmt.Sprintf("Step %d/%d: training loss=%.4f", step, total, loss),
			map[string]any{"step": step, "total_steps": total, "train_loss": loss})
	}
	trainer := s.newFineTuner(j.view.Seed, onEpoch)
	res, snapshots, err := train(ctx, trainer, ragvsft.FineTuneRequest{
		BaseModel:       model,
		Training:        training,
		Validation:      validation,
		Hyperparameters: hp,
		Suffix:          suffix,
		Seed:            j.view.Seed,
	})
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		s.failJob(j, JobError{Code: "server_error", Message: "Training failed: " + err.Error()})
		return
	}
	sum := sha256.Sum256([]byte(j.view.ID))
	ftID := fmt.Sprintf("ft:%s:ragvsft:%s:%s", model, suffix, hex.EncodeToString(sum[:])[:8])
	tokens := int64(res.TrainedTokens)
	if tokens == 0 {
		tokens = int64(approxTokensDataset(training)) * int64(hp.Epochs)
	}
	s.transition(j, statusSucceeded, func() {
		var csv strings.Builder
		csv.WriteString("step,train_loss\n")
		for _, e := range j.events {
			if e.Type == "metrics" {
				fmt.Fprintf(&csv, "%v,%v\n", e.Data["step"], e.Data["train_loss"])
			}
		}
		rf := &file{ID: newID("file-", 22), Object: "file", Bytes: csv.Len(), CreatedAt: time.Now().Unix(),
			Filename: "step_metrics.csv", Purpose: "fine-tune-results", content: []byte(csv.String())}
		s.addFileLocked(rf)
		s.models[ftID] = res.Model
		s.modelCreated[ftID] = time.Now().Unix()
		s.addCheckpointsLocked(j, suffix, snapshots)
		j.view.FineTunedModel = &ftID
		j.view.TrainedTokens = &tokens
		j.view.ResultFiles = []string{rf.ID}
		s.addEventLocked(j, "info", "message", "New fine-tuned model created: "+ftID, nil)
		s.addEventLocked(j, "info", "message", "The job has successfully completed", nil)
	})
}

func (s *OpenAIServer) lookupJob(w http.ResponseWriter, id string) (*job, bool) {
	s.mu.Lock()
	j, ok := s.jobs[id]
	s.mu.Unlock()
	if !ok {
		notFound(w, "id", "", fmt.Sprintf("Could not find fine-tune: %s", id))
	}
	return j, ok
}

func (s *OpenAIServer) getJob(w http.ResponseWriter, r *http.Request) {
	j, ok := s.lookupJob(w, r.PathValue("id"))
	if !ok {
		return
	}
	s.mu.Lock()
	v := j.view
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, &v)
}

func (s *OpenAIServer) cancelJob(w http.ResponseWriter, r *http.Request) {
	j, ok := s.lookupJob(w, r.PathValue("id"))
	if !ok {
		return
	}
	if !s.transition(j, statusCancelled, func() {
		s.stats.JobsCancelled++
		s.addEventLocked(j, "info", "message", "Fine-tuning job cancelled", nil)
	}) {
		s.mu.Lock()
		st := j.view.Status
		s.mu.Unlock()
		badRequest(w, "", "", fmt.Sprintf("Job %s has already completed: status %s.", j.view.ID, st))
		return
	}
	j.cancel()
	s.mu.Lock()
	v := j.view
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, &v)
}

// listJobs lists jobs newest first, with OpenAI's after/limit cursor and
// metadata filter (metadata[k]=v).
func (s *OpenAIServer) listJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := parseLimit(w, q.Get("limit"), 20, 100)
	if !ok {
		return
	}
	s.mu.Lock()
	var all []*jobView
	for i := len(s.jobOrder) - 1; i >= 0; i-- {
		j := s.jobs[s.jobOrder[i]]
		if matchesMetadata(j.view.Metadata, q) {
			v := j.view
			all = append(all, &v)
		}
	}
	s.mu.Unlock()
	id := func(v *jobView) string { return v.ID }
	page, more := paginate(all, q.Get("after"), limit, id)
	writeList(w, page, more, id)
}

func matchesMetadata(md map[string]string, q map[string][]string) bool {
	for k, vs := range q {
		key, ok := strings.CutPrefix(k, "metadata[")
		if !ok || !strings.HasSuffix(key, "]") {
			continue
		}
		if md[strings.TrimSuffix(key, "]")] != vs[0] {
			return false
		}
	}
	return true
}

// listEvents lists a job's events newest first, as OpenAI does, with the
// after/limit cursor.
func (s *OpenAIServer) listEvents(w http.ResponseWriter, r *http.Request) {
	listNewestFirst(s, w, r, 20, func(j *job) []event { return j.events }, func(e event) string { return e.ID })
}

// listNewestFirst answers a list of one job's items (oldest first in the
// job, as items returns them under the server's lock) newest first, with
// OpenAI's after/limit cursor and defaultLimit when none is given.
func listNewestFirst[T any](s *OpenAIServer, w http.ResponseWriter, r *http.Request, defaultLimit int, items func(*job) []T, id func(T) string) {
	j, ok := s.lookupJob(w, r.PathValue("id"))
	if !ok {
		return
	}
	q := r.URL.Query()
	limit, ok := parseLimit(w, q.Get("limit"), defaultLimit, 100)
	if !ok {
		return
	}
	s.mu.Lock()
	all := slices.Clone(items(j))
	s.mu.Unlock()
	slices.Reverse(all)
	page, more := paginate(all, q.Get("after"), limit, id)
	writeList(w, page, more, id)
}
