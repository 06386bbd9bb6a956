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
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CommandFineTuner fine-tunes with a training command of your own (a script
// around TRL, Unsloth, Axolotl, a cloud CLI...), keeps a record so that no
// job is trained twice, and returns the trained model as an OpenAIModel on
// the endpoint that serves it, optionally loading it there first as a vLLM
// LoRA adapter.
//
// # What the command receives
//
// FineTune checks the training (and validation) data exactly as
// OpenAIFineTuner does (at least 10 examples, OpenAI's chat format rules,
// and the base model's context limit when Serving.Catalog or DefaultCatalog
// knows the model),
// resolves "auto" hyperparameters (Hyperparameters.Resolve), and writes,
// under RunDir/finetune-<key>/:
//
//	training.jsonl    the training file, OpenAI chat fine-tuning JSONL as
//	                  WriteJSONL writes it
//	validation.jsonl  the validation file, only when the request has one
//	job.json          a CommandJob: the files' absolute paths, base model,
//	                  resolved hyperparameters, seed, suffix, output
//	                  directory and key
//	output/           the command's own directory: ragvsft never deletes
//	                  or cleans it, so a rerun of the same key may resume
//	                  from checkpoints the command left there
//
// It then runs Command exactly as given (Command[0] is looked up in PATH,
// no argument is added) in Dir, with this process's environment plus Env
// plus RAGVSFT_JOB_FILE (CommandJobEnv), the absolute path of job.json.
//
// # What the command prints
//
// Standard error is progress for humans: each line goes to Out. Standard
// output is for FineTune:
//
//   - A line that is a JSON object with a "type" field is an event,
//     delivered to OnEvent as a FineTuneEvent and printed to Out:
//     {"type":"metrics","step":3,"train_loss":0.41} (every field but
//     "type" goes to Data), or {"type":"message","level":"warn",
//     "message":"..."} (level defaults to "info").
//   - Other lines go to Out, as standard error does.
//   - The last non-empty line must be the result, a CommandResult: one
//     JSON object without "type", {"model": "NAME", "adapter_path": "DIR",
//     "trained_tokens": N, "hyperparameters": {...}}. "model" is required:
//     the name the serving endpoint answers to (with LoadLoRA, the
//     lora_name the adapter is loaded under). "adapter_path" is required
//     with LoadLoRA: the adapter's directory as the serving server sees it
//     (a relative path is taken relative to the output directory). The
//     others are optional: "trained_tokens" (tokens trained on, epochs
//     included; absent means unknown, 0) and "hyperparameters" (the values
//     the command really used; absent fields keep the resolved values it
//     was given). Unknown fields are refused, so a misspelt one is
//     caught.
//
// Exit status 0 with a result line is success. A non-zero exit status
// returns a *CommandError with the status and the last lines of standard
// error; exit 0 without a result line is an error too. Cancelling ctx
// sends SIGTERM to the command's process group (on Unix; the command alone
// elsewhere), SIGKILL to the process after KillGrace, SIGKILL to the group
// once the command is gone, and returns an error wrapping ctx's error.
// Being in a group of its own, the command does not get a terminal's
// Ctrl-C directly: cancel ctx on SIGINT (signal.NotifyContext) to stop it.
//
// # Keys and records
//
// A job's key is a hash of what OpenAIFineTuner keys a job by (the
// training and validation files' bytes, base model, hyperparameters as
// requested, suffix and seed) and of Command. Dir and Env are neither
// keyed nor recorded, so keep secrets out of Command and in Env, and change
// Command (or Suffix) to train again. The record RunDir/finetune-<key>.json
// is written before the command starts (status "running", then its pid),
// and when it ends ("succeeded" with the model, or "failed" or "cancelled"
// with the error). FineTune with a key whose record succeeded returns its
// model without running anything (FineTuned.Reused); a failed or
// cancelled record, or one left "running" by a process that is gone (a
// crash), is run again, and Out says so. A record "running" under a live
// process is refused, so one job never trains twice at once.
//
// # Serving
//
// The result is an OpenAIModel named after the result's "model" on
// Serving, the endpoint that serves the trained model (vLLM, Ollama, a
// llama.cpp server...). Serving needs an APIKey even for a server that
// checks none (vLLM's docs use "EMPTY"). With LoadLoRA, FineTune first
// POSTs {"lora_name": model, "lora_path": adapter_path} to Serving's
// BaseURL + "/load_lora_adapter", vLLM's runtime LoRA endpoint (vllm
// serve --enable-lora, with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True in its
// environment); it does so on every FineTune, a reused job included, since
// a restarted server forgets its adapters, and vLLM's answer that the
// adapter "has already been loaded" counts as success.
//
// The zero value is not usable: Command and RunDir are required, and
// Serving needs an APIKey. Use one CommandFineTuner from one goroutine at a
// time.
type CommandFineTuner struct {
	// Command is the training command and its arguments, e.g.
	// []string{"python", "train_lora.py"}.
	Command []string
	// Dir is the command's working directory; "" is this process's.
	Dir string
	// Env holds "KEY=value" entries added to the command's environment.
	Env []string
	// RunDir keeps the records and each job's files; required.
	RunDir string
	// Serving is the OpenAI-compatible endpoint that serves the trained
	// model.
	Serving OpenAIConfig
	// LoadLoRA loads the result into Serving's vLLM as a LoRA adapter
	// before returning.
	LoadLoRA bool
	// OnEvent, if set, receives the command's events in order, from one
	// goroutine at a time.
	OnEvent func(FineTuneEvent)
	// Out, if set, receives the command's progress lines and one line per
	// step of FineTune.
	Out io.Writer
	// KillGrace is how long a cancelled command may take to exit after
	// SIGTERM before it is killed, and how long output is awaited from
	// children a finished command left behind; 0 means 10 s.
	KillGrace time.Duration
}

var _ FineTuner = (*CommandFineTuner)(nil)

// CommandJobEnv is the environment variable that gives a training command
// the path of its job file (a CommandJob as JSON).
const CommandJobEnv = "RAGVSFT_JOB_FILE"

// CommandJobVersion is the version of the CommandJob format; a command
// should refuse a job of a version it does not know.
const CommandJobVersion = 1

// CommandJob is the job file a CommandFineTuner hands its command (see
// CommandFineTuner). Every path is absolute.
type CommandJob struct {
	// Version is CommandJobVersion.
	Version int `json:"version"`
	// Key identifies the job; its record is RunDir/finetune-<key>.json.
	Key       string `json:"key"`
	BaseModel string `json:"base_model"`
	// TrainingFile is OpenAI chat fine-tuning JSONL, already validated;
	// TrainingExamples is its number of lines.
	TrainingFile     string `json:"training_file"`
	TrainingExamples int    `json:"training_examples"`
	// ValidationFile is empty when the request has no validation data.
	ValidationFile string `json:"validation_file,omitempty"`
	// Hyperparameters are resolved: no field is 0 ("auto").
	Hyperparameters Hyperparameters `json:"hyperparameters"`
	// Seed is the request's; 0 means the command may choose.
	Seed   int64  `json:"seed"`
	Suffix string `json:"suffix,omitempty"`
	// OutputDir belongs to the command; it exists, and is kept across
	// reruns of the same key.
	OutputDir string `json:"output_dir"`
}

// CommandResult is the JSON line a training command prints last on
// standard output (see CommandFineTuner).
type CommandResult struct {
	// Model is the name the serving endpoint answers to; required.
	Model string `json:"model"`
	// AdapterPath is the adapter's directory, required with LoadLoRA.
	AdapterPath string `json:"adapter_path,omitempty"`
	// TrainedTokens counts the tokens trained on, epochs included; 0 is
	// unknown.
	TrainedTokens int `json:"trained_tokens,omitempty"`
	// Hyperparameters are the values used; absent fields keep the job's.
	Hyperparameters Hyperparameters `json:"hyperparameters,omitzero"`
}

// CommandError is a training command that exited with a non-zero status.
// FineTune returns it; get it with errors.As.
type CommandError struct {
	// Command is the command line, arguments holding spaces or shell
	// characters in Go quotes.
	Command string
	// ExitCode is the exit status, or -1 if a signal ended the command.
	ExitCode int
	// Stderr is the last lines the command wrote to standard error.
	Stderr string
	// Err is the error from os/exec.
	Err error
}

// Error names the command, its exit status and the end of its standard
// error.
func (e *CommandError) Error() string {
	s := fmt.Sprintf("ragvsft: fine-tune command %s failed: %v", e.Command, e.Err)
	if e.Stderr == "" {
		return s + " (nothing on stderr)"
	}
	return s + "; its stderr ends with:\n" + e.Stderr
}

// Unwrap returns the error from os/exec.
func (e *CommandError) Unwrap() error { return e.Err }

// Record statuses of a command job.
const (
	commandRunning   = "running"
	commandSucceeded = "succeeded"
	commandFailed    = "failed"
	commandCancelled = "cancelled"
)

// commandRecord is what RunDir/finetune-<key>.json holds for a command job.
type commandRecord struct {
	Kind            string          `json:"kind"` // "command", beside OpenAI's job records
	Key             string          `json:"key"`
	Command         []string        `json:"command"`
	BaseModel       string          `json:"base_model"`
	Suffix          string          `json:"suffix,omitempty"`
	Seed            int64           `json:"seed,omitempty"`
	Status          string          `json:"status"`
	Host            string          `json:"host,omitempty"`
	PID             int             `json:"pid,omitempty"`
	OutputDir       string          `json:"output_dir"`
	Model           string          `json:"model,omitempty"`
	AdapterPath     string          `json:"adapter_path,omitempty"`
	TrainedTokens   int             `json:"trained_tokens,omitempty"`
	Hyperparameters Hyperparameters `json:"hyperparameters"`
	ExitCode        *int            `json:"exit_code,omitempty"`
	Error           string          `json:"error,omitempty"`
	Estimate        Estimate        `json:"estimate"`
	StartedAt       time.Time       `json:"started_at,omitzero"`
	FinishedAt      time.Time       `json:"finished_at,omitzero"`
}

// stderrTailLines is how many lines of standard error a CommandError keeps.
const stderrTailLines = 20

// FineTune runs the command for req, or returns the model of the job
// already recorded for it. See CommandFineTuner.
func (f *CommandFineTuner) FineTune(ctx context.Context, req FineTuneRequest) (*FineTuned, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(f.Command) == 0 || f.Command[0] == "" {
		return nil, errors.New("ragvsft: command fine-tune: no Command")
	}
	if f.RunDir == "" {
		return nil, errors.New("ragvsft: command fine-tune: no RunDir (it keeps the job records and files)")
	}
	serving, err := f.Serving.client()
	if err != nil {
		return nil, fmt.Errorf("ragvsft: command fine-tune: the serving endpoint: %w", err)
	}
	if f.LoadLoRA && f.Serving.BaseURL == "" {
		return nil, errors.New("ragvsft: command fine-tune: LoadLoRA needs Serving.BaseURL, the vLLM server's /v1 URL")
	}
	p, err := planFineTune(req, f.Serving.Catalog)
	if err != nil {
		return nil, err
	}
	runDir, err := filepath.Abs(f.RunDir)
	if err != nil {
		return nil, fmt.Errorf("ragvsft: command fine-tune: run folder %s: %w", f.RunDir, err)
	}
	key := commandKey(p.key, f.Command)
	j := &commandJob{f: f, key: key, recordPath: filepath.Join(runDir, "finetune-"+key+".json"), dir: filepath.Join(runDir, "finetune-"+key)}
	rec, err := j.previous()
	if err != nil {
		return nil, err
	}
	reused := rec != nil
	if !reused {
		rec, err = j.run(ctx, p)
		if err != nil {
			return nil, err
		}
	}
	ft := &FineTuned{
		ModelID:         rec.Model,
		JobID:           key,
		Hyperparameters: rec.Hyperparameters,
		TrainedTokens:   rec.TrainedTokens,
		Reused:          reused,
	}
	if f.LoadLoRA {
		if err := j.loadLoRA(ctx, serving, rec.Model, rec.AdapterPath); err != nil {
			return nil, err
		}
	}
	m, err := NewOpenAIModel(f.Serving, rec.Model)
	if err != nil {
		return nil, err
	}
	ft.Model = m
	return ft, nil
}

// commandKey hashes what makes two command jobs the same: the OpenAI job's
// key and the command line.
func commandKey(jobKey string, command []string) string {
	canon, _ := json.Marshal(struct {
		Version int      `json:"v"`
		Job     string   `json:"job"`
		Command []string `json:"command"`
	}{1, jobKey, command})
	s := sha256.Sum256(canon)
	return hex.EncodeToString(s[:])
}

// commandJob is one FineTune call's job.
type commandJob struct {
	f          *CommandFineTuner
	key        string
	recordPath string
	dir        string

	outMu sync.Mutex // the stdout and stderr readers both log
}

func (j *commandJob) logf(format string, args ...any) {
	if j.f.Out == nil {
		return
	}
	j.outMu.Lock()
	defer j.outMu.Unlock()
	fmt.Fprintf(j.f.Out, "fine-tune %.12s: "+format+"\n", append([]any{j.key}, args...)...)
}

// previous returns the succeeded record of the job, or nil when the job
// must run: no record, a failed or cancelled one, or one whose process is
// gone. A job still running elsewhere is an error.
func (j *commandJob) previous() (*commandRecord, error) {
	b, err := os.ReadFile(j.recordPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ragvsft: reading fine-tune record %s: %w", j.recordPath, err)
	}
	var rec commandRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("ragvsft: reading fine-tune record %s: %w", j.recordPath, err)
	}
	if rec.Key != j.key || rec.Kind != "command" {
		return nil, fmt.Errorf("ragvsft: fine-tune record %s holds key %q of kind %q, not this command job", j.recordPath, rec.Key, rec.Kind)
	}
	host, _ := os.Hostname()
	switch rec.Status {
	case commandSucceeded:
		j.logf("reusing model %s (record %s)", rec.Model, j.recordPath)
		return &rec, nil
	case commandRunning:
		if rec.Host != "" && rec.Host != host {
			return nil, fmt.Errorf("ragvsft: fine-tune %.12s is recorded as running on host %s (pid %d): wait for it, or remove %s if it is not running", j.key, rec.Host, rec.PID, j.recordPath)
		}
		if rec.PID > 0 && processAlive(rec.PID) {
			return nil, fmt.Errorf("ragvsft: fine-tune %.12s is already running as pid %d (record %s): wait for it, or stop it", j.key, rec.PID, j.recordPath)
		}
		j.logf("left running by pid %d, which is gone (a crash?); running it again", rec.PID)
	default:
		j.logf("the previous attempt %s (%s); running it again", rec.Status, firstLine(rec.Error))
	}
	return nil, nil
}

