package ragvsft

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Chat roles known to OpenAI's chat fine-tuning format.
const (
	RoleSystem    = "system"
	RoleDeveloper = "developer"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
	RoleFunction  = "function"
)

// Message is one turn of a chat conversation, as in OpenAI's chat format.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
	// Name optionally tells apart participants of the same role; a
	// "function" message needs it.
	Name string `json:"name,omitempty"`
	// Weight, on an assistant message of a training example, says whether
	// the message is trained on (1) or only given as context (0); nil means
	// 1, as for OpenAI.
	Weight *int `json:"weight,omitempty"`
}

// ChatRequest is what an Experiment asks a Model. An Experiment fills in the
// article's settings: temperature 0, seed 42, 400 tokens.
type ChatRequest struct {
	Messages []Message
	// Temperature 0 asks for the most likely answer, as in the article.
	// Models that refuse a temperature (OpenAI's reasoning models) are
	// asked at their default instead.
	Temperature float64
	// Seed asks for deterministic sampling where the provider supports it;
	// 0 sends no seed.
	Seed int64
	// MaxTokens caps the completion, a reasoning model's hidden reasoning
	// included (OpenAI's max_completion_tokens); 0 means the provider's
	// default.
	MaxTokens int
	// ResponseFormat, if set, asks for a reply that is one JSON value
	// conforming to a schema (OpenAI's structured outputs): OpenAIModel
	// sends it as response_format json_schema. A Model that cannot honour
	// it ignores it, so a caller parses the reply strictly either way.
	ResponseFormat *ResponseFormat
}

// ResponseFormat is a JSON Schema a Model's reply must conform to, as
// OpenAI's response_format {"type": "json_schema", "json_schema": {...}}.
// JudgePrompts' verdict schema is one. The zero value is not valid: Name
// and Schema are required.
type ResponseFormat struct {
	// Name names the format to the model: letters, digits, '_' and '-', at
	// most 64.
	Name string `json:"name"`
	// Description, optional, tells the model what the format is for.
	Description string `json:"description,omitempty"`
	// Schema is the JSON Schema object, as JSON.
	Schema json.RawMessage `json:"schema"`
	// Strict asks the provider to enforce the schema exactly (OpenAI's
	// strict structured outputs, which need every property required and
	// additionalProperties false).
	Strict bool `json:"strict,omitempty"`
}

// Usage counts the tokens one call consumed, as the provider reports them.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	// CachedPromptTokens are the prompt tokens the provider served from its
	// prompt cache (billed at Price.CachedInput); ReasoningTokens are the
	// completion tokens a reasoning model spent thinking (billed as output,
	// never shown). Both are part of the totals above.
	CachedPromptTokens int `json:"cached_prompt_tokens,omitempty"`
	ReasoningTokens    int `json:"reasoning_tokens,omitempty"`
}

// ChatResponse is a Model's answer.
type ChatResponse struct {
	Content string
	Usage   Usage
	// Model is the model that answered, as the provider names it.
	Model string
	// SystemFingerprint identifies the provider's backend configuration,
	// so a report can tell whether two runs were served alike.
	SystemFingerprint string
	// Cached is true when the answer came from a Cache, not the provider:
	// nothing was spent on it this time.
	Cached bool
	// Truncated is true when the completion token limit cut the answer
	// short (OpenAI's finish_reason "length"): Content is its beginning.
	Truncated bool
	// Batch is true when the answer came through the Batch API
	// (BatchModel), billed at the Batch price.
	Batch bool
}

// Model is a chat model: the thing every arm of an Experiment asks.
//
// Implementations must be safe for concurrent use.
type Model interface {
	Chat(ctx context.Context, req ChatRequest) (ChatResponse, error)
}

// ErrNoAnswer is returned by a Model that produced an empty completion.
var ErrNoAnswer = errors.New("ragvsft: model returned no answer")

// Arm is one way of answering: with or without fine-tuning, with or without
// retrieved context.
type Arm string

// The four arms of an Experiment.
const (
	// ArmBase asks the base model, closed book.
	ArmBase Arm = "base"
	// ArmFineTuned asks the fine-tuned model, closed book: does it know the
	// facts it was trained on?
	ArmFineTuned Arm = "fine-tuned"
	// ArmRAG asks the base model with the retrieved documents in its prompt.
	ArmRAG Arm = "rag"
	// ArmFineTunedRAG asks the fine-tuned model with the retrieved documents.
	ArmFineTunedRAG Arm = "fine-tuned+rag"
)

