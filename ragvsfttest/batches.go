package ragvsfttest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"
)

// Batch statuses, as OpenAI names them.
const (
	batchValidating = "validating"
	batchFailed     = "failed"
	batchInProgress = "in_progress"
	batchFinalizing = "finalizing"
	batchCompleted  = "completed"
	batchExpired    = "expired"
	batchCancelling = "cancelling"
	batchCancelled  = "cancelled"
)

// DefaultBatchStepDelay is how long a batch stays validating, and then
// finalizing (or cancelling), when ServerConfig.BatchStepDelay is zero.
const DefaultBatchStepDelay = 20 * time.Millisecond

// DefaultBatchInProgressDelay is the least time a batch stays in_progress
// when ServerConfig.BatchInProgressDelay is zero.
const DefaultBatchInProgressDelay = 20 * time.Millisecond

// maxBatchRequests is OpenAI's limit on the requests of one input file.
const maxBatchRequests = 50000

// maxBatchErrors bounds the errors reported for an invalid input file.
const maxBatchErrors = 100

// BatchError is one error of a batch that failed, as OpenAI lists them in
// the batch's errors.data: a problem of the input file (with its line) or
// of the batch as a whole.
type BatchError struct {
	// Code is machine-readable, as "token_limit_exceeded".
	Code    string `json:"code"`
	Message string `json:"message"`
	// Param is the field at fault, as "custom_id"; empty (null on the wire)
	// when none is.
	Param string `json:"param"`
	// Line is the input file's line (from 1); 0 (null) when the error is
	// not about one line.
	Line int `json:"line"`
}

// MarshalJSON writes an empty Param and a zero Line as null, as OpenAI
// does.
func (e BatchError) MarshalJSON() ([]byte, error) {
	var param *string
	if e.Param != "" {
		param = &e.Param
	}
	var line *int
	if e.Line > 0 {
		line = &e.Line
	}
	return json.Marshal(struct {
		Code    string  `json:"code"`
		Message string  `json:"message"`
		Param   *string `json:"param"`
		Line    *int    `json:"line"`
	}{e.Code, e.Message, param, line})
}

type batchErrors struct {
	Object string       `json:"object"`
	Data   []BatchError `json:"data"`
}

type batchCounts struct {
	Total     int `json:"total"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
}

type batchUsage struct {
	InputTokens        int `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int `json:"total_tokens"`
}

// batchView is a batch as the API shows it.
type batchView struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Endpoint         string            `json:"endpoint"`
	Model            string            `json:"model,omitempty"`
	Errors           *batchErrors      `json:"errors"`
	InputFileID      string            `json:"input_file_id"`
	CompletionWindow string            `json:"completion_window"`
	Status           string            `json:"status"`
	OutputFileID     *string           `json:"output_file_id"`
	ErrorFileID      *string           `json:"error_file_id"`
	CreatedAt        int64             `json:"created_at"`
	InProgressAt     *int64            `json:"in_progress_at"`
	ExpiresAt        *int64            `json:"expires_at"`
	FinalizingAt     *int64            `json:"finalizing_at"`
	CompletedAt      *int64            `json:"completed_at"`
	FailedAt         *int64            `json:"failed_at"`
	ExpiredAt        *int64            `json:"expired_at"`
	CancellingAt     *int64            `json:"cancelling_at"`
	CancelledAt      *int64            `json:"cancelled_at"`
	RequestCounts    batchCounts       `json:"request_counts"`
	Usage            batchUsage        `json:"usage"`
	Metadata         map[string]string `json:"metadata"`
}

// batchFate is how an injected fault ends a batch (Faults.ExpireBatches,
// CancelBatches, FailBatches).
type batchFate int

const (
	fateComplete batchFate = iota
	fateExpire
	fateCancel
	fateFail
)

// batch is one batch. Its view is guarded by OpenAIServer.mu.
type batch struct {
	view batchView
	// cancelled is closed when the batch is to stop (POST cancel, or an
	// injected cancellation).
	cancelled chan struct{}
	fate      batchFate
	failure   BatchError
	content   []byte
}

// batchInput is one checked line of an input file.
type batchInput struct {
	CustomID string          `json:"custom_id"`
	Method   string          `json:"method"`
	URL      string          `json:"url"`
	Body     json.RawMessage `json:"body"`
}

type createBatchRequest struct {
	InputFileID      string            `json:"input_file_id"`
	Endpoint         string            `json:"endpoint"`
	CompletionWindow string            `json:"completion_window"`
	Metadata         map[string]string `json:"metadata"`
}