// save writes the record atomically.
func (j *commandJob) save(rec *commandRecord) error {
	if err := writeAtomic(j.recordPath, rec); err != nil {
		return fmt.Errorf("ragvsft: writing fine-tune record %s: %w", j.recordPath, err)
	}
	return nil
}

// run writes the job's files, runs the command and records its outcome.
func (j *commandJob) run(ctx context.Context, p *fineTunePlan) (*commandRecord, error) {
	f := j.f
	host, _ := os.Hostname()
	rec := &commandRecord{
		Kind: "command", Key: j.key, Command: f.Command,
		BaseModel: p.req.BaseModel, Suffix: p.req.Suffix, Seed: p.req.Seed,
		Status: commandRunning, Host: host, OutputDir: filepath.Join(j.dir, "output"),
		Hyperparameters: p.estimate.Hyperparameters, Estimate: p.estimate, StartedAt: time.Now().UTC(),
	}
	job := CommandJob{
		Version: CommandJobVersion, Key: j.key, BaseModel: p.req.BaseModel,
		TrainingFile: filepath.Join(j.dir, "training.jsonl"), TrainingExamples: p.estimate.Examples,
		Hyperparameters: p.estimate.Hyperparameters, Seed: p.req.Seed, Suffix: p.req.Suffix,
		OutputDir: rec.OutputDir,
	}
	if p.validation != nil {
		job.ValidationFile = filepath.Join(j.dir, "validation.jsonl")
	}
	jobJSON, _ := json.MarshalIndent(job, "", "  ")
	jobFile := filepath.Join(j.dir, "job.json")
	if err := os.MkdirAll(job.OutputDir, 0o755); err != nil {
		return nil, fmt.Errorf("ragvsft: command fine-tune: %w", err)
	}
	for _, w := range []struct {
		path string
		data []byte
	}{{job.TrainingFile, p.training}, {job.ValidationFile, p.validation}, {jobFile, append(jobJSON, '\n')}} {
		if w.path == "" {
			continue
		}
		if err := os.WriteFile(w.path, w.data, 0o644); err != nil {
			return nil, fmt.Errorf("ragvsft: command fine-tune: writing %s: %w", w.path, err)
		}
	}
	// Written before the command starts: RunDir is proven writable before
	// anything is spent, and a crash from here on is detected.
	if err := j.save(rec); err != nil {
		return nil, err
	}

	cmd := exec.CommandContext(ctx, f.Command[0], f.Command[1:]...)
	cmd.Dir = f.Dir
	cmd.Env = append(append(os.Environ(), f.Env...), CommandJobEnv+"="+jobFile)
	stdout := &stdoutReader{j: j}
	stderr := &tailWriter{j: j}
	cmd.Stdout = &lineWriter{line: stdout.line}
	cmd.Stderr = &lineWriter{line: stderr.line}
	grace := f.KillGrace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	startInGroup(cmd)
	cmd.WaitDelay = grace
	name := commandLine(f.Command)
	if err := cmd.Start(); err != nil {
		rec.Status, rec.Error, rec.FinishedAt = commandFailed, err.Error(), time.Now().UTC()
		return nil, errors.Join(fmt.Errorf("ragvsft: starting fine-tune command %s: %w", name, err), j.save(rec))
	}
	rec.PID = cmd.Process.Pid
	j.logf("started %s (pid %d, job %s)", name, rec.PID, jobFile)
	if err := j.save(rec); err != nil {
		cmd.Cancel()
		_ = cmd.Wait()
		return nil, err
	}
	werr := cmd.Wait()
	if ctx.Err() != nil {
		killGroup(cmd)
	}
	cmd.Stdout.(*lineWriter).flush()
	cmd.Stderr.(*lineWriter).flush()
	rec.FinishedAt = time.Now().UTC()
	if ps := cmd.ProcessState; ps != nil {
		code := ps.ExitCode()
		rec.ExitCode = &code
	}

	var runErr error
	switch {
	case ctx.Err() != nil:
		rec.Status = commandCancelled
		runErr = fmt.Errorf("ragvsft: fine-tune command %s (pid %d) was stopped: %w", name, rec.PID, ctx.Err())
	case werr != nil && !(errors.Is(werr, exec.ErrWaitDelay) && cmd.ProcessState.Success()):
		// (A command that exited 0 but left a child holding its output
		// open is waited for KillGrace, then read as it stands.)
		rec.Status = commandFailed
		code := -1
		if ps := cmd.ProcessState; ps != nil {
			code = ps.ExitCode()
		}
		runErr = &CommandError{Command: name, ExitCode: code, Stderr: stderr.tail(), Err: werr}
	default:
		runErr = stdout.result(job, f.LoadLoRA, rec)
		rec.Status = commandSucceeded
		if runErr != nil {
			rec.Status = commandFailed
			runErr = fmt.Errorf("ragvsft: fine-tune command %s: %w", name, runErr)
		}
	}
	if runErr != nil {
		rec.Error = runErr.Error()
		j.logf("%s: %s", rec.Status, firstLine(rec.Error))
		return nil, errors.Join(runErr, j.save(rec))
	}
	j.logf("trained %s (adapter %s)", rec.Model, rec.AdapterPath)
	return rec, j.save(rec)
}