// AllArms lists the arms in the order reports show them.
var AllArms = []Arm{ArmBase, ArmFineTuned, ArmRAG, ArmFineTunedRAG}

func (a Arm) fineTuned() bool { return a == ArmFineTuned || a == ArmFineTunedRAG }
func (a Arm) retrieves() bool { return a == ArmRAG || a == ArmFineTunedRAG }

func (a Arm) valid() bool {
	for _, b := range AllArms {
		if a == b {
			return true
		}
	}
	return false
}

// Defaults an Experiment applies to zero fields, the article's settings.
const (
	DefaultK         = 5
	DefaultSeed      = 42
	DefaultMaxTokens = 400
)

// Experiment asks the same questions of up to four arms (ArmBase,
// ArmFineTuned, ArmRAG, ArmFineTunedRAG), scores every answer and reports
// who knew what.
//
// Dataset is required; so is Base for the base and rag arms, FineTuner (or
// FineTuned, for a model fine-tuned elsewhere) for the fine-tuned arms and
// Retriever for the rag arms. Base and FineTuned may be on different
// endpoints. Every
// other field's zero value means the article's setting. An Experiment is
// not safe for concurrent calls to Run.
type Experiment struct {
	// Dataset is the knowledge base: training examples, questions and
	// documents (see Dataset).
	Dataset Dataset
	// Base is the model before fine-tuning.
	Base Model
	// BaseModel names the base model for the FineTuner and the report,
	// e.g. "gpt-3.5-turbo".
	BaseModel string
	// FineTuner trains the fine-tuned arms' model on Dataset, unless
	// FineTuned is set.
	FineTuner FineTuner
	// FineTuned, if set, is the fine-tuned arms' model, already fine-tuned:
	// nothing is uploaded or trained, and FineTuner is not used. For a
	// model fine-tuned elsewhere and served behind an OpenAI-compatible
	// endpoint of its own (vLLM with a LoRA adapter, Ollama, llama.cpp,
	// an Azure deployment), make it with NewOpenAIFineTuned; the report
	// then names its endpoint and model (Report.FineTune).
	FineTuned *FineTuned
	// Hyperparameters of the fine-tuning job; zero fields are "auto".
	Hyperparameters Hyperparameters
	// Suffix names the fine-tuned model where the provider supports it.
	Suffix string
	// Retriever finds the context of the rag arms. Run indexes the
	// Dataset's documents into it.
	Retriever Retriever
	// Evaluator judges answers; nil means NumericEvaluator, the article's
	// rule. If it is a GoldChecker, Run asks it about every question first
	// and stops before spending anything if it cannot score them all.
	Evaluator Evaluator
	// Abstention tells refusals ("I don't know.") from answers: a refusal
	// is recorded as OutcomeAbstained, not evaluated, never correct. nil
	// means DefaultAbstentionPatterns(); AbstentionPatterns{} turns it off.
	Abstention Abstention
	// Arms to run, in report order; nil means AllArms.
	Arms []Arm
	// K is how many documents are retrieved per question; 0 means 5.
	K int
	// Prompts; zero fields mean ArticlePrompts.
	Prompts Prompts
	// Seed is sent with every chat request and to the FineTuner; 0 means 42.
	Seed int64
	// Temperature of every chat request; the zero value is the article's 0.
	Temperature float64
	// MaxTokens per answer; 0 means 400.
	MaxTokens int
	// Concurrency is how many questions are asked at once; 0 means 8, or
	// every item at once when Base or the fine-tuned model is a BatchModel
	// (also behind a Cache), so that they go in one batch.
	Concurrency int
	// Results, if set, is the run's memory across processes (a
	// Checkpoint, or a Run's folder): the items of its Previous results,
	// same arm and same question, are not asked again, and each new result
	// is handed to its Append as soon as it is scored, one call at a time.
	// An Append that fails stops the run with its error: a result that
	// cannot be kept is not paid for again and again.
	Results ResultStore
	// HoldOutFacts, a fraction in [0, 1), holds that share of the facts
	// (the training examples) out of fine-tuning, drawn with Seed (see
	// Result.Fact for how a question maps to its fact, and the README for
	// the sampling): every question is still asked of every arm, and the
	// reports give each arm on trained and on held-out facts apart (the
	// "facts" split), so that a reader sees what the fine-tuned model
	// learnt of what it saw and what it makes up for what it did not. The
	// rag arms still index every document. 0 trains on every fact. It
	// needs a FineTuner: a FineTuned model was trained elsewhere on what it
	// was trained on.
	HoldOutFacts float64
	// Paraphrases, if above 0, asks Paraphraser for that many rewordings
	// of each trained example's question (its last user turn) and fine-tunes
	// on the examples and their rewordings: the training side of Ovadia et
	// al.'s finding that facts are recalled under new wordings when they
	// were trained under several. A rewording that is an evaluation
	// question's held-out wording is dropped, so the wordings a questions
	// file holds out stay held out. Report.Paraphrase lists every
	// rewording and what it cost. It needs a FineTuner.
	Paraphrases int
	// Paraphraser rewords the questions, with Paraphrases; nil means
	// RuleParaphraser{} (offline, English templates). Wrap a
	// ModelParaphraser's Model in a Cache so a rerun pays nothing twice.
	Paraphraser Paraphraser

	previous []Result // Results.Previous(), read once by settings
}

