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
	"strings"
	"sync"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// The ends of a batch that leave requests unanswered. Chat returns them
// wrapped, with the batch's id, for each request the batch did not answer;
// the answers it gave before it ended are returned as usual.
var (
	// ErrBatchExpired: the batch did not finish in its 24-hour window.
	ErrBatchExpired = errors.New("ragvsft: batch expired before answering the request")
	// ErrBatchCancelled: the batch was cancelled (by its owner, elsewhere).
	ErrBatchCancelled = errors.New("ragvsft: batch was cancelled before answering the request")
	// ErrBatchFailed: the server refused the batch as a whole (an invalid
	// input file, a token limit); the error names OpenAI's reasons.
	ErrBatchFailed = errors.New("ragvsft: batch failed")
)

// Defaults of BatchOptions.
const (
	DefaultBatchWindow          = 2 * time.Second
	DefaultBatchMaxRequests     = 50000 // OpenAI's limit per input file
	DefaultBatchPollInterval    = 30 * time.Second
	DefaultBatchMaxPollInterval = 10 * time.Minute
)

// BatchOptions are a BatchModel's settings. The zero value collects calls
// for DefaultBatchWindow, keeps no record and polls every 30 s backing off
// to 10 min.
type BatchOptions struct {
	// Record is the file where the model's batches are recorded (input
	// file, batch id, requests, status), e.g. in a run folder. It is
	// written before any batch is waited for, so that a BatchModel made
	// after a crash with the same Record resumes the batches instead of
	// paying for them again. "" keeps no record: a restarted process then
	// submits its requests anew.
	Record string
	// Window is how long calls are collected into one batch after the
	// first one arrives; 0 means DefaultBatchWindow.
	Window time.Duration
	// MaxRequests submits the batch at once when that many distinct
	// requests wait; 0 means DefaultBatchMaxRequests.
	MaxRequests int
	// PollInterval is the first wait between polls of a batch; it doubles
	// while the batch's status and counts do not change, up to
	// MaxPollInterval. 0 means the defaults.
	PollInterval    time.Duration
	MaxPollInterval time.Duration
	// Out, if set, receives one progress line per step, one line at a
	// time from the model's goroutines. Shared with other writers (another
	// BatchModel's, a progress bar), it must be safe for concurrent use.
	Out io.Writer
}

// BatchModel is a Model that sends its chat requests through OpenAI's Batch
// API, at half the synchronous price, with answers within 24 hours
// (usually much sooner) instead of seconds.
//
// Calls to Chat that arrive within Options.Window of the first are written
// to one JSONL input file, one line per distinct request ({custom_id,
// method, url, body}, the body being exactly what OpenAIModel.Chat would
// send, the custom_id a hash of it), uploaded with purpose "batch", and run
// as one batch on /v1/chat/completions. Each call waits for its own
// answer, read from the batch's output and error files as OpenAIModel reads
// a synchronous response (usage, model, system fingerprint, Truncated,
// *CutShortError), with ChatResponse.Batch set so that ApplyPrices bills it
// at the Batch price. A request that fails inside the batch is the error of
// its call only. A batch that expires, is cancelled or fails gives its
// unanswered calls ErrBatchExpired, ErrBatchCancelled or ErrBatchFailed;
// a later call for such a request submits it again.
//
// Resume: the input file is recorded (Options.Record) as soon as it is
// uploaded and the batch as soon as it is created, before anything waits.
// Cancelling a call's ctx stops its waiting, not the batch; the next call
// for a recorded request, in this process or in one started later with the
// same Record, waits for the recorded batch (or creates it from the
// recorded file) rather than paying again. Batch creation is not retried
// blindly: after a transient failure the batch is looked up by its input
// file first.
//
// Each call blocks until its batch ends, so a caller must make its calls
// concurrently: an Experiment whose Concurrency is 0 asks every item at
// once when Base (or the FineTuned model) is a BatchModel.
//
// A BatchModel is safe for concurrent use.
type BatchModel struct {
	model *OpenAIModel
	b     *batcher
}

