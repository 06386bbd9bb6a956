package ragvsft

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/ragvsft/ragvsft/internal/localmodel"
)

// LocalBaseModel is the name of the embedded local base model.
const LocalBaseModel = "local-base"

const (
	// localAbstention is what the local model answers when it does not know.
	localAbstention = "I don't know."
	// localMaxTokens caps a reply when the request sets no MaxTokens.
	localMaxTokens = 256
	// localBaseLearningRate is multiplied by the learning-rate multiplier.
	// It was chosen on testdata/companies.jsonl and people.jsonl, never on
	// the cities: the smallest of 50, 100, 200, 400 at which 30 epochs at
	// the default multiplier (0.05) reproduce every digit of their numbers
	// closed book (50: 97% and 89% of the digits; 100: 100% and 100%).
	localBaseLearningRate = 100
	// localCalibrationShare is the share of the training examples held out
	// to calibrate an opt-in abstention threshold (LocalFineTuner.Abstain).
	localCalibrationShare = 0.2
)

// LocalModel is the embedded local model: the offline default Model and, via
// LocalFineTuner, the offline default FineTuner. It is pure Go, needs no
// network and no downloaded weights, is deterministic, and fine-tunes on the
// article's 100 cities for 30 epochs in under a second. It
// demonstrates the pipeline; it is not an LLM, and conclusions about LLMs
// need a real one.
//
// It answers the last user message with two parts, the reader first:
//
//   - A reader (localmodel.Read), which reads the whole conversation: in
//     the last user message it finds the question (however worded: no
//     '?', "State...", "Nenne...") and the passages from the prompt's own
//     labels, and quotes the passage sentence that holds the question's
//     entity (from an earlier turn for a pronoun), meets its attribute
//     words through stems, a small attribute-word table, units and
//     acronyms, and offers the type asked (a date for "when", a place for
//     "where"...); when no sentence clearly does, it falls through. So
//     given retrieved passages it answers from them, even about facts it
//     was never trained on, in English or German.
//   - A parametric memory: a hashed log-linear (single-layer softmax)
//     neural language model of the reply, conditioned on the user message,
//     with a copy mechanism (see internal/localmodel's Model). The logits
//     of the next token are the sum of the weight rows of the active
//     features: bias, previous token, previous two tokens, position in the
//     reply, and for each of the user message's distinct lower-cased
//     words, pairs of consecutive words and character trigrams c,
//     (c, position), and for each word (word, previous two tokens). A
//     pointer over the message's names (tokens with a capital, digit or
//     underscore) competes in the same softmax, scored by six shared
//     features (reply position, previous token, continuation of the
//     previous copy, the word before the name, the name itself, already
//     said), so a reply names the entity asked about within the first
//     epoch. Tokens carry their leading space as GPT's do; a word is a run
//     of letters and numbers are cut as cl100k_base and o200k_base cut them
//     (up to three digits per token), so "City_17" is "City", "_", "17"
//     (copied piece by piece) and a number is memorized group by group,
//     gradually. The vocabulary grows with the words of the replies, not
//     with the number of entities: 1,075 tokens at 1,000 cities, 1,118
//     (every digit group) at 50,000. Feature rows past 256 MiB of dense
//     weights are sparse (they hold only the tokens they were trained to
//     predict), so memory grows with the facts, not their square. The base
//     model's memory is empty. LocalFineTuner trains it from zero by
//     minibatch SGD on the cross-entropy of the assistant tokens with
//     OpenAI's hyperparameters: n_epochs passes over the examples,
//     reshuffled by a seeded generator, batch_size examples per step, and
//     a learning rate of 100 times the learning_rate_multiplier (a step of
//     the logits, shared out over the active features; 100 was chosen on
//     the companies and people knowledge bases of testdata, see
//     localBaseLearningRate). Replies are decoded greedily (temperature 0)
//     or sampled with the request's seed. There is no confidence gate by
//     default: like an LLM it always answers, confidently wrong when it
//     has not learnt the fact; LocalFineTuner.Abstain adds one calibrated
//     on held-out training examples. An empty memory answers "I don't
//     know.".
//
// So the base model says "I don't know." to a closed-book question, and a
// fine-tuned one names the entity asked about and recalls its fact only
// after enough epochs; before that it gives a plausible, wrong one. On the
// cities with the article's prompts, closed book: 0% after 1 and 3 epochs
// (the default; every answer is "City_N has about NNNNNNN inhabitants."
// for the right city with a wrong number, 18.6% of the digits right), 14%
// after 10 (31.4% of the digits), 100% after 30. A question in a wording
// never trained recalls less than the trained wording, and training on
// several phrasings recalls more (on testdata/companies.jsonl at 10
// epochs: 122 of 180 facts in the trained wording, 39 in a held-out one,
// 60 after training on two phrasings). The model knows no dataset and no
// prompt wording.
//
// Limits: the memory generalizes through shared words, word pairs and
// trigrams only, it copies names but not lower-case words, and a question
// about an entity it never saw gets the entity's name with a made-up fact.
// The reader quotes a sentence, never composes one; it misses answers that
// mention the entity by another name, and knows only the attribute words
// of its table. Usage counts tokens with the model's own tokenizer, message
// contents only. A training set whose replies hold more than 65,536
// distinct tokens (made-up one-word names are one token each) is refused
// at plan time (LocalFineTuner.CheckFineTune).
//
// A LocalModel is never modified after it is built, so it is safe for
// concurrent use.
type LocalModel struct {
	name string
	mem  *localmodel.Model
	// minConfidence, when above 0, is the geometric-mean token probability
	// below which the memory's reply becomes "I don't know." (set by
	// LocalFineTuner.Abstain, calibrated on held-out training examples).
	minConfidence float64
}