// ErrMissing is wrapped by Run when a component an arm needs is not set.
var ErrMissing = errors.New("ragvsft: experiment is missing a component")

// settings is the Experiment with defaults applied.
func (e *Experiment) settings() (Experiment, error) {
	s := *e
	if s.Dataset == nil {
		return s, fmt.Errorf("%w: Dataset", ErrMissing)
	}
	if s.Arms == nil {
		s.Arms = AllArms
	}
	if len(s.Arms) == 0 {
		return s, errors.New("ragvsft: no arms to run")
	}
	seen := map[Arm]bool{}
	for _, a := range s.Arms {
		switch {
		case !a.valid():
			return s, fmt.Errorf("ragvsft: unknown arm %q (want one of %v)", a, AllArms)
		case seen[a]:
			return s, fmt.Errorf("ragvsft: arm %q listed twice", a)
		case !a.fineTuned() && s.Base == nil:
			return s, fmt.Errorf("%w: Base model (needed by arm %q)", ErrMissing, a)
		case a.fineTuned() && s.FineTuner == nil && s.FineTuned == nil:
			return s, fmt.Errorf("%w: FineTuner or FineTuned (needed by arm %q)", ErrMissing, a)
		case a.fineTuned() && s.FineTuned != nil && s.FineTuned.Model == nil:
			return s, fmt.Errorf("%w: FineTuned.Model (needed by arm %q)", ErrMissing, a)
		case a.retrieves() && s.Retriever == nil:
			return s, fmt.Errorf("%w: Retriever (needed by arm %q)", ErrMissing, a)
		}
		seen[a] = true
	}
	switch {
	case s.K < 0:
		return s, fmt.Errorf("%w, got %d", ErrBadK, s.K)
	case s.K == 0:
		s.K = DefaultK
	}
	if s.MaxTokens < 0 {
		return s, fmt.Errorf("ragvsft: max tokens must be positive, got %d", s.MaxTokens)
	}
	if s.MaxTokens == 0 {
		s.MaxTokens = DefaultMaxTokens
	}
	if s.Seed == 0 {
		s.Seed = DefaultSeed
	}
	if s.Concurrency < 0 {
		return s, fmt.Errorf("ragvsft: concurrency must be positive, got %d", s.Concurrency)
	}
	if s.Concurrency == 0 {
		s.Concurrency = 8
	}
	if s.Evaluator == nil {
		s.Evaluator = NumericEvaluator{}
	}
	if s.Abstention == nil {
		s.Abstention = DefaultAbstentionPatterns()
	}
	if p, ok := s.Abstention.(AbstentionPatterns); ok {
		if err := p.CheckPatterns(); err != nil {
			return s, err
		}
	}
	if s.HoldOutFacts != 0 && s.FineTuned != nil {
		return s, fmt.Errorf("%w: a FineTuned model was fine-tuned elsewhere, on facts this run cannot hold out; use a FineTuner", ErrBadHoldOut)
	}
	switch {
	case s.Paraphrases < 0:
		return s, fmt.Errorf("%w: %d rewordings per question", ErrBadParaphrases, s.Paraphrases)
	case s.Paraphrases > 0 && s.FineTuned != nil:
		return s, fmt.Errorf("%w: a FineTuned model was fine-tuned elsewhere, on what it was trained on; use a FineTuner", ErrBadParaphrases)
	case s.Paraphrases > 0 && s.Paraphraser == nil:
		s.Paraphraser = RuleParaphraser{}
	}
	s.Prompts = s.Prompts.withDefaults()
	if s.Results != nil {
		s.previous = s.Results.Previous()
	}
	return s, nil
}