// batcher collects requests of one model to one endpoint into batches,
// submits, records and polls them, and hands each request its line of the
// output or error file: BatchModel's chat completions, OpenAIEmbedder's
// embeddings with OpenAIEmbedder.Batch.
type batcher struct {
	client   *openAIClient
	model    string
	endpoint openai.BatchNewParamsEndpoint
	what     string // "chat completion", for errors
	opts     BatchOptions
	logMu    sync.Mutex // one line at a time to opts.Out

	mu      sync.Mutex
	record  batchRecord
	byID    map[string][]*batchGroup // custom_id -> groups holding it, oldest first
	pending *batchGroup              // collecting calls, not yet submitted
}

var _ Model = (*BatchModel)(nil)

// batchRecord is the Record file.
type batchRecord struct {
	Version int           `json:"version"`
	Batches []*batchEntry `json:"batches"`
}

// batchEntry is one batch as recorded.
type batchEntry struct {
	Model        string    `json:"model"`
	Created      time.Time `json:"created"`
	InputFileID  string    `json:"input_file_id"`
	BatchID      string    `json:"batch_id,omitempty"`
	Status       string    `json:"status,omitempty"`
	OutputFileID string    `json:"output_file_id,omitempty"`
	ErrorFileID  string    `json:"error_file_id,omitempty"`
	CustomIDs    []string  `json:"custom_ids"`
}

// batchGroup is the requests of one batch and the calls waiting for them.
// Its fields are guarded by BatchModel.mu.
type batchGroup struct {
	entry   *batchEntry       // nil while collecting
	bodies  map[string][]byte // custom_id -> request body, until uploaded
	order   []string          // custom_ids in file order
	waiters map[string][]chan batchAnswer
	live    int // calls waiting
	running bool
	cancel  context.CancelFunc
	done    bool // the batch ended and its files were read
	answers map[string]batchAnswer
	endErr  error // for the requests the ended batch did not answer
}

// batchAnswer is a request's line from an output or error file.
type batchAnswer struct {
	batchID, customID string
	status            int // response.status_code; 0 for a request not executed
	body              json.RawMessage
	err               error // for a line without a 200 response
	// final is false for an answer worth asking again: a request that was
	// not executed, or failed in a way a retry may fix (429, 5xx).
	final bool
}

// NewBatchModel returns the chat model named model reached through cfg's
// Batch API. It checks model as NewOpenAIModel does and reads
// opts.Record if it exists; a malformed record is an error.
func NewBatchModel(cfg OpenAIConfig, model string, opts BatchOptions) (*BatchModel, error) {
	m, err := NewOpenAIModel(cfg, model)
	if err != nil {
		return nil, err
	}
	b, err := newBatcher(m.client, model, openai.BatchNewParamsEndpointV1ChatCompletions, "chat completion", opts)
	if err != nil {
		return nil, err
	}
	return &BatchModel{model: m, b: b}, nil
}

// newBatcher returns the batcher of model on endpoint, with the batches
// opts.Record holds.
func newBatcher(c *openAIClient, model string, endpoint openai.BatchNewParamsEndpoint, what string, opts BatchOptions) (*batcher, error) {
	b := &batcher{client: c, model: model, endpoint: endpoint, what: what, opts: opts,
		byID: map[string][]*batchGroup{}, record: batchRecord{Version: 1}}
	if opts.Record == "" {
		return b, nil
	}
	data, err := os.ReadFile(opts.Record)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return b, nil
	case err != nil:
		return nil, fmt.Errorf("ragvsft: reading batch record: %w", err)
	}
	if err := json.Unmarshal(data, &b.record); err != nil {
		return nil, fmt.Errorf("ragvsft: batch record %s: %w", opts.Record, err)
	}
	for _, e := range b.record.Batches {
		if e == nil || e.InputFileID == "" {
			continue
		}
		g := &batchGroup{entry: e, order: e.CustomIDs, waiters: map[string][]chan batchAnswer{}}
		for _, id := range e.CustomIDs {
			b.byID[id] = append(b.byID[id], g)
		}
	}
	return b, nil
}