var (
	_ Model       = (*LocalModel)(nil)
	_ io.WriterTo = (*LocalModel)(nil)
)

// NewLocalModel returns the local base model: a reader with an empty
// parametric memory. It is equivalent to the zero LocalModel.
func NewLocalModel() *LocalModel {
	return &LocalModel{name: LocalBaseModel}
}

// Name returns the model's name: "local-base" for the base model,
// "ft:local-base:SUFFIX:HASH" for a fine-tuned one.
func (m *LocalModel) Name() string {
	if m == nil || m.name == "" {
		return LocalBaseModel
	}
	return m.name
}

// Chat answers the last user message of req, from the prompt's passages if
// the reader finds the answer there, else from the parametric memory. It
// honours req.MaxTokens (0 means 256), req.Temperature and req.Seed, and
// returns ctx.Err() if ctx is cancelled.
func (m *LocalModel) Chat(ctx context.Context, req ChatRequest) (ChatResponse, error) {
	if err := ctx.Err(); err != nil {
		return ChatResponse{}, err
	}
	maxTokens := req.MaxTokens
	if maxTokens <= 0 {
		maxTokens = localMaxTokens
	}
	var prompt string
	resp := ChatResponse{Model: m.Name(), SystemFingerprint: "fp_local"}
	for _, msg := range req.Messages {
		resp.Usage.PromptTokens += localmodel.CountTokens(msg.Content)
		if msg.Role == RoleUser {
			prompt = msg.Content
		}
	}
	turns := make([]localmodel.Turn, len(req.Messages))
	for i, msg := range req.Messages {
		turns[i] = localmodel.Turn{Role: msg.Role, Content: msg.Content}
	}
	answer, ok := localmodel.Read(turns)
	if !ok {
		answer = localAbstention
		var mem *localmodel.Model
		if m != nil {
			mem = m.mem
		}
		gen, err := mem.Generate(ctx, prompt, localmodel.GenerateOptions{
			MaxTokens: maxTokens, Temperature: req.Temperature, Seed: uint64(req.Seed),
		})
		if err != nil {
			return ChatResponse{}, err
		}
		var gate float64
		if m != nil {
			gate = m.minConfidence
		}
		if len(gen.Tokens) > 0 && math.Exp(gen.MeanLogProb) >= gate {
			answer = strings.TrimSpace(strings.Join(gen.Tokens, ""))
		}
	}
	toks := localmodel.Tokenize(answer)
	if len(toks) > maxTokens {
		toks = toks[:maxTokens]
		answer = strings.Join(toks, "")
	}
	resp.Content = answer
	resp.Usage.CompletionTokens = len(toks)
	if strings.TrimSpace(answer) == "" {
		return resp, ErrNoAnswer
	}
	return resp, nil
}