// Run indexes, fine-tunes, asks every arm every question and scores the
// answers. Before any of that it checks the questions: an Evaluator that is
// a GoldChecker and cannot score some of them makes Run return an error
// wrapping ErrUnreadableGold and a *ValidationError naming each one (by the
// training example's line when the questions are the examples').
//
// The base and rag arms do not wait for the fine-tuning: they are asked
// while the FineTuner runs (an OpenAI job takes minutes to hours), and the
// fine-tuned arms once it has returned. A fine-tuning that fails leaves the
// other arms' answers in the Report (and, through Results, in a
// checkpoint) and Run returns its error.
//
// It returns a Report even when it fails part way: a cancelled ctx makes
// Run return promptly with the results finished so far (Report.Complete
// false) and ctx's error. A question whose model call fails is recorded as
// an error, not as a wrong answer, and the run goes on.
func (e *Experiment) Run(ctx context.Context) (*Report, error) {
	s, err := e.settings()
	if err != nil {
		return nil, err
	}
	questions, err := Questions(s.Dataset)
	if err != nil {
		return nil, err
	}
	rep := newReport(s, questions)
	// Whatever happens, the report summarizes what finished.
	defer func() {
		rep.summarize()
		rep.finish()
	}()

	p, err := s.plan(rep, questions)
	if err != nil {
		return rep, err
	}
	training := p.training

	var retrieved retrieval
	if slices.ContainsFunc(s.Arms, Arm.retrieves) {
		if retrieved, err = s.retrieveAll(ctx, questions, p.retrieve); err != nil {
			return rep, err
		}
		p.keptRetrieval(retrieved, s.Arms)
		rep.summarizeRetrieval(questions, retrieved)
	}

	fine := &fineTuning{done: make(chan struct{}), ft: s.FineTuned}
	if p.fineTune {
		if training, err = s.paraphrase(ctx, rep, training, questions); err != nil {
			return rep, err
		}
		if c, ok := s.FineTuner.(FineTuneChecker); ok && s.Paraphrases > 0 && p.fineTuneAsks {
			// The rewordings made the training set larger than planned.
			if err := c.CheckFineTune(s.fineTuneRequest(training)); err != nil {
				return rep, fmt.Errorf("ragvsft: the fine-tuning of %s with its rewordings cannot be done: %w", datasetName(s.Dataset), err)
			}
		}
	}
	if p.fineTune && p.fineTuneAsks {
		// The base and rag arms do not need the fine-tuned model: they are
		// asked while the job runs, and the fine-tuned arms once it is done.
		go func() {
			defer close(fine.done)
			fine.ft, fine.err = s.fineTune(ctx, training)
		}()
	} else {
		close(fine.done)
	}

	seen := trainingWordings(training)
	label := func(r *Result, q Question) {
		r.SeenInTraining = seen[normalizeWording(q.Text)]
		r.Fact = p.facts.fact(q)
	}
	workers := s.Concurrency
	if e.Concurrency == 0 && (batched(s.Base) || (s.FineTuned != nil && batched(s.FineTuned.Model)) || (p.fineTune && batchesFineTuned(s.FineTuner))) {
		workers = len(s.Arms) * len(questions) // every call waits for its batch: all in one
	}
	err = s.askAll(ctx, rep, p, retrieved, fine, label, workers)
	<-fine.done // a cancelled ctx ends the job's wait too
	if fine.err == nil {
		rep.FineTune = fine.ft
	}
	return rep, cmp.Or(fine.err, err)
}

// fineTuning is the fine-tuned arms' model, ready once done is closed:
// ft, or the error that stopped the fine-tuning.
type fineTuning struct {
	done chan struct{}
	ft   *FineTuned
	err  error
}

// fineTune runs the FineTuner on training and checks what it returns.
func (s *Experiment) fineTune(ctx context.Context, training Dataset) (*FineTuned, error) {
	ft, err := s.FineTuner.FineTune(ctx, s.fineTuneRequest(training))
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil, err
		}
		if strings.HasPrefix(err.Error(), "ragvsft: ") {
			return nil, err // ours already say what failed, without "ragvsft: " twice
		}
		return nil, fmt.Errorf("ragvsft: fine-tuning: %w", err)
	}
	if ft == nil || ft.Model == nil {
		// A FineTuner of the user's that returns no model must not
		// crash a worker later.
		return nil, fmt.Errorf("%w: the FineTuner (%T) returned no fine-tuned Model", ErrMissing, s.FineTuner)
	}
	return ft, nil
}