// Name returns the model's name as given to NewBatchModel.
func (m *BatchModel) Name() string { return m.model.model }

// Chat puts req in the next batch, or finds it in a batch already
// submitted, and waits for its answer (see BatchModel). A cancelled ctx
// returns at once, its batch staying recorded.
func (m *BatchModel) Chat(ctx context.Context, req ChatRequest) (ChatResponse, error) {
	params, err := m.model.params(req)
	if err != nil {
		return ChatResponse{}, err
	}
	body, err := json.Marshal(params)
	if err != nil {
		return ChatResponse{}, fmt.Errorf("ragvsft: encoding a batch request: %w", err)
	}
	ans, err := m.b.request(ctx, body)
	if err != nil {
		return ChatResponse{}, err
	}
	return m.answer(ans, req)
}

// request puts body in the next batch, or finds it in a batch already
// submitted (its custom_id is its hash), and waits for its line. A
// cancelled ctx returns at once, its batch staying recorded.
func (b *batcher) request(ctx context.Context, body []byte) (batchAnswer, error) {
	sum := sha256.Sum256(body)
	id := "ragvsft-" + hex.EncodeToString(sum[:16])
	skip := map[*batchGroup]bool{}
	for {
		g, ch, ended, ans, ok := b.join(id, body, skip)
		if ok {
			return ans, nil
		}
		select {
		case ans := <-ch:
			if !ans.final && ended {
				// The batch had ended without this answer before we
				// asked: ask again, in a new batch.
				skip[g] = true
				continue
			}
			return ans, nil
		case <-ctx.Done():
			b.leave(g, id, ch)
			return batchAnswer{}, fmt.Errorf("ragvsft: stopped waiting for batch request %s%s: %w", id, b.resumeHint(g), ctx.Err())
		}
	}
}

// resumeHint says where the batch is recorded, for an error.
func (b *batcher) resumeHint(g *batchGroup) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case g.entry != nil && g.entry.BatchID != "" && b.opts.Record != "":
		return fmt.Sprintf(" (batch %s keeps running, recorded in %s: run again to resume it)", g.entry.BatchID, b.opts.Record)
	case g.entry != nil && g.entry.BatchID != "":
		return fmt.Sprintf(" (batch %s keeps running)", g.entry.BatchID)
	}
	return ""
}

// join finds the batch for request id: an ended one that answered it (ok:
// ans is the answer), one submitted and not ended, else the one being
// collected. It registers a waiter and returns its channel; ended says the
// batch's record already said it ended.
func (b *batcher) join(id string, body []byte, skip map[*batchGroup]bool) (g *batchGroup, ch chan batchAnswer, ended bool, ans batchAnswer, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	groups := b.byID[id]
	for i := len(groups) - 1; i >= 0 && g == nil; i-- {
		c := groups[i]
		switch {
		case skip[c]:
		case c.done:
			if a, found := c.answers[id]; found && a.final {
				return c, nil, true, a, true
			}
		default:
			g = c
		}
	}
	if g == nil {
		if b.pending == nil {
			b.pending = &batchGroup{bodies: map[string][]byte{}, waiters: map[string][]chan batchAnswer{}}
			p := b.pending
			time.AfterFunc(positiveOr(b.opts.Window, DefaultBatchWindow), func() { b.submit(p) })
		}
		g = b.pending
		if _, dup := g.bodies[id]; !dup {
			g.bodies[id] = body
			g.order = append(g.order, id)
			b.byID[id] = append(b.byID[id], g)
		}
	}
	ch = make(chan batchAnswer, 1)
	g.waiters[id] = append(g.waiters[id], ch)
	g.live++
	ended = g.entry != nil && batchEnded(g.entry.Status)
	if g == b.pending {
		if len(g.order) >= positiveOr(b.opts.MaxRequests, DefaultBatchMaxRequests) {
			b.pending = nil
			b.startLocked(g)
		}
	} else if !g.running {
		b.startLocked(g)
	}
	return g, ch, ended, batchAnswer{}, false
}