// commandLine is argv as one line, each argument holding spaces or shell
// characters in Go quotes.
func commandLine(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		parts[i] = a
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$`;&|<>(){}*?[]#~") {
			parts[i] = strconv.Quote(a)
		}
	}
	return strings.Join(parts, " ")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// lineWriter splits what a process writes into lines. Lines longer than
// 1 MiB are cut.
type lineWriter struct {
	line func(string)
	buf  []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.buf = append(w.buf, p...)
			if len(w.buf) > 1<<20 {
				w.flush()
			}
			break
		}
		w.buf = append(w.buf, p[:i]...)
		p = p[i+1:]
		w.flush()
	}
	return n, nil
}

// flush hands over the pending line, if any.
func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.line(strings.TrimRight(string(w.buf), "\r"))
	}
	w.buf = w.buf[:0]
}

// tailWriter forwards standard error to Out and keeps its last lines.
type tailWriter struct {
	j     *commandJob
	mu    sync.Mutex
	lines []string
}

func (t *tailWriter) line(s string) {
	t.j.logf("%s", s)
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(s) > 500 {
		s = s[:500] + "..."
	}
	t.lines = append(t.lines, s)
	if len(t.lines) > stderrTailLines {
		t.lines = t.lines[len(t.lines)-stderrTailLines:]
	}
}

func (t *tailWriter) tail() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// stdoutReader reads standard output: events, other lines, and the result,
// which must come last.
type stdoutReader struct {
	j      *commandJob
	events int
	last   string // the last non-empty line
	kind   string // "result", "event" or "text": what last was
}

func (r *stdoutReader) line(s string) {
	if strings.TrimSpace(s) == "" {
		return
	}
	if r.kind == "result" {
		r.j.logf("%s", r.last) // a result line, but not the last one
	}
	r.last, r.kind = s, "text"
	var obj map[string]any
	if !strings.HasPrefix(strings.TrimSpace(s), "{") || json.Unmarshal([]byte(s), &obj) != nil {
		r.j.logf("%s", s)
		return
	}
	typ, isEvent := obj["type"]
	if !isEvent {
		r.kind = "result"
		return
	}
	r.kind = "event"
	r.events++
	ev := FineTuneEvent{
		JobID:     r.j.key,
		ID:        fmt.Sprintf("%.12s-%d", r.j.key, r.events),
		CreatedAt: time.Now().UTC(),
		Level:     "info",
		Type:      fmt.Sprint(typ),
	}
	delete(obj, "type")
	if lv, ok := obj["level"].(string); ok {
		ev.Level = lv
		delete(obj, "level")
	}
	if msg, ok := obj["message"].(string); ok {
		ev.Message = msg
		delete(obj, "message")
	}
	if len(obj) > 0 {
		ev.Data = obj
	}
	if r.j.f.OnEvent != nil {
		r.j.f.OnEvent(ev)
	}
	msg := ev.Message
	if msg == "" {
		b, _ := json.Marshal(ev.Data)
		msg = string(b)
	}
	r.j.logf("[%s] %s: %s", ev.Level, ev.Type, msg)
}

// result checks the last line and copies the result into rec.
func (r *stdoutReader) result(job CommandJob, needAdapter bool, rec *commandRecord) error {
	const want = `the last line on stdout must be one JSON object {"model": NAME, ...}`
	switch r.kind {
	case "":
		return errors.New("it exited 0 but printed nothing on stdout; " + want)
	case "event", "text":
		last := r.last
		if len(last) > 200 {
			last = last[:200] + "..."
		}
		return fmt.Errorf("it exited 0 but printed no result line; %s, the last line was %q", want, last)
	}
	res := CommandResult{Hyperparameters: job.Hyperparameters}
	dec := json.NewDecoder(strings.NewReader(r.last))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil {
		return fmt.Errorf("its result line %q: %w", r.last, err)
	}
	switch {
	case strings.TrimSpace(res.Model) == "":
		return fmt.Errorf(`its result line %q has no "model"`, r.last)
	case needAdapter && res.AdapterPath == "":
		return fmt.Errorf(`its result line %q has no "adapter_path", which LoadLoRA needs`, r.last)
	case res.TrainedTokens < 0:
		return fmt.Errorf(`its result line %q has negative "trained_tokens"`, r.last)
	}
	if res.AdapterPath != "" && !filepath.IsAbs(res.AdapterPath) {
		res.AdapterPath = filepath.Join(job.OutputDir, res.AdapterPath)
	}
	rec.Model, rec.AdapterPath, rec.TrainedTokens, rec.Hyperparameters = res.Model, res.AdapterPath, res.TrainedTokens, res.Hyperparameters
	return nil
}

// loadLoRA asks the serving vLLM to load the adapter at path under name.
func (j *commandJob) loadLoRA(ctx context.Context, c *openAIClient, name, path string) error {
	if path == "" {
		return fmt.Errorf("ragvsft: loading LoRA adapter %s: its record has no adapter_path", name)
	}
	url := strings.TrimRight(c.cfg.BaseURL, "/") + "/load_lora_adapter"
	doing := fmt.Sprintf("loading LoRA adapter %s from %s into %s", name, path, url)
	body, _ := json.Marshal(map[string]string{"lora_name": name, "lora_path": path})
	if t := c.cfg.requestTimeout(); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("ragvsft: %s: %w", doing, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(c.cfg.APIKey))
	hc := c.cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return &openAIError{msg: c.redact(fmt.Sprintf("ragvsft: %s: %v", doing, err)), err: err}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg, vllmShaped := loraErrorMessage(raw)
	switch {
	case resp.StatusCode == http.StatusOK:
		j.logf("loaded LoRA adapter %s from %s", name, path)
		return nil
	case resp.StatusCode == http.StatusBadRequest && strings.Contains(msg, "has already been loaded"):
		j.logf("LoRA adapter %s is already loaded", name)
		return nil
	case resp.StatusCode == http.StatusNotFound && !vllmShaped:
		msg = "the server has no such endpoint: start vLLM with --enable-lora and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True in its environment"
	case resp.StatusCode == http.StatusNotFound:
		msg += " (the path must be one the serving server can read)"
	case resp.StatusCode == http.StatusUnauthorized:
		msg = "the server rejected the API key (check CommandFineTuner.Serving.APIKey)"
	}
	return errors.New(c.redact(fmt.Sprintf("ragvsft: %s: HTTP %d %s: %s", doing, resp.StatusCode, http.StatusText(resp.StatusCode), msg)))
}

// loraErrorMessage reads the message of an error body: vLLM's {"error":
// {"message", "type": "NotFoundError", ...}} (vllmShaped), older vLLMs'
// flat {"message", "type"}, FastAPI's {"detail"}, or the text itself.
func loraErrorMessage(body []byte) (msg string, vllmShaped bool) {
	var e struct {
		Error *struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		} `json:"error"`
		Message string `json:"message"`
		Type    string `json:"type"`
		Detail  any    `json:"detail"`
	}
	if json.Unmarshal(body, &e) == nil {
		switch {
		case e.Error != nil && e.Error.Message != "":
			return e.Error.Message, strings.HasSuffix(e.Error.Type, "Error") || e.Error.Type == "InvalidUserInput"
		case e.Message != "":
			return e.Message, strings.HasSuffix(e.Type, "Error") || e.Type == "InvalidUserInput"
		case e.Detail != nil:
			return fmt.Sprint(e.Detail), false
		}
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 500 {
		s = s[:500] + "..."
	}
	return s, false
}