// batched reports whether m answers through the Batch API.
func batched(m Model) bool {
	if c, ok := m.(*cachedModel); ok {
		m = c.m
	}
	_, ok := m.(*BatchModel)
	return ok
}

// batchesFineTuned reports whether ft returns a model that answers through
// the Batch API (OpenAIFineTuner.Batch).
func batchesFineTuned(ft FineTuner) bool {
	if c, ok := ft.(*cachedFineTuner); ok {
		ft = c.ft
	}
	o, ok := ft.(*OpenAIFineTuner)
	return ok && o.Batch != nil
}

// retrieval is what the rag arms retrieved for each question: its hits,
// or the error that left it with none.
type retrieval struct {
	hits [][]Hit
	errs []error
}

// retrieveAll indexes the documents and retrieves for every question, in
// one call when the Retriever is a BatchRetriever; the two rag arms share
// the hits. A failed index fails the run (the Retriever keeps what it
// embedded, see ChromemRetriever.Index); a question whose retrieval fails
// (its query embedding, say) is recorded, and its rag items become errors,
// asked again by a resumed run whose ResultStore retries errors. Hits that break the
// Retriever contract fail the run before any model is asked (see
// checkRetrieval).
//
// Only the questions need marks are retrieved, and the documents are not
// indexed when there are none: a rerun of a finished run retrieves nothing.
func (s *Experiment) retrieveAll(ctx context.Context, questions []Question, need []bool) (retrieval, error) {
	out := retrieval{hits: make([][]Hit, len(questions)), errs: make([]error, len(questions))}
	var todo []int
	for i := range questions {
		if need[i] {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return out, nil
	}
	asked := make([]Question, len(todo))
	for j, i := range todo {
		asked[j] = questions[i]
	}
	got, err := s.retrieveQuestions(ctx, asked)
	for j, i := range todo {
		out.hits[i], out.errs[i] = got.hits[j], got.errs[j]
	}
	return out, err
}

// retrieveQuestions indexes the documents and retrieves for each of
// questions.
func (s *Experiment) retrieveQuestions(ctx context.Context, questions []Question) (retrieval, error) {
	out := retrieval{hits: make([][]Hit, len(questions)), errs: make([]error, len(questions))}
	docs, err := Documents(s.Dataset)
	if err != nil {
		return out, err
	}
	if err := s.Retriever.Index(ctx, docs); err != nil {
		return out, fmt.Errorf("ragvsft: building the index of the rag arms: %w", err)
	}
	if br, ok := s.Retriever.(BatchRetriever); ok {
		texts := make([]string, len(questions))
		for i, q := range questions {
			texts[i] = retrievalQuery(q)
		}
		hits, err := br.RetrieveBatch(ctx, texts, s.K)
		switch {
		case err == nil && len(hits) != len(questions):
			return out, fmt.Errorf("%w: %T returned %d results for %d questions", ErrBadRetrieval, s.Retriever, len(hits), len(questions))
		case err == nil:
			out.hits = hits
			return out, checkRetrieval(s.Retriever, docs, questions, hits, s.K)
		case ctx.Err() != nil:
			return out, fmt.Errorf("ragvsft: retrieving for %d questions: %w", len(questions), err)
		}
		// The batch failed: each question on its own, so that one
		// failure costs one question.
	}
	err = forEach(ctx, len(questions), s.Concurrency, func(i int) error {
		h, err := s.Retriever.Retrieve(ctx, retrievalQuery(questions[i]), s.K)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			out.errs[i] = fmt.Errorf("ragvsft: retrieving for question %s: %w", questions[i].ID, err)
			return nil
		}
		out.hits[i] = h
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("ragvsft: retrieving: %w", err)
	}
	return out, checkRetrieval(s.Retriever, docs, questions, out.hits, s.K)
}

// askAll asks every arm every question on a bounded pool and stores the
// results in arm-major, question-minor order whatever the completion order.
//
// label marks each result with what the data says of its question (seen in
// training, fact trained or held out), an earlier run's results too.
func (s *Experiment) askAll(ctx context.Context, rep *Report, p *plan, retrieved retrieval, fine *fineTuning, label func(*Result, Question), workers int) error {
	questions := p.questions
	n := len(questions)
	results := make([]*Result, len(s.Arms)*n)
	for i, r := range p.kept {
		r.Outcome = s.derivedOutcome(r) // a checkpoint older than outcomes has none
		label(&r, questions[i%n])       // facts of the data, even in an older checkpoint (checkPrevious vetted the fine-tuned arms')
		results[i] = &r
	}
	todo := slices.Clone(p.todo)
	// The arms that need no fine-tuned model first, so that they are all
	// handed out before a worker waits for the fine-tuning.
	slices.SortStableFunc(todo, func(a, b int) int {
		return cmp.Compare(b2i(s.Arms[a/n].fineTuned()), b2i(s.Arms[b/n].fineTuned()))
	})
	var mu sync.Mutex
	err := forEach(ctx, len(todo), max(workers, 1), func(j int) error {
		i := todo[j]
		arm, q := s.Arms[i/n], questions[i%n]
		var hits []Hit
		var retrErr error
		if arm.retrieves() {
			hits, retrErr = retrieved.hits[i%n], retrieved.errs[i%n]
		}
		var ft *FineTuned
		if arm.fineTuned() {
			select {
			case <-fine.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if fine.err != nil {
				return nil // Run reports it; the other arms' items finish
			}
			ft = fine.ft
		}
		res, err := s.ask(ctx, arm, q, hits, retrErr, ft)
		if err != nil {
			return err // only a cancelled ctx stops the run
		}
		label(res, q)
		mu.Lock()
		defer mu.Unlock()
		results[i] = res
		if s.Results != nil {
			if err := s.Results.Append(*res); err != nil {
				return fmt.Errorf("ragvsft: keeping the result of %s/%s: %w", arm, q.ID, err)
			}
		}
		return nil
	})
	for _, r := range results {
		if r != nil {
			rep.Results = append(rep.Results, *r)
		}
	}
	return err
}

// ask puts one question to one arm. It fails only when ctx is done; any other
// failure is recorded in the Result.
//
// A rag arm's question whose retrieval failed (retrErr) is not asked: it is
// an error item, asked again by a resumed run that retries errors.
func (s *Experiment) ask(ctx context.Context, arm Arm, q Question, hits []Hit, retrErr error, ft *FineTuned) (*Result, error) {
	model := s.Base
	if arm.fineTuned() {
		model = ft.Model
	}
	msgs := s.Prompts.closedBook(q)
	if arm.retrieves() {
		msgs = s.Prompts.rag(q, hits)
	}
	res := &Result{Arm: arm, QuestionID: q.ID, Question: q.Text, Conversation: q.Messages, Gold: q.Gold, GoldRank: -1}
	if arm.retrieves() {
		res.Retrieved = make([]RetrievedDoc, len(hits))
		for i, h := range hits {
			res.Retrieved[i] = RetrievedDoc{ID: h.Document.ID, Rank: h.Rank, Score: h.Score, Text: h.Document.Text}
		}
		res.GoldRank = GoldRank(hits, q.DocID)
		if retrErr != nil {
			res.Error, res.Outcome = retrErr.Error(), OutcomeError
			return res, nil
		}
	}
	start := time.Now()
	resp, err := model.Chat(ctx, ChatRequest{Messages: msgs, Temperature: s.Temperature, Seed: s.Seed, MaxTokens: s.MaxTokens})
	res.Latency = time.Since(start)
	// A failed call may still have been billed (a reasoning model cut
	// short): its usage counts.
	res.Usage, res.Model, res.SystemFingerprint, res.Cached = resp.Usage, resp.Model, resp.SystemFingerprint, resp.Cached
	res.Batch = resp.Batch
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		res.Error, res.Outcome = err.Error(), OutcomeError
		return res, nil
	}
	res.Answer, res.Truncated = resp.Content, resp.Truncated
	if s.Abstention.Abstains(resp.Content) {
		res.Outcome = OutcomeAbstained // not evaluated: a refusal is never correct
		return res, nil
	}
	v, err := s.Evaluator.Evaluate(ctx, q, resp.Content)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		res.Error, res.Outcome = fmt.Sprintf("evaluating: %v", err), OutcomeError
		// A judge that failed was still asked, and billed.
		res.Verdict = Verdict{Judge: v.Judge}
		return res, nil
	}
	res.Verdict, res.Outcome = v, verdictOutcome(v)
	return res, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// forEach calls fn(0..n-1) on at most workers goroutines. It stops handing
// out work at the first error or when ctx is done, waits for the calls in
// flight, and returns the first error (ctx's error if it was cancelled).
func forEach(ctx context.Context, n, workers int, fn func(i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		if ctx.Err() != nil {
			break // select picks at random when both cases are ready
		}
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}