// leave unregisters a waiter whose ctx is done; the last one stops the
// group's work (the batch itself goes on, and stays recorded).
func (b *batcher) leave(g *batchGroup, id string, ch chan batchAnswer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ws := g.waiters[id]
	for i, w := range ws {
		if w == ch {
			g.waiters[id] = append(ws[:i:i], ws[i+1:]...)
			g.live--
			break
		}
	}
	if g.live == 0 && g.cancel != nil {
		g.cancel()
	}
}

// submit ends the collection of p, when its window has passed.
func (b *batcher) submit(p *batchGroup) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == p {
		b.pending = nil
	}
	if !p.running && !p.done {
		b.startLocked(p)
	}
}

// startLocked starts the goroutine that submits and waits for g, unless
// nobody waits for it.
func (b *batcher) startLocked(g *batchGroup) {
	if g.live == 0 {
		if g.entry == nil { // never submitted: forget it
			for _, id := range g.order {
				b.byID[id] = removeGroup(b.byID[id], g)
			}
		}
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.running, g.cancel = true, cancel
	go b.run(ctx, g)
}

func removeGroup(gs []*batchGroup, g *batchGroup) []*batchGroup {
	out := gs[:0]
	for _, x := range gs {
		if x != g {
			out = append(out, x)
		}
	}
	return out
}

// run uploads g's input file if it is not yet, creates its batch if it is
// not yet, and polls it until it ends. A failure is given to the calls
// waiting; the group stays, and the next call starts it again.
func (b *batcher) run(ctx context.Context, g *batchGroup) {
	err := b.drive(ctx, g)
	b.mu.Lock()
	defer b.mu.Unlock()
	g.running = false
	g.cancel()
	if ctx.Err() != nil && g.live > 0 && !g.done {
		b.startLocked(g) // a call joined as the last one left
		return
	}
	if err == nil || ctx.Err() != nil {
		return // ended (answers delivered), or nobody waits any more
	}
	for id, ws := range g.waiters {
		for _, ch := range ws {
			ch <- batchAnswer{customID: id, err: err}
		}
		delete(g.waiters, id)
	}
	g.live = 0
}

func (b *batcher) drive(ctx context.Context, g *batchGroup) error {
	c := b.client
	b.mu.Lock()
	if g.entry == nil {
		g.entry = &batchEntry{Model: b.model, Created: time.Now().UTC(), CustomIDs: g.order}
	}
	e := *g.entry
	var input []byte
	if e.InputFileID == "" {
		var buf bytes.Buffer
		for _, id := range g.order {
			line, _ := json.Marshal(struct {
				CustomID string          `json:"custom_id"`
				Method   string          `json:"method"`
				URL      string          `json:"url"`
				Body     json.RawMessage `json:"body"`
			}{id, http.MethodPost, string(b.endpoint), g.bodies[id]})
			buf.Write(line)
			buf.WriteByte('\n')
		}
		input = buf.Bytes()
	}
	b.mu.Unlock()

	uploaded := e.InputFileID == ""
	if uploaded {
		sum := sha256.Sum256(input)
		name := fmt.Sprintf("ragvsft-batch-%x.jsonl", sum[:6])
		f, err := c.files.New(ctx, openai.FileNewParams{
			File:    openai.File(bytes.NewReader(input), name, "application/jsonl"),
			Purpose: openai.FilePurposeBatch,
		})
		if err != nil {
			return c.wrap("uploading batch input file "+name, err)
		}
		b.logf("batch: uploaded %d requests for %s as %s", len(e.CustomIDs), e.Model, f.ID)
		if err := b.update(g, func(e *batchEntry) { e.InputFileID = f.ID }, true); err != nil {
			return err
		}
		e.InputFileID = f.ID
	}
	var batch *openai.Batch
	var err error
	if e.BatchID == "" {
		if batch, err = b.create(ctx, e.InputFileID, !uploaded); err != nil {
			return err
		}
		b.logf("batch %s: created on %s (status %s)", batch.ID, e.InputFileID, batch.Status)
		if err := b.update(g, func(e *batchEntry) { e.BatchID, e.Status = batch.ID, string(batch.Status) }, false); err != nil {
			return err
		}
		e.BatchID = batch.ID
	}
	if batch, err = b.wait(ctx, g, e.BatchID, batch); err != nil {
		return b.goneIfNotFound(g, err)
	}
	answers, err := b.readFiles(ctx, batch)
	if err != nil {
		return b.goneIfNotFound(g, err)
	}
	b.finish(g, batch, answers)
	return nil
}

// goneIfNotFound ends g without answers when the server does not know its
// batch or its files (another account or server, files past their
// expiry): the calls waiting get err, and later calls submit the requests
// anew, the only way left to an answer. Any other error is returned.
func (b *batcher) goneIfNotFound(g *batchGroup, err error) error {
	if statusOf(err) != http.StatusNotFound {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	g.done, g.answers, g.endErr = true, nil, err
	for id, ws := range g.waiters {
		for _, ch := range ws {
			ch <- batchAnswer{customID: id, err: err}
		}
		delete(g.waiters, id)
	}
	g.live = 0
	return nil
}

// update changes g's record entry and saves the record; add appends the
// entry to the record first.
func (b *batcher) update(g *batchGroup, fn func(*batchEntry), add bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	fn(g.entry)
	if add {
		b.record.Batches = append(b.record.Batches, g.entry)
		g.bodies = nil // uploaded: the file has them
	}
	return b.saveLocked()
}

func (b *batcher) saveLocked() error {
	if b.opts.Record == "" {
		return nil
	}
	if err := writeAtomic(b.opts.Record, &b.record); err != nil {
		return fmt.Errorf("ragvsft: writing batch record %s: %w", b.opts.Record, err)
	}
	return nil
}

// create creates the batch on fileID, or, when the file was uploaded
// earlier (recorded), finds the one already created on it. openai-go's
// retries are off: a retried create whose first attempt reached the server
// would make a second batch, paid twice.
func (b *batcher) create(ctx context.Context, fileID string, recorded bool) (*openai.Batch, error) {
	c := b.client
	if recorded {
		if found, err := b.findBatch(ctx, fileID); err != nil || found != nil {
			return found, err
		}
	}
	params := openai.BatchNewParams{
		InputFileID:      fileID,
		Endpoint:         b.endpoint,
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h,
		Metadata:         map[string]string{"ragvsft_model": b.model},
	}
	for attempt := 0; ; attempt++ {
		batch, err := c.batches.New(ctx, params, option.WithMaxRetries(0))
		if err == nil {
			return batch, nil
		}
		timedOut := errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil
		if !(transient(err) || timedOut) || attempt >= c.cfg.retries() {
			return nil, c.wrap("creating a batch on "+fileID, err)
		}
		if found, ferr := b.findBatch(ctx, fileID); ferr == nil && found != nil {
			return found, nil
		}
		d, ok := retryAfter(err)
		if !ok {
			d = time.Duration(500<<attempt) * time.Millisecond
		}
		if err := sleep(ctx, d); err != nil {
			return nil, c.wrap("creating a batch on "+fileID, err)
		}
	}
}

// findBatch looks for a batch on fileID among the account's latest
// batches (at most 2000), newest first.
func (b *batcher) findBatch(ctx context.Context, fileID string) (*openai.Batch, error) {
	c := b.client
	params := openai.BatchListParams{Limit: openai.Int(100)}
	for range 20 {
		page, err := c.batches.List(ctx, params)
		if err != nil {
			return nil, c.wrap("listing batches", err)
		}
		for i := range page.Data {
			if page.Data[i].InputFileID == fileID {
				return &page.Data[i], nil
			}
		}
		if !page.HasMore || len(page.Data) == 0 {
			return nil, nil
		}
		params.After = openai.String(page.Data[len(page.Data)-1].ID)
	}
	return nil, nil
}

// batchEnded reports whether a batch status is terminal.
func batchEnded(status string) bool {
	switch openai.BatchStatus(status) {
	case openai.BatchStatusCompleted, openai.BatchStatusFailed, openai.BatchStatusExpired, openai.BatchStatusCancelled:
		return true
	}
	return false
}

// wait polls the batch until it ends, recording each new status.
func (b *batcher) wait(ctx context.Context, g *batchGroup, id string, batch *openai.Batch) (*openai.Batch, error) {
	c := b.client
	first := positiveOr(b.opts.PollInterval, DefaultBatchPollInterval)
	most := max(positiveOr(b.opts.MaxPollInterval, DefaultBatchMaxPollInterval), first)
	interval, failures := first, 0
	last := ""
	for {
		if batch == nil {
			next, err := c.batches.Get(ctx, id)
			switch {
			case err == nil:
				batch, failures = next, 0
			case ctx.Err() == nil && transient(err) && failures < maxPollFailures:
				failures++
			default:
				return nil, c.wrap("polling batch "+id, err)
			}
		}
		if batch != nil {
			now := fmt.Sprintf("%s %d/%d/%d", batch.Status, batch.RequestCounts.Completed, batch.RequestCounts.Failed, batch.RequestCounts.Total)
			if now != last {
				b.logf("batch %s: %s (%d done, %d failed of %d)", id, batch.Status, batch.RequestCounts.Completed, batch.RequestCounts.Failed, batch.RequestCounts.Total)
				last, interval = now, first
				if err := b.update(g, func(e *batchEntry) {
					e.Status, e.OutputFileID, e.ErrorFileID = string(batch.Status), batch.OutputFileID, batch.ErrorFileID
				}, false); err != nil {
					return nil, err
				}
			} else {
				interval = min(2*interval, most)
			}
			if batchEnded(string(batch.Status)) {
				return batch, nil
			}
		}
		if err := sleep(ctx, interval); err != nil {
			return nil, err
		}
		batch = nil
	}
}

// batchLine is a line of an output or error file.
type batchLine struct {
	CustomID string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		RequestID  string          `json:"request_id"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// readFiles downloads the batch's output and error files and reads their
// lines by custom_id.
func (b *batcher) readFiles(ctx context.Context, batch *openai.Batch) (map[string]batchAnswer, error) {
	c := b.client
	answers := map[string]batchAnswer{}
	for _, fileID := range []string{batch.OutputFileID, batch.ErrorFileID} {
		if fileID == "" {
			continue
		}
		res, err := c.files.Content(ctx, fileID)
		if err != nil {
			return nil, c.wrap(fmt.Sprintf("downloading file %s of batch %s", fileID, batch.ID), err)
		}
		data, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return nil, c.wrap(fmt.Sprintf("downloading file %s of batch %s", fileID, batch.ID), err)
		}
		for n, raw := range bytes.Split(data, []byte("\n")) {
			if len(bytes.TrimSpace(raw)) == 0 {
				continue
			}
			var l batchLine
			if err := json.Unmarshal(raw, &l); err != nil {
				return nil, fmt.Errorf("ragvsft: file %s of batch %s: line %d: %w", fileID, batch.ID, n+1, err)
			}
			answers[l.CustomID] = b.lineAnswer(batch.ID, l)
		}
	}
	return answers, nil
}

// lineAnswer reads one output line: a 200 response's body, or the error.
func (b *batcher) lineAnswer(batchID string, l batchLine) batchAnswer {
	a := batchAnswer{batchID: batchID, customID: l.CustomID}
	doing := fmt.Sprintf("%s with %s in batch %s (request %s)", b.what, b.model, batchID, l.CustomID)
	switch {
	case l.Response != nil && l.Response.StatusCode == http.StatusOK:
		a.status, a.body, a.final = http.StatusOK, l.Response.Body, true
	case l.Response != nil:
		s := l.Response.StatusCode
		a.status = s
		var body struct {
			Error struct {
				Message string `json:"message"`
				Code    string `json:"code"`
				Param   string `json:"param"`
			} `json:"error"`
		}
		_ = json.Unmarshal(l.Response.Body, &body)
		var msg strings.Builder
		fmt.Fprintf(&msg, "ragvsft: %s: OpenAI API error %d", doing, s)
		if t := http.StatusText(s); t != "" {
			msg.WriteString(" " + t)
		}
		if body.Error.Code != "" {
			fmt.Fprintf(&msg, " (%s)", body.Error.Code)
		}
		if body.Error.Message != "" {
			msg.WriteString(": " + body.Error.Message)
		}
		if body.Error.Param != "" {
			fmt.Fprintf(&msg, " [param %s]", body.Error.Param)
		}
		a.err = errors.New(b.client.redact(msg.String()))
		a.final = s >= 400 && s < 500 && s != http.StatusRequestTimeout && s != http.StatusConflict && s != http.StatusTooManyRequests
	case l.Error != nil && l.Error.Code == "batch_expired":
		a.err = fmt.Errorf("%w: batch %s, request %s: %s", ErrBatchExpired, batchID, l.CustomID, l.Error.Message)
	case l.Error != nil:
		a.err = fmt.Errorf("ragvsft: %s: %s: %s", doing, l.Error.Code, b.client.redact(l.Error.Message))
	default:
		a.err = fmt.Errorf("ragvsft: %s: a line with neither response nor error", doing)
	}
	return a
}

// finish delivers the ended batch's answers to the calls waiting, and the
// batch's end to those it did not answer.
func (b *batcher) finish(g *batchGroup, batch *openai.Batch, answers map[string]batchAnswer) {
	var endErr error
	switch batch.Status {
	case openai.BatchStatusExpired:
		endErr = fmt.Errorf("%w: batch %s", ErrBatchExpired, batch.ID)
	case openai.BatchStatusCancelled:
		endErr = fmt.Errorf("%w: batch %s", ErrBatchCancelled, batch.ID)
	case openai.BatchStatusFailed:
		var reasons []string
		for _, e := range batch.Errors.Data {
			r := e.Code + ": " + e.Message
			if e.Line > 0 {
				r = fmt.Sprintf("line %d: %s", e.Line, r)
			}
			reasons = append(reasons, r)
		}
		endErr = fmt.Errorf("%w: batch %s: %s", ErrBatchFailed, batch.ID, b.client.redact(strings.Join(reasons, "; ")))
	default:
		endErr = fmt.Errorf("ragvsft: batch %s %s without answering the request", batch.ID, batch.Status)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	g.done, g.answers, g.endErr = true, answers, endErr
	for id, ws := range g.waiters {
		a, ok := answers[id]
		if !ok {
			a = batchAnswer{batchID: batch.ID, customID: id, err: endErr}
		}
		for _, ch := range ws {
			ch <- a
		}
		delete(g.waiters, id)
	}
	g.live = 0
}

// answer turns a batch answer into Chat's result, reading a 200 body as
// OpenAIModel reads a synchronous response.
func (m *BatchModel) answer(a batchAnswer, req ChatRequest) (ChatResponse, error) {
	if a.err != nil {
		return ChatResponse{Batch: a.status != 0}, a.err
	}
	var res openai.ChatCompletion
	if err := json.Unmarshal(a.body, &res); err != nil {
		return ChatResponse{Batch: true}, fmt.Errorf("ragvsft: batch %s, request %s: reading the chat completion: %w", a.batchID, a.customID, err)
	}
	resp, err := m.model.response(&res, req)
	resp.Batch = true
	return resp, err
}

// logf writes one line to Out. A batcher's groups run on goroutines of
// their own: their lines are written one at a time.
func (b *batcher) logf(format string, args ...any) {
	if b.opts.Out != nil {
		b.logMu.Lock()
		defer b.logMu.Unlock()
		fmt.Fprintf(b.opts.Out, format+"\n", args...)
	}
}

// positiveOr returns v, or def when v is zero or negative.
func positiveOr[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