// batchHandler is the route that answers a batch's requests: the same
// handler as the synchronous endpoint's. OpenAI batches more endpoints
// (/v1/responses, /v1/completions, ...); this server serves none of them.
func (s *OpenAIServer) batchHandler(endpoint string) (http.HandlerFunc, bool) {
	switch endpoint {
	case "/v1/chat/completions":
		return s.chatCompletion, true
	case "/v1/embeddings":
		return s.embeddings, true
	}
	return nil, false
}

func (s *OpenAIServer) createBatch(w http.ResponseWriter, r *http.Request) {
	var req createBatchRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		badRequest(w, "", "", "We could not parse the JSON body of your request: "+err.Error())
		return
	}
	switch {
	case req.InputFileID == "":
		badRequest(w, "input_file_id", "", "Missing required parameter: 'input_file_id'.")
		return
	case req.Endpoint == "":
		badRequest(w, "endpoint", "", "Missing required parameter: 'endpoint'.")
		return
	case req.CompletionWindow == "":
		badRequest(w, "completion_window", "", "Missing required parameter: 'completion_window'.")
		return
	case req.CompletionWindow != "24h":
		badRequest(w, "completion_window", "invalid_value", fmt.Sprintf("Invalid 'completion_window': %q. Supported values are: '24h'.", req.CompletionWindow))
		return
	}
	if _, ok := s.batchHandler(req.Endpoint); !ok {
		badRequest(w, "endpoint", "invalid_value", fmt.Sprintf("Invalid 'endpoint': %q. This server runs batches of '/v1/chat/completions' and '/v1/embeddings'.", req.Endpoint))
		return
	}
	if msg, ok := checkMetadata(req.Metadata); !ok {
		badRequest(w, "metadata", "invalid_value", msg)
		return
	}
	s.mu.Lock()
	f, ok := s.files[req.InputFileID]
	s.mu.Unlock()
	if !ok {
		notFound(w, "input_file_id", "", "No such File object: "+req.InputFileID)
		return
	}
	if f.Purpose != "batch" {
		badRequest(w, "input_file_id", "invalid_value", fmt.Sprintf("File %s has purpose '%s', but a batch needs a file with purpose 'batch'.", f.ID, f.Purpose))
		return
	}
	now := time.Now()
	expires := now.Add(24 * time.Hour).Unix()
	b := &batch{
		view: batchView{
			ID:               newID("batch_", 24),
			Object:           "batch",
			Endpoint:         req.Endpoint,
			InputFileID:      req.InputFileID,
			CompletionWindow: req.CompletionWindow,
			Status:           batchValidating,
			CreatedAt:        now.Unix(),
			ExpiresAt:        &expires,
			Metadata:         req.Metadata,
		},
		cancelled: make(chan struct{}),
		content:   f.content,
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, typeServer, "server_error", "", errClosed.Error())
		return
	}
	b.fate, b.failure = s.takeBatchFateLocked()
	s.batches[b.view.ID] = b
	s.batchOrder = append(s.batchOrder, b.view.ID)
	s.stats.BatchesCreated++
	v := b.view
	s.wg.Add(1)
	s.mu.Unlock()
	go s.runBatch(b)
	writeJSON(w, http.StatusOK, &v)
}

// checkMetadata applies OpenAI's limits: 16 pairs, keys up to 64
// characters, values up to 512.
func checkMetadata(md map[string]string) (string, bool) {
	if len(md) > 16 {
		return fmt.Sprintf("Invalid 'metadata': too many properties. Expected an object with at most 16 properties, but got %d.", len(md)), false
	}
	for k, v := range md {
		if len(k) > 64 {
			return fmt.Sprintf("Invalid 'metadata': key %q is longer than 64 characters.", k), false
		}
		if len(v) > 512 {
			return fmt.Sprintf("Invalid 'metadata': the value of %q is longer than 512 characters.", k), false
		}
	}
	return "", true
}

// takeBatchFateLocked draws the injected end of the batch being created.
func (s *OpenAIServer) takeBatchFateLocked() (batchFate, BatchError) {
	f := &s.faults
	switch {
	case f.FailBatches > 0:
		f.FailBatches--
		e := f.BatchError
		if e.Code == "" && e.Message == "" {
			e = BatchError{Code: "token_limit_exceeded", Message: "Enqueued token limit reached for this model in this organization. Please try again once some in_progress batches have been completed."}
		}
		return fateFail, e
	case f.ExpireBatches > 0:
		f.ExpireBatches--
		return fateExpire, BatchError{}
	case f.CancelBatches > 0:
		f.CancelBatches--
		return fateCancel, BatchError{}
	}
	return fateComplete, BatchError{}
}

