package ragvsfttest

import (
	"context"
	crand "crypto/rand"
	"crypto/subtle"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/ragvsft/ragvsft"
)

// DefaultJobStepDelay is how long each stage of a fine-tuning job
// (validating_files, queued) lasts when ServerConfig.JobStepDelay is zero.
const DefaultJobStepDelay = 20 * time.Millisecond

// DefaultFileProcessingDelay is how long an uploaded file stays "uploaded"
// before it is "processed" when ServerConfig.FileProcessingDelay is zero:
// short, but long enough that a client which creates a job without waiting
// for the file is refused, as OpenAI refuses it.
const DefaultFileProcessingDelay = 20 * time.Millisecond

// ServerConfig configures an OpenAIServer. The zero value accepts any API
// key, injects no faults and is backed by the embedded local model.
type ServerConfig struct {
	// APIKey, when set, is the only key accepted, as a bearer token or,
	// under /openai/v1, in Azure's api-key header; other requests get
	// OpenAI's 401. When empty, any non-empty key is accepted.
	APIKey string
	// Faults apply to every request from the start; see also
	// OpenAIServer.InjectFault and OpenAIServer.SetFaults.
	Faults Faults
	// JobStepDelay is how long a fine-tuning job stays in each of the
	// validating_files and queued states, so that clients must poll.
	// Zero means DefaultJobStepDelay.
	JobStepDelay time.Duration
	// FileProcessingDelay is how long an uploaded file's status stays
	// "uploaded" before it becomes "processed"; a fine-tuning job on a file
	// that is not processed yet is refused. Zero means
	// DefaultFileProcessingDelay.
	FileProcessingDelay time.Duration
	// RefuseFineTuning refuses every job creation as OpenAI has refused
	// most organizations since its wind-down of self-serve fine-tuning
	// (403; see OpenAIServer.SetRefuseFineTuning). Files, listing, events
	// and chat with existing fine-tunes keep working.
	RefuseFineTuning bool
	// BatchStepDelay is how long a batch stays validating, and then
	// finalizing or cancelling; BatchInProgressDelay is the least time it
	// stays in_progress (longer if answering its requests takes longer).
	// Zero means DefaultBatchStepDelay and DefaultBatchInProgressDelay.
	BatchStepDelay       time.Duration
	BatchInProgressDelay time.Duration

	// BaseModel answers chat completions for every model id that is not a
	// fine-tune ("ft:..."). Nil means the embedded local model.
	BaseModel ragvsft.Model
	// NewFineTuner returns the trainer of one job, given the job's seed and
	// a function to call after each epoch with its mean training loss.
	// Nil means the embedded local trainer. A trainer that also has
	// ragvsft.LocalFineTuner's FineTuneEpochs method serves a model for each
	// of a job's checkpoints; any other lists only the last epoch's.
	NewFineTuner func(seed int64, onEpoch func(epoch int, loss float64)) ragvsft.FineTuner
	// Models are model ids served besides OpenAI's (the library's
	// ragvsft.DefaultCatalog) and the server's fine-tunes, for chat
	// completions and embeddings alike, e.g. "llama3" for code written for
	// a local server. They never shut down and do not reason. Any other
	// model is 404 model_not_found, as OpenAI answers.
	Models []string
	// Now tells the day for the catalog's shutdown dates: a model shut
	// down by then is refused as OpenAI refuses it, for chat and as a
	// fine-tuning base alike. Nil means the day in the environment
	// variable RAGVSFT_TODAY (YYYY-MM-DD), as the ragvsft library reads it,
	// else time.Now (also for a malformed value, which the library refuses).
	Now func() time.Time

	// Embed computes one embedding for /v1/embeddings; a request for
	// fewer dimensions keeps the first ones, rescaled to unit length. Nil
	// means the embedded local embedding function
	// (ragvsft.NewLocalEmbeddingFunc), which computes any length natively.
	Embed func(ctx context.Context, text string) ([]float32, error)

	// JudgeReply, if set, rewrites the replies of the judging mode (see
	// judge.go's comment and the OpenAIServer doc): it gets the rule's
	// verdict and reason and returns the reply to send, e.g. prose or JSON
	// with a key missing, to test how a judge's malformed output is
	// handled. Nil sends the verdict JSON.
	JudgeReply func(verdict, reason string) string

	// ParaphraseReply, if set, rewrites the replies of the paraphrasing
	// mode (paraphrase.go): it gets the rule's rewordings and returns the
	// reply to send. Nil sends {"paraphrases": [...]}.
	ParaphraseReply func(paraphrases []string) string
}