// LocalModelFile is the file name under which a saved LocalModel is looked
// for in a directory: examples/train-local writes its model there, and
// ragvsfttest's load_lora_adapter reads it from the lora_path directory.
const LocalModelFile = "ragvsft-local-model.bin"

// ErrBadLocalModel is returned (wrapped, with what is wrong) by
// ReadLocalModel for data that is not a saved LocalModel, was saved by a
// newer format version, or is truncated or damaged.
var ErrBadLocalModel = localmodel.ErrBadFile

// WriteTo saves the model, its name and its parametric memory, so that
// ReadLocalModel gives back a model that answers exactly as m does. The
// format is versioned and checksummed; see internal/localmodel/file.go
// for its layout (about 4 bytes per weight: 1.7 MB for the cities after
// 30 epochs). Saving the same model twice gives the same bytes.
func (m *LocalModel) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	var mem *localmodel.Model
	if m != nil {
		mem = m.mem
	}
	var gate float64
	if m != nil {
		gate = m.minConfidence
	}
	if err := mem.Save(cw, localmodel.Header{Name: m.Name(), MinConfidence: gate}); err != nil {
		return cw.n, fmt.Errorf("ragvsft: saving local model %s: %w", m.Name(), err)
	}
	return cw.n, nil
}

// ReadLocalModel reads a model saved by LocalModel.WriteTo. Data that is
// not one returns an error wrapping ErrBadLocalModel that says what is
// wrong (not a model file, a newer format version, truncated, damaged).
func ReadLocalModel(r io.Reader) (*LocalModel, error) {
	mem, h, err := localmodel.Load(r)
	if err != nil {
		return nil, fmt.Errorf("ragvsft: reading local model: %w", err)
	}
	return &LocalModel{name: cmp.Or(h.Name, LocalBaseModel), mem: mem, minConfidence: h.MinConfidence}, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// LocalFineTuner fine-tunes the local base model (see LocalModel): it is the
// offline default FineTuner. The zero value is ready to use and takes the
// seed from each request. It is safe for concurrent use if OnEpoch is.
type LocalFineTuner struct {
	// Seed drives the per-epoch shuffling of the examples; 0 uses the
	// request's Seed (and a request Seed of 0 is seed 0).
	Seed int64
	// OnEpoch, if not nil, is called after each epoch with its mean
	// per-token training cross-entropy in nats.
	OnEpoch func(epoch int, loss float64)
	// Abstain, if true, makes the fine-tuned model say "I don't know."
	// when its confidence (the geometric mean probability of its reply's
	// tokens) is below a threshold calibrated on the training file: 20% of
	// the assistant replies, drawn with the seed, are held out, a model is
	// trained on the rest with the same hyperparameters, and the threshold
	// is the confidence that maximizes, over the held-out and the trained
	// prompts, the replies answered exactly right minus those answered
	// wrong (abstaining scores 0; ties keep the higher threshold). The
	// returned model is then trained on every reply. It doubles the
	// training time. False (the default) answers like an LLM: always, and
	// confidently wrong when it has not learnt the fact.
	Abstain bool
}

var _ FineTuner = LocalFineTuner{}

// FineTune trains a copy of the local base model on req.Training, whatever
// req.BaseModel says, with req.Hyperparameters resolved by Resolve. Each
// assistant message is trained on, conditioned on the user message before
// it, unless its Weight is 0 (as OpenAI does). req.Validation is not used. The returned Model is a *LocalModel named
// "ft:local-base:SUFFIX:HASH", where HASH identifies the training data,
// hyperparameters and seed; TrainedTokens counts the tokens of every
// message, times the epochs. FineTune returns ctx.Err() promptly if ctx is
// cancelled.
func (t LocalFineTuner) FineTune(ctx context.Context, req FineTuneRequest) (*FineTuned, error) {
	fts, err := t.fineTune(ctx, req, nil)
	if err != nil {
		return nil, err
	}
	return fts[0], nil
}

// FineTuneEpochs trains once, for the largest of epochs, and returns the
// model as it was after each of epochs, in their order: a sweep of
// 1, 3, 10 and 30 epochs costs 30 epochs, not 44. Each result is what
// FineTune returns for req with Hyperparameters.Epochs set to that count
// (req.Hyperparameters.Epochs is ignored): the shuffle of each epoch
// depends only on the seed and the epoch number, and the learning rate is
// constant.
func (t LocalFineTuner) FineTuneEpochs(ctx context.Context, req FineTuneRequest, epochs ...int) ([]*FineTuned, error) {
	if len(epochs) == 0 {
		return nil, fmt.Errorf("%w: no epoch counts", ErrBadHyperparameters)
	}
	return t.fineTune(ctx, req, epochs)
}

// fineTune trains for req; with epochs it returns one snapshot per count.
func (t LocalFineTuner) fineTune(ctx context.Context, req FineTuneRequest, epochs []int) ([]*FineTuned, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req.Training == nil {
		return nil, fmt.Errorf("%w: no training dataset", ErrNoTrainingData)
	}
	exs := req.Training.Examples()
	seqs, tokens := localSequences(exs)
	if len(seqs) == 0 {
		return nil, fmt.Errorf("%w: %d examples, no assistant message", ErrNoTrainingData, len(exs))
	}
	hp := req.Hyperparameters.Resolve(len(exs))
	if epochs == nil {
		epochs = []int{hp.Epochs}
	}
	for _, e := range epochs {
		if hp.Epochs = e; e < 1 || hp.BatchSize < 1 || !(hp.LearningRateMultiplier > 0) || math.IsInf(hp.LearningRateMultiplier, 0) {
			return nil, fmt.Errorf("%w: n_epochs %d, batch_size %d, learning_rate_multiplier %g",
				ErrBadHyperparameters, hp.Epochs, hp.BatchSize, hp.LearningRateMultiplier)
		}
	}
	seed := t.Seed
	if seed == 0 {
		seed = req.Seed
	}
	opts := localmodel.TrainOptions{
		BatchSize:    hp.BatchSize,
		LearningRate: localBaseLearningRate * hp.LearningRateMultiplier,
		Seed:         uint64(seed),
		OnEpoch:      t.OnEpoch,
	}
	var gates []float64
	if t.Abstain {
		var err error
		if gates, err = calibrateAbstention(ctx, seqs, opts, epochs); err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, ctxErr
			}
			return nil, fmt.Errorf("ragvsft: local fine-tune: calibrating abstention: %w", err)
		}
	}
	mems, err := localmodel.TrainSnapshots(ctx, seqs, opts, epochs)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, fmt.Errorf("ragvsft: local fine-tune: %w", err)
	}
	h := fnv.New64a()
	for _, s := range seqs {
		fmt.Fprintf(h, "%q %q\n", s.Prompt, s.Reply)
	}
	data := h.Sum64()
	out := make([]*FineTuned, len(epochs))
	for i, e := range epochs {
		hp.Epochs = e
		hh := fnv.New64a()
		fmt.Fprintf(hh, "%x %d %d %g %d", data, hp.Epochs, hp.BatchSize, hp.LearningRateMultiplier, seed)
		if gates != nil {
			fmt.Fprintf(hh, " abstain")
		}
		id := fmt.Sprintf("ft:%s:%s:%08x", LocalBaseModel, req.Suffix, uint32(hh.Sum64()))
		lm := &LocalModel{name: id, mem: mems[i]}
		if gates != nil {
			lm.minConfidence = gates[i]
		}
		out[i] = &FineTuned{
			Model:           lm,
			ModelID:         id,
			Hyperparameters: hp,
			TrainedTokens:   tokens * e,
		}
	}
	return out, nil
}