// parseBatchInput checks an input file as OpenAI validates it: every line
// a JSON object with a custom_id unique in the file, method POST, url the
// batch's endpoint and a body naming one model, the same for every line.
func parseBatchInput(content []byte, endpoint string) (reqs []batchInput, model string, errs []BatchError) {
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(content))
	sc.Buffer(make([]byte, 0, 64<<10), maxUploadBytes)
	bad := func(line int, code, param, msg string) {
		if len(errs) < maxBatchErrors {
			errs = append(errs, BatchError{Code: code, Param: param, Line: line, Message: msg})
		}
	}
	for n := 1; sc.Scan(); n++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		var in batchInput
		if err := json.Unmarshal(raw, &in); err != nil || raw[0] != '{' {
			bad(n, "invalid_json_line", "", "This line is not parseable as valid JSON.")
			continue
		}
		var body struct {
			Model string `json:"model"`
		}
		switch {
		case in.CustomID == "":
			bad(n, "missing_required_parameter", "custom_id", "Missing required parameter: 'custom_id'.")
		case seen[in.CustomID] > 0:
			bad(n, "duplicate_custom_id", "custom_id", fmt.Sprintf("The custom_id %q is used on lines %d and %d; a custom_id must be unique in a batch.", in.CustomID, seen[in.CustomID], n))
		case in.Method != http.MethodPost:
			bad(n, "invalid_method", "method", fmt.Sprintf("Invalid 'method': %q. Only 'POST' is supported.", in.Method))
		case in.URL != endpoint:
			bad(n, "mismatched_endpoint", "url", fmt.Sprintf("The url %q does not match the batch's endpoint %q.", in.URL, endpoint))
		case len(in.Body) == 0 || in.Body[0] != '{' || json.Unmarshal(in.Body, &body) != nil:
			bad(n, "missing_required_parameter", "body", "Missing required parameter: 'body' (a JSON object).")
		case body.Model == "":
			bad(n, "missing_required_parameter", "body.model", "Missing required parameter: 'body.model'.")
		case model != "" && body.Model != model:
			bad(n, "mismatched_model", "body.model", fmt.Sprintf("The model %q differs from the model %q of the file's first request; a batch's requests must all use the same model.", body.Model, model))
		default:
			model = body.Model
		}
		if in.CustomID != "" && seen[in.CustomID] == 0 {
			seen[in.CustomID] = n
		}
		reqs = append(reqs, in)
	}
	if err := sc.Err(); err != nil {
		bad(0, "invalid_file", "", "The input file could not be read: "+err.Error())
	}
	switch {
	case len(errs) == 0 && len(reqs) == 0:
		bad(0, "empty_file", "", "The batch input file is empty.")
	case len(reqs) > maxBatchRequests:
		bad(0, "too_many_requests", "", fmt.Sprintf("The input file has %d requests; a batch may have at most %d.", len(reqs), maxBatchRequests))
	}
	return reqs, model, errs
}

// stamp is a pointer to the time now, for the *_at fields.
func stamp() *int64 {
	t := time.Now().Unix()
	return &t
}

// batchWait sleeps d, or until the server closes (false) or the batch is
// cancelled (stopped is then true).
func (s *OpenAIServer) batchWait(b *batch, d time.Duration) (alive, stopped bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.ctx.Done():
		return false, false
	case <-b.cancelled:
		return true, true
	case <-t.C:
		return true, false
	}
}