// Stats counts what an OpenAIServer did. Requests counts every request by
// its route pattern, as "POST /v1/files" or "GET /v1/fine_tuning/jobs/{id}"
// (unknown routes as "POST (unknown)"), including refused and faulted ones;
// the other counters count successful operations only.
type Stats struct {
	Requests      map[string]int
	FilesUploaded int
	JobsCreated   int
	// DeprecatedHyperparameters counts the created jobs whose request gave
	// the deprecated top-level "hyperparameters" rather than
	// method.supervised.hyperparameters.
	DeprecatedHyperparameters int
	JobsCancelled             int
	// BatchesCreated and BatchesCancelled count batches; BatchRequests
	// counts the batch requests answered with status 200 (each is also
	// counted in ChatCompletions or Embeddings, as its route answered it).
	BatchesCreated   int
	BatchesCancelled int
	BatchRequests    int
	ChatCompletions  int
	// Judgements counts the chat choices the judging mode answered.
	Judgements int
	// Paraphrasings counts the chat choices the paraphrasing mode answered.
	Paraphrasings int
	Embeddings    int // embedding requests, not vectors
	// Faults counts injected failures.
	Faults int
}

// OpenAIServer is an HTTP server, or handler, that speaks OpenAI's wire
// format. Create it with NewOpenAIServer (tests) or NewOpenAIHandler (to
// serve it yourself). Its methods are safe for concurrent use. All state
// (files, jobs, fine-tuned models) is in memory and ends with it.
//
// It serves, under /v1 and again under /openai/v1 as Azure OpenAI's v1
// endpoint does (where the key may also come in an api-key header):
//
//   - POST /files (multipart: purpose, file; a fine-tune file must be named
//     *.jsonl), GET /files (purpose, order, after, limit), GET /files/{id},
//     GET /files/{id}/content, DELETE /files/{id}. A new file's status is
//     "uploaded" for ServerConfig.FileProcessingDelay, then "processed", or
//     "error" (with status_details) for a fine-tune file that is not UTF-8
//     text.
//   - POST /fine_tuning/jobs: model (a base model that ragvsft.DefaultCatalog
//     knows to be fine-tunable and not shut down on ServerConfig.Now's day,
//     by its alias or a dated snapshot such as gpt-4.1-mini-2025-04-14;
//     continuing from a fine-tune is refused), training_file and
//     validation_file (uploaded with purpose fine-tune and processed),
//     suffix (1 to 64 characters), seed (0 to 2147483647), metadata, and
//     hyperparameters in method.supervised.hyperparameters or in the
//     deprecated top-level hyperparameters (not both), checked as OpenAI
//     checks them (400 with the offending param). With RefuseFineTuning
//     (or SetRefuseFineTuning) every creation is refused with 403, as
//     OpenAI refuses most organizations now. The job is then driven by time:
//     validating_files (the file is checked with ragvsft.ReadJSONL and
//     OpenAI's minimum of 10 examples; a bad file fails the job with code
//     invalid_training_file or invalid_n_examples), queued, running (the
//     embedded model really trains, one metrics event per epoch with step
//     and train_loss), then succeeded, with "auto" hyperparameters resolved
//     (ragvsft.Hyperparameters.Resolve), fine_tuned_model
//     "ft:BASE:ragvsft:SUFFIX:HASH", trained_tokens and a result file of
//     step metrics (CSV). GET /fine_tuning/jobs (after, limit, metadata[k]),
//     GET /fine_tuning/jobs/{id}, POST /fine_tuning/jobs/{id}/cancel and
//     GET /fine_tuning/jobs/{id}/events (after, limit) list newest first
//     with has_more, as OpenAI does.
//   - GET /fine_tuning/jobs/{id}/checkpoints (after, limit): a succeeded
//     job's checkpoints of its last three epochs, newest first, each with
//     the step (counted in batches, as in the metrics events) and
//     train_loss of its epoch; each checkpoint's model
//     ("ft:BASE:ragvsft:SUFFIX:HASH:ckpt-step-N") answers chat completions
//     as the model was after that epoch, when the trainer can snapshot
//     epochs (the embedded one can); otherwise only the last is listed.
//   - POST /batches {input_file_id, endpoint, completion_window, metadata}:
//     the Batch API, for the endpoints /v1/chat/completions and
//     /v1/embeddings. The input file is one uploaded with purpose batch
//     (named *.jsonl); completion_window must be "24h". A batch is
//     validating for ServerConfig.BatchStepDelay: each line must be a JSON
//     object with a custom_id unique in the file, method POST, url equal to
//     the endpoint and a body naming a model, the same in every line, else
//     the batch is failed with errors.data {code, message, param, line}
//     (codes invalid_json_line, missing_required_parameter,
//     duplicate_custom_id, invalid_method, mismatched_endpoint,
//     mismatched_model, empty_file: ours, in OpenAI's style). Then it is
//     in_progress for at least ServerConfig.BatchInProgressDelay while each
//     request is answered by the endpoint's own route (so by the same
//     models, checks and errors as a synchronous request, without faults
//     or rate limits), request_counts {total, completed, failed} counting
//     them, then finalizing for BatchStepDelay, then completed, with
//     output_file_id (the 200 answers) and error_file_id (the others),
//     each file made only when it has lines. A line is {id, custom_id,
//     response: {status_code, request_id, body}, error}, the body being
//     what the route answered (an error body for a 4xx). GET
//     /batches/{id}; POST /batches/{id}/cancel moves a validating or
//     in_progress batch to cancelling, then cancelled, keeping the answers
//     already made in its output file (a finalizing or ended batch is 400);
//     GET /batches (after, limit 1 to 100, default 20) lists newest first.
//     Faults for the endpoint's path (InjectFault("chat/completions", ...),
//     Faults.Rate) fail single requests of a batch as they fail synchronous
//     ones: the line has the fault's status and error body (a Drop is a
//     line with error {code server_error} and no response).
//     Faults.ExpireBatches and Faults.CancelBatches end the next batches
//     after half their requests, expired (the rest in the error file with
//     error {code batch_expired}, response null) or cancelled;
//     Faults.FailBatches fails them with Faults.BatchError.
//   - POST /chat/completions: the chat models of ragvsft.DefaultCatalog
//     (and the dated snapshots it covers, such as
//     gpt-4.1-mini-2025-04-14) and ServerConfig.Models answer as the base
//     model; a succeeded fine-tune answers as itself. Any other model is
//     404 model_not_found, and so is a model shut down on ServerConfig.Now's
//     day ("The model `gpt-3.5-turbo` has been deprecated, ..."), a
//     fine-tune with its base model. temperature (default 1), seed,
//     max_completion_tokens, max_tokens and n (1 to 128; at a temperature
//     above 0 choice i samples with seed+i) are honoured; stream is sent as
//     server-sent events. Reasoning models (ModelInfo.Reasoning) refuse a
//     temperature other than 1 and max_tokens, as OpenAI does, and reason
//     first: a number of tokens set by the prompt's length (one per prompt
//     token, in blocks of 64), counted in completion_tokens and
//     completion_tokens_details.reasoning_tokens and taken from
//     max_completion_tokens; a budget it exhausts ends the choice with
//     finish_reason "length" and no content. The response carries usage
//     and a system_fingerprint that is stable per model. Prompt caching is
//     OpenAI's: a prompt of 1024 tokens or more (estimated at four bytes
//     each) whose beginning an earlier request to the model had reports
//     that beginning, in steps of 128 tokens, as
//     prompt_tokens_details.cached_tokens. response_format is checked as
//     OpenAI checks it (type text, json_object or json_schema; a
//     json_schema needs a name); the local model writes no JSON, but the
//     judging mode does.
//   - The judging mode: a chat request whose first message holds
//     ragvsft.JudgeMarker and whose last user message has the <question>,
//     <gold> and <answer> sections of ragvsft.DefaultJudgePrompts is
//     answered by a rule, deterministically, for any chat model: the JSON
//     {"verdict", "reason"} of ragvsft.JudgeSchema, "correct" when
//     ragvsft.AutoEvaluator scores the answer right, else "abstained" when
//     the answer declines ("I don't know", "I do not know", "not sure",
//     "cannot answer", "can't answer", "no information"), else "incorrect"
//     with AutoEvaluator's reason. ServerConfig.JudgeReply can make it
//     malformed; Stats.Judgements counts it.
//   - The paraphrasing mode: a chat request whose first message holds
//     ragvsft.ParaphraseMarker and whose last user message has the
//     <question> and <count> sections of ragvsft.DefaultParaphrasePrompts
//     is answered by ragvsft.RuleParaphraser, for any chat model: the JSON
//     {"paraphrases": [...]} of ragvsft.ParaphraseSchema.
//     ServerConfig.ParaphraseReply can make it malformed;
//     Stats.Paraphrasings counts it.
//   - POST /embeddings: the embedding models of ragvsft.DefaultCatalog and
//     ServerConfig.Models, others 404 model_not_found; input as a string or
//     an array of strings; encoding_format float or base64; dimensions.
//     OpenAI's embedding models have OpenAI's lengths (1536 for
//     text-embedding-3-small).
//   - GET /models, GET /models/{id}: the catalog's models still served on
//     the server's day, ServerConfig.Models and the server's succeeded
//     fine-tunes.
//   - POST /load_lora_adapter {"lora_name", "lora_path", "load_inplace"} and
//     POST /unload_lora_adapter {"lora_name"}: vLLM's runtime LoRA API, with
//     vLLM's status codes and bodies (200 and a text body; 400 for missing
//     fields or an adapter already loaded without load_inplace; 404 for a
//     path with no adapter or an unknown name; 500 for a file that is not
//     a saved model). An adapter is a ragvsft.LocalModel saved with
//     WriteTo (lora_path is its file, or a directory holding
//     ragvsft.LocalModelFile); chat completions for lora_name answer as it.
//
// Every error has OpenAI's shape, {"error": {"message", "type", "param",
// "code"}}, and status: 400 invalid_request_error, 401 for a missing or
// wrong key (the message never contains the key; an api-key header outside
// /openai/v1 counts as missing, as at OpenAI), 404, 429
// rate_limit_exceeded or insufficient_quota, 500 server_error.
type OpenAIServer struct {
	// URL is the base URL to give an OpenAI client (OPENAI_BASE_URL), of
	// the form http://127.0.0.1:PORT/v1. AzureURL is the same API as Azure
	// OpenAI's v1 endpoint serves it, http://127.0.0.1:PORT/openai/v1/
	// (for ragvsft.OpenAIConfig with Azure set). Both are empty for a
	// server made with NewOpenAIHandler.
	URL      string
	AzureURL string

	cfg     ServerConfig
	http    *httptest.Server
	mux     *http.ServeMux
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	created time.Time

	mu           sync.Mutex
	closed       bool
	refuseFT     bool
	faults       Faults
	rng          *rand.Rand
	queued       []*queuedFault
	stats        Stats
	files        map[string]*file
	fileOrder    []string
	jobs         map[string]*job
	jobOrder     []string // creation order
	batches      map[string]*batch
	batchOrder   []string                 // creation order
	models       map[string]ragvsft.Model // succeeded fine-tunes by id
	modelCreated map[string]int64
	prompts      promptCache // prefixes of the chat prompts seen

	lora loras // adapters loaded by POST /v1/load_lora_adapter (lora.go)

	base         ragvsft.Model
	newFineTuner func(seed int64, onEpoch func(epoch int, loss float64)) ragvsft.FineTuner
	embed        embedFunc
}