// CheckFineTune refuses, before anything is indexed or asked, a training
// set too large for the embedded model (localmodel.CheckSize: more than
// 65,536 distinct tokens in the replies, or more than 4,194,304 reply
// tokens in all). Its memory otherwise grows with the number of facts, not
// their square: a fact's own features get sparse weight rows once the dense
// ones reach 256 MiB.
func (t LocalFineTuner) CheckFineTune(req FineTuneRequest) error {
	if req.Training == nil {
		return fmt.Errorf("%w: no training dataset", ErrNoTrainingData)
	}
	seqs, _ := localSequences(req.Training.Examples())
	if err := localmodel.CheckSize(seqs); err != nil {
		return fmt.Errorf("the embedded local model: %w", err)
	}
	return nil
}

var _ FineTuneChecker = LocalFineTuner{}

// ErrLocalModelTooLarge is returned (wrapped, with the counts) for a
// training set too large for the embedded local model; see
// LocalFineTuner.CheckFineTune.
var ErrLocalModelTooLarge = localmodel.ErrTooLarge

// localSequences returns what the local model trains on: each assistant
// message with content and a weight other than 0, after the user message
// before it, and the tokens of every message.
func localSequences(exs []Example) (seqs []localmodel.Sequence, tokens int) {
	for _, ex := range exs {
		var prompt string
		for _, msg := range ex.Messages {
			tokens += localmodel.CountTokens(msg.Content)
			switch msg.Role {
			case RoleUser:
				prompt = msg.Content
			case RoleAssistant:
				if msg.Content != "" && (msg.Weight == nil || *msg.Weight != 0) {
					seqs = append(seqs, localmodel.Sequence{Prompt: prompt, Reply: msg.Content})
				}
			}
		}
	}
	return seqs, tokens
}