// runBatch drives a batch through OpenAI's states: validating, then failed
// or in_progress, finalizing and completed; expired or cancelling and
// cancelled when a fault or POST cancel says so. Each request is answered
// by the route of the batch's endpoint, as a synchronous request would be.
func (s *OpenAIServer) runBatch(b *batch) {
	defer s.wg.Done()
	step, inProgress := s.cfg.BatchStepDelay, s.cfg.BatchInProgressDelay
	alive, stopped := s.batchWait(b, step)
	if !alive {
		return
	}
	if stopped {
		s.endBatch(b, batchCancelled, nil, nil, nil)
		return
	}
	reqs, model, errs := parseBatchInput(b.content, b.view.Endpoint)
	if len(errs) == 0 && b.fate == fateFail {
		errs = []BatchError{b.failure}
	}
	if len(errs) > 0 {
		s.endBatch(b, batchFailed, errs, nil, nil)
		return
	}
	s.mu.Lock()
	if b.view.Status == batchValidating { // not if a cancel came meanwhile
		b.view.Status, b.view.InProgressAt = batchInProgress, stamp()
	}
	b.view.Model, b.view.RequestCounts.Total = model, len(reqs)
	s.mu.Unlock()

	deadline := time.Now().Add(inProgress)
	handler, _ := s.batchHandler(b.view.Endpoint)
	var out, failed [][]byte
	stop := len(reqs)
	if b.fate == fateExpire || b.fate == fateCancel {
		stop = len(reqs) / 2 // the rest is not reached in time
	}
	done := 0
	for _, in := range reqs[:stop] {
		select {
		case <-s.ctx.Done():
			return
		case <-b.cancelled:
			stopped = true
		default:
		}
		if stopped {
			break
		}
		line, ok := s.answerBatchRequest(b, handler, in)
		s.mu.Lock()
		if ok {
			out = append(out, line)
			b.view.RequestCounts.Completed++
		} else {
			failed = append(failed, line)
			b.view.RequestCounts.Failed++
		}
		s.mu.Unlock()
		done++
	}
	if !stopped {
		if alive, stopped = s.batchWait(b, time.Until(deadline)); !alive {
			return
		}
	}
	switch {
	case stopped || b.fate == fateCancel:
		s.mu.Lock()
		if b.view.Status != batchCancelling {
			b.view.Status, b.view.CancellingAt = batchCancelling, stamp()
		}
		s.mu.Unlock()
		if alive, _ = s.batchWait(b, step); !alive {
			return
		}
		s.endBatch(b, batchCancelled, nil, out, failed)
	case b.fate == fateExpire:
		for _, in := range reqs[done:] {
			failed = append(failed, batchOutputLine(in.CustomID, nil, &batchLineError{
				Code: "batch_expired", Message: "This request could not be executed before the completion window expired.",
			}))
		}
		s.mu.Lock()
		b.view.RequestCounts.Failed += len(reqs) - done
		s.mu.Unlock()
		s.endBatch(b, batchExpired, nil, out, failed)
	default:
		s.mu.Lock()
		b.view.Status, b.view.FinalizingAt = batchFinalizing, stamp()
		s.mu.Unlock()
		if alive, _ = s.batchWait(b, step); !alive {
			return
		}
		// Cancelling a finalizing batch is refused, so it completes.
		s.endBatch(b, batchCompleted, nil, out, failed)
	}
}