// NewOpenAIServer starts an OpenAIServer on a loopback address. The caller
// should call Close when finished, to shut it down and stop its jobs.
func NewOpenAIServer(cfg ServerConfig) *OpenAIServer {
	s := NewOpenAIHandler(cfg)
	s.http = httptest.NewServer(s)
	s.URL = s.http.URL + "/v1"
	s.AzureURL = s.http.URL + azurePrefix + "/v1/"
	return s
}

// NewOpenAIHandler returns an OpenAIServer that is not listening: serve it
// with an http.Server of your own, at any address, under the paths /v1 and
// /openai/v1. The
// caller should call Close when finished, to stop its jobs.
func NewOpenAIHandler(cfg ServerConfig) *OpenAIServer {
	if cfg.JobStepDelay <= 0 {
		cfg.JobStepDelay = DefaultJobStepDelay
	}
	if cfg.FileProcessingDelay <= 0 {
		cfg.FileProcessingDelay = DefaultFileProcessingDelay
	}
	if cfg.BatchStepDelay <= 0 {
		cfg.BatchStepDelay = DefaultBatchStepDelay
	}
	if cfg.BatchInProgressDelay <= 0 {
		cfg.BatchInProgressDelay = DefaultBatchInProgressDelay
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &OpenAIServer{
		cfg:          cfg,
		mux:          http.NewServeMux(),
		ctx:          ctx,
		cancel:       cancel,
		created:      time.Now(),
		stats:        Stats{Requests: map[string]int{}},
		files:        map[string]*file{},
		jobs:         map[string]*job{},
		batches:      map[string]*batch{},
		models:       map[string]ragvsft.Model{},
		modelCreated: map[string]int64{},
		refuseFT:     cfg.RefuseFineTuning,
	}
	s.setFaultsLocked(cfg.Faults)
	s.setBackend(cfg)
	s.route("POST /v1/files", s.createFile)
	s.route("GET /v1/files", s.listFiles)
	s.route("GET /v1/files/{id}", s.getFile)
	s.route("GET /v1/files/{id}/content", s.getFileContent)
	s.route("DELETE /v1/files/{id}", s.deleteFile)
	s.route("POST /v1/fine_tuning/jobs", s.createJob)
	s.route("GET /v1/fine_tuning/jobs", s.listJobs)
	s.route("GET /v1/fine_tuning/jobs/{id}", s.getJob)
	s.route("POST /v1/fine_tuning/jobs/{id}/cancel", s.cancelJob)
	s.route("GET /v1/fine_tuning/jobs/{id}/events", s.listEvents)
	s.route("GET /v1/fine_tuning/jobs/{id}/checkpoints", s.listCheckpoints)
	s.route("POST /v1/batches", s.createBatch)
	s.route("GET /v1/batches", s.listBatches)
	s.route("GET /v1/batches/{id}", s.getBatch)
	s.route("POST /v1/batches/{id}/cancel", s.cancelBatch)
	s.route("POST /v1/chat/completions", s.chatCompletion)
	s.route("POST /v1/embeddings", s.embeddings)
	s.route("GET /v1/models", s.listModels)
	s.route("GET /v1/models/{id}", s.getModel)
	s.route("POST /v1/load_lora_adapter", s.loadLoRAAdapter)
	s.route("POST /v1/unload_lora_adapter", s.unloadLoRAAdapter)
	s.route("/", func(w http.ResponseWriter, r *http.Request) {
		notFound(w, "", "unknown_url", "Unknown request URL: "+r.Method+" "+r.URL.Path+".")
	})
	return s
}

// ServeHTTP serves the OpenAI API under /v1 and /openai/v1.
func (s *OpenAIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Close shuts the server down, if NewOpenAIServer started it, and stops its
// running jobs. It waits for both.
func (s *OpenAIServer) Close() {
	if s.http != nil {
		s.http.Close()
	}
	s.mu.Lock()
	s.closed = true // no job starts after this: wg.Add must not race wg.Wait
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// SetRefuseFineTuning switches the refusal of job creation on or off (see
// ServerConfig.RefuseFineTuning) for the requests that follow.
func (s *OpenAIServer) SetRefuseFineTuning(refuse bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseFT = refuse
}

// Stats returns a snapshot of the server's counters.
func (s *OpenAIServer) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Requests = make(map[string]int, len(s.stats.Requests))
	for k, v := range s.stats.Requests {
		st.Requests[k] = v
	}
	return st
}

// azurePrefix is where Azure OpenAI's v1 endpoint puts the API:
// https://RESOURCE.openai.azure.com/openai/v1/...
const azurePrefix = "/openai"

// route registers h behind the common steps of every request (counting,
// latency, injected faults, then authentication), at pattern and, for a
// /v1 route, at the same path under azurePrefix, as Azure serves it.
func (s *OpenAIServer) route(pattern string, h http.HandlerFunc) {
	s.handle(pattern, false, h)
	if method, path, ok := strings.Cut(pattern, " "); ok && strings.HasPrefix(path, "/v1/") {
		s.handle(method+" "+azurePrefix+path, true, h)
	}
}

func (s *OpenAIServer) handle(pattern string, azure bool, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		key := pattern
		if pattern == "/" {
			key = r.Method + " (unknown)"
		}
		s.mu.Lock()
		s.stats.Requests[key]++
		s.mu.Unlock()

		path := r.URL.Path
		// An unknown route under Azure's prefix is refused as Azure would.
		azure := azure || (pattern == "/" && strings.HasPrefix(path, azurePrefix+"/"))
		if azure {
			path = strings.TrimPrefix(path, azurePrefix)
		}
		f, faulty, latency := s.takeFault(path)
		if latency > 0 {
			select {
			case <-time.After(latency):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("x-request-id", newID("req_", 32))
		if faulty && !f.AfterHandling {
			serveFault(w, f)
			return
		}
		if !s.authorized(w, r, azure) {
			return
		}
		if faulty {
			h(httptest.NewRecorder(), r)
			serveFault(w, f)
			return
		}
		h(w, r)
	})
}

// authorized checks the key and answers 401 if it is missing or wrong. The
// key is a bearer token; under Azure's prefix it may instead be in the
// api-key header, as Azure OpenAI takes it. The message never contains the
// key.
func (s *OpenAIServer) authorized(w http.ResponseWriter, r *http.Request, azure bool) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	token = strings.TrimSpace(token)
	if (!ok || token == "") && azure {
		token = strings.TrimSpace(r.Header.Get("api-key"))
	}
	if token == "" {
		msg := "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
		if azure {
			msg = "You didn't provide an API key. Azure OpenAI takes it in an api-key header (api-key: YOUR_KEY) or in an Authorization header using Bearer auth."
		}
		writeError(w, http.StatusUnauthorized, typeInvalidRequest, "", "", msg)
		return false
	}
	if s.cfg.APIKey != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.APIKey)) != 1 {
		writeError(w, http.StatusUnauthorized, typeInvalidRequest, "invalid_api_key", "",
			"Incorrect API key provided. Check the key given to the client (OPENAI_API_KEY) against the one this server was started with.")
		return false
	}
	return true
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newID returns prefix followed by n random characters, as OpenAI's ids.
func newID(prefix string, n int) string {
	buf := make([]byte, n)
	_, _ = crand.Read(buf) // never fails
	for i, c := range buf {
		buf[i] = idAlphabet[int(c)%len(idAlphabet)]
	}
	return prefix + string(buf)
}