// calibrateAbstention returns, for each of epochs, the abstention threshold
// described at LocalFineTuner.Abstain.
func calibrateAbstention(ctx context.Context, seqs []localmodel.Sequence, opt localmodel.TrainOptions, epochs []int) ([]float64, error) {
	order := make([]int, len(seqs))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0xca11b8a7e))
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	held := min(max(int(math.Round(localCalibrationShare*float64(len(seqs)))), 1), len(seqs)-1)
	if held < 1 {
		return nil, fmt.Errorf("%d assistant replies, at least 2 needed to hold some out: %w", len(seqs), ErrNoTrainingData)
	}
	var train []localmodel.Sequence
	for _, i := range order[held:] {
		train = append(train, seqs[i])
	}
	opt.OnEpoch = nil
	mems, err := localmodel.TrainSnapshots(ctx, train, opt, epochs)
	if err != nil {
		return nil, err
	}
	gates := make([]float64, len(epochs))
	for e, mem := range mems {
		type scored struct {
			conf  float64
			right bool
		}
		var all []scored
		for _, s := range seqs {
			gen, err := mem.Generate(ctx, s.Prompt, localmodel.GenerateOptions{MaxTokens: localMaxTokens})
			if err != nil {
				return nil, err
			}
			reply := strings.TrimSpace(strings.Join(gen.Tokens, ""))
			all = append(all, scored{math.Exp(gen.MeanLogProb), reply == strings.TrimSpace(s.Reply)})
		}
		slices.SortFunc(all, func(a, b scored) int { return cmp.Compare(b.conf, a.conf) })
		// Answer iff conf >= threshold: walking down the confidences,
		// the score of answering the first k.
		best, score := 0, 0
		gates[e] = math.Nextafter(all[0].conf, 2) // abstain on everything
		for k, s := range all {
			if s.right {
				score++
			} else {
				score--
			}
			if score > best && (k+1 == len(all) || all[k+1].conf < s.conf) {
				best, gates[e] = score, s.conf
			}
		}
	}
	return gates, nil
}