// endBatch stores the output and error files (when they have lines) and
// moves the batch to its terminal status.
func (s *OpenAIServer) endBatch(b *batch, status string, errs []BatchError, out, failed [][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	store := func(lines [][]byte, which string) *string {
		if len(lines) == 0 {
			return nil
		}
		content := append(bytes.Join(lines, []byte("\n")), '\n')
		f := &file{
			ID:        newID("file-", 22),
			Object:    "file",
			Bytes:     len(content),
			CreatedAt: time.Now().Unix(),
			Filename:  b.view.ID + "_" + which + ".jsonl",
			Purpose:   "batch_output",
			content:   content,
		}
		s.addFileLocked(f)
		return &f.ID
	}
	b.view.OutputFileID = store(out, "output")
	b.view.ErrorFileID = store(failed, "error")
	b.view.Status = status
	switch status {
	case batchFailed:
		b.view.FailedAt = stamp()
		b.view.Errors = &batchErrors{Object: "list", Data: errs}
	case batchCancelled:
		if b.view.CancellingAt == nil {
			b.view.CancellingAt = stamp()
		}
		b.view.CancelledAt = stamp()
		s.stats.BatchesCancelled++
	case batchExpired:
		b.view.ExpiredAt = stamp()
	case batchCompleted:
		b.view.CompletedAt = stamp()
	}
}

// batchLineError is the error of a request that was not executed.
type batchLineError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// batchOutputLine is one line of an output or error file, as OpenAI writes
// it: {id, custom_id, response: {status_code, request_id, body}, error}.
func batchOutputLine(customID string, response any, e *batchLineError) []byte {
	line, _ := json.Marshal(map[string]any{
		"id":        newID("batch_req_", 32),
		"custom_id": customID,
		"response":  response,
		"error":     e,
	})
	return line
}

// answerBatchRequest answers one request with handler, the endpoint's own
// route, and returns its output line and whether it succeeded (status 200).
// The batch's tokens are added to its usage.
func (s *OpenAIServer) answerBatchRequest(b *batch, handler http.HandlerFunc, in batchInput) ([]byte, bool) {
	r, err := http.NewRequestWithContext(s.ctx, http.MethodPost, in.URL, bytes.NewReader(in.Body))
	if err != nil {
		return batchOutputLine(in.CustomID, nil, &batchLineError{Code: "server_error", Message: err.Error()}), false
	}
	r.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	// Faults for the endpoint's path (InjectFault, Faults.Rate) fail the
	// request's line as they would fail the synchronous request; a dropped
	// connection is a line with an error and no response.
	f, faulty, _ := s.takeFault(in.URL)
	switch {
	case faulty && f.Drop:
		return batchOutputLine(in.CustomID, nil, &batchLineError{Code: "server_error", Message: "The server had an error while processing your request."}), false
	case faulty && f.AfterHandling:
		handler(httptest.NewRecorder(), r)
		serveFault(rec, f)
	case faulty:
		serveFault(rec, f)
	default:
		handler(rec, r)
	}
	body := json.RawMessage(rec.Body.Bytes())
	if !json.Valid(body) {
		body, _ = json.Marshal(rec.Body.String())
	}
	var res struct {
		Usage struct {
			PromptTokens        int `json:"prompt_tokens"`
			CompletionTokens    int `json:"completion_tokens"`
			PromptTokensDetails struct {
				CachedTokens int `json:"cached_tokens"`
			} `json:"prompt_tokens_details"`
			CompletionTokensDetails struct {
				ReasoningTokens int `json:"reasoning_tokens"`
			} `json:"completion_tokens_details"`
		} `json:"usage"`
	}
	if rec.Code == http.StatusOK && json.Unmarshal(body, &res) == nil {
		s.mu.Lock()
		u := &b.view.Usage
		u.InputTokens += res.Usage.PromptTokens
		u.InputTokensDetails.CachedTokens += res.Usage.PromptTokensDetails.CachedTokens
		u.OutputTokens += res.Usage.CompletionTokens
		u.OutputTokensDetails.ReasoningTokens += res.Usage.CompletionTokensDetails.ReasoningTokens
		u.TotalTokens = u.InputTokens + u.OutputTokens
		s.stats.BatchRequests++
		s.mu.Unlock()
	}
	return batchOutputLine(in.CustomID, map[string]any{
		"status_code": rec.Code,
		"request_id":  newID("req_", 32),
		"body":        body,
	}, nil), rec.Code == http.StatusOK
}

func (s *OpenAIServer) lookupBatch(w http.ResponseWriter, id string) (*batch, bool) {
	s.mu.Lock()
	b, ok := s.batches[id]
	s.mu.Unlock()
	if !ok {
		notFound(w, "batch_id", "", "No batch found with id '"+id+"'.")
	}
	return b, ok
}

func (s *OpenAIServer) getBatch(w http.ResponseWriter, r *http.Request) {
	b, ok := s.lookupBatch(w, r.PathValue("id"))
	if !ok {
		return
	}
	s.mu.Lock()
	v := b.view
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, &v)
}

// cancelBatch moves a validating or in_progress batch to cancelling; it
// becomes cancelled once the requests in flight are done. A batch that is
// finalizing or ended cannot be cancelled.
func (s *OpenAIServer) cancelBatch(w http.ResponseWriter, r *http.Request) {
	b, ok := s.lookupBatch(w, r.PathValue("id"))
	if !ok {
		return
	}
	s.mu.Lock()
	st := b.view.Status
	if st == batchValidating || st == batchInProgress {
		b.view.Status, b.view.CancellingAt = batchCancelling, stamp()
		close(b.cancelled)
	}
	v := b.view
	s.mu.Unlock()
	if st != batchValidating && st != batchInProgress && st != batchCancelling {
		badRequest(w, "", "", fmt.Sprintf("Cannot cancel a batch with status '%s'.", st))
		return
	}
	writeJSON(w, http.StatusOK, &v)
}

// listBatches lists batches newest first, with OpenAI's after/limit cursor
// (limit 1 to 100, default 20).
func (s *OpenAIServer) listBatches(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := parseLimit(w, q.Get("limit"), 20, 100)
	if !ok {
		return
	}
	s.mu.Lock()
	all := make([]*batchView, 0, len(s.batchOrder))
	for i := len(s.batchOrder) - 1; i >= 0; i-- {
		v := s.batches[s.batchOrder[i]].view
		all = append(all, &v)
	}
	s.mu.Unlock()
	id := func(v *batchView) string { return v.ID }
	page, more := paginate(all, q.Get("after"), limit, id)
	writeList(w, page, more, id)
}
