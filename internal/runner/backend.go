package runner

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/philippgille/chromem-go"
	"golang.org/x/term"

	"github.com/ragvsft/ragvsft"
)

// backend is the set of components an arm needs, local or on OpenAI.
type backend struct {
	name      string
	base      ragvsft.Model
	baseModel string
	fineTuner ragvsft.FineTuner
	// fineTuned, if set, is a model fine-tuned elsewhere (-finetuned-model):
	// fineTuner is then nil and nothing is trained.
	fineTuned *ragvsft.FineTuned
	// embed and embedModel configure the chromem index; nil means the
	// local embedding.
	embed      chromem.EmbeddingFunc
	embedModel string
	// embedBatch, if set, embeds the documents many per request (openai).
	embedBatch ragvsft.BatchEmbeddingFunc
	// embedAtOnce hands the index every embedding request at once: they go
	// in one Batch API batch (-batch), not one batch after another.
	embedAtOnce bool
	// estimate, if set, tells what the run will cost before anything is spent.
	estimate func(ctx context.Context, req ragvsft.FineTuneRequest) (string, error)
	// billed is false for the local backend, which costs nothing; catalog
	// prices the calls of the others (nil: ragvsft.DefaultCatalog).
	billed  bool
	catalog ragvsft.Catalog
	// embedder records what the provider billed for embeddings; asked
	// counts the texts the index asked for, the cache's included.
	embedder *ragvsft.OpenAIEmbedder
	asked    atomic.Int64
	// judge is the -eval judge model, cached; nil without it.
	judge ragvsft.Model
}

// embeddingSummary is what the run's embeddings cost, nil on the local
// backend: the provider's usage, and the texts the cache answered instead.
func (b *backend) embeddingSummary() *ragvsft.EmbeddingSummary {
	if b.embedder == nil {
		return nil
	}
	u := b.embedder.Usage()
	return &ragvsft.EmbeddingSummary{Model: b.embedder.Model(), Usage: u, Cached: max(int(b.asked.Load())-u.Texts, 0)}
}

// defaultBackend is openai when an API key is in the environment
// (OPENAI_API_KEY, or Azure's variables).
func defaultBackend() string {
	if ragvsft.OpenAIConfigFromEnv().APIKey != "" {
		return "openai"
	}
	return "local"
}

// backendOptions say how to build a backend.
type backendOptions struct {
	name       string // local or openai
	model      string // base model (openai)
	embedModel string // "" means ragvsft.DefaultOpenAIEmbeddingModel, localEmbedding the embedded one (openai)
	runDir     string // where the fine-tuning job's record is kept
	poll       time.Duration
	// cache, if not nil, answers the OpenAI chat and embedding calls it has
	// seen before; the local model is not cached: it is free and faster
	// than a disk.
	cache *ragvsft.Cache
	// limits pace the chat model's requests, its fine-tunes included; a 429
	// pauses every worker whatever the limits.
	limits ragvsft.Limits
	// progress receives the fine-tuning job's lines.
	progress io.Writer
	// phases, if set, receives the local model's fine-tuning epochs.
	phases io.Writer

	// baseURL, if set, overrides the environment's base URL (openai).
	baseURL string
	// ftModel, if set, is a model fine-tuned elsewhere, served at ftBaseURL
	// ("" means where the base model is): nothing is trained (openai).
	ftModel, ftBaseURL string
	// judgeModel, if set, is -eval judge's model, served at judgeBaseURL
	// ("" means where the base model is; required by the local backend).
	judgeModel, judgeBaseURL string
	// trainCommand, if set, trains the fine-tuned arms' model with the
	// user's own command (ragvsft.CommandFineTuner), served at ftBaseURL
	// and loaded there as a LoRA adapter with loadLoRA (openai).
	trainCommand []string
	loadLoRA     bool
	// batch asks the base model through the Batch API, its batches
	// recorded in runDir (openai).
	batch bool
}

// batchRecordFile is where -batch records its batches, in the run folder.
const batchRecordFile = "batches.json"

// fineTunedBatchRecordFile records the fine-tuned model's batches, with
// -batch and a model fine-tuned by this run: a file of its own, since each
// BatchModel owns its record.
const fineTunedBatchRecordFile = "batches-finetuned.json"

// embeddingBatchRecordFile records the embedding model's batches, with
// -batch.
const embeddingBatchRecordFile = "batches-embeddings.json"

// BatchRecordFile is batchRecordFile, for the programs' tests.
const BatchRecordFile = batchRecordFile

// newBackend returns the components of the backend o names.
func newBackend(o backendOptions) (*backend, error) {
	name, model := o.name, o.model
	switch name {
	case "local":
		base := ragvsft.NewLocalModel()
		ft := ragvsft.LocalFineTuner{}
		if o.phases != nil {
			start := time.Now()
			ft.OnEpoch = func(epoch int, loss float64) {
				fmt.Fprintf(o.phases, "fine-tuning the local model: epoch %d done, loss %.4f (%s)\n", epoch, loss, time.Since(start).Round(time.Millisecond))
			}
		}
		be := &backend{name: name, base: base, baseModel: base.Name(), fineTuner: ft}
		if o.judgeModel != "" {
			var err error
			if be.judge, err = newJudge(ragvsft.OpenAIConfigFromEnv(), o); err != nil {
				return nil, err
			}
		}
		return be, nil
	case "openai":
		cfg := ragvsft.OpenAIConfigFromEnv()
		if o.baseURL != "" {
			cfg.BaseURL = o.baseURL
		}
		cfg.RateLimits = map[string]*ragvsft.RateLimiter{
			model: ragvsft.NewRateLimiter(o.limits),
			cmp.Or(o.embedModel, ragvsft.DefaultOpenAIEmbeddingModel): ragvsft.NewRateLimiter(ragvsft.Limits{}),
		}
		var base ragvsft.Model
		var err error
		if o.batch {
			base, err = ragvsft.NewBatchModel(cfg, model, ragvsft.BatchOptions{
				Record: filepath.Join(o.runDir, batchRecordFile), PollInterval: o.poll, Out: o.progress,
			})
		} else {
			base, err = ragvsft.NewOpenAIModel(cfg, model)
		}
		if err != nil {
			return nil, err
		}
		be := &backend{name: name, base: base, baseModel: model, billed: true, catalog: cfg.Catalog}
		// "local" indexes with the embedded embedding, for a base model
		// whose server embeds nothing (vLLM serving a chat model).
		if o.embedModel != localEmbedding {
			embedder, err := ragvsft.NewOpenAIEmbedder(cfg, o.embedModel)
			if err != nil {
				return nil, err
			}
			if o.batch {
				embedder.Batch = &ragvsft.BatchOptions{Record: filepath.Join(o.runDir, embeddingBatchRecordFile), PollInterval: o.poll, Out: o.progress}
				be.embedAtOnce = true
			}
			be.embed, be.embedModel, be.embedder = embedder.Embed, embedder.Model(), embedder
			be.embedBatch = embedder.EmbedBatch
		}
		switch {
		case o.ftModel != "":
			if be.fineTuned, err = fineTunedElsewhere(cfg, o); err != nil {
				return nil, err
			}
		case len(o.trainCommand) > 0:
			be.fineTuner = trainedByCommand(cfg, o)
			be.estimate = func(ctx context.Context, req ragvsft.FineTuneRequest) (string, error) {
				return fmt.Sprintf("training by your command %q (not billed here)", strings.Join(o.trainCommand, " ")), nil
			}
		default:
			ft := &ragvsft.OpenAIFineTuner{Config: cfg, RunDir: o.runDir, Out: o.progress, PollInterval: o.poll}
			if o.batch {
				ft.Batch = &ragvsft.BatchOptions{Record: filepath.Join(o.runDir, fineTunedBatchRecordFile), PollInterval: o.poll, Out: o.progress}
			}
			if o.cache != nil {
				// Runs sharing a cache share their jobs: two started at
				// once create one.
				ft.LockDir = o.cache.Dir()
			}
			be.fineTuner = ft
			be.estimate = func(ctx context.Context, req ragvsft.FineTuneRequest) (string, error) {
				est, err := ft.Estimate(ctx, req)
				if err != nil {
					return "", err
				}
				return est.String(), nil
			}
		}
		if o.judgeModel != "" {
			if be.judge, err = newJudge(cfg, o); err != nil {
				return nil, err
			}
		}
		if c := o.cache; c != nil {
			// Another server may serve another model under the same name:
			// a model on an endpoint given by flag is cached under its host.
			be.base = c.Model(cacheName(o.baseURL, model), base)
			if be.embedBatch != nil {
				cachedBatch := c.EmbeddingBatch(be.embedModel, be.embedBatch)
				be.embedBatch = func(ctx context.Context, texts []string) ([][]float32, error) {
					be.asked.Add(int64(len(texts)))
					return cachedBatch(ctx, texts)
				}
			}
			if be.embed != nil {
				cached := c.Embedding(be.embedModel, be.embed)
				be.embed = func(ctx context.Context, text string) ([]float32, error) {
					be.asked.Add(1)
					return cached(ctx, text)
				}
			}
			if be.fineTuner != nil {
				be.fineTuner = c.FineTuner(be.fineTuner)
			}
			if ft := be.fineTuned; ft != nil {
				ft.Model = c.Model(cacheName(cmp.Or(o.ftBaseURL, o.baseURL), ft.ModelID), ft.Model)
			}
		}
		return be, nil
	}
	return nil, fmt.Errorf("-backend: unknown backend %q (want local or openai)", name)
}

// newJudge is the -eval judge model on the base model's endpoint (cfg,
// sharing its rate limiters) or at judgeBaseURL, answering through the
// cache when there is one.
func newJudge(cfg ragvsft.OpenAIConfig, o backendOptions) (ragvsft.Model, error) {
	url := o.baseURL
	if o.judgeBaseURL != "" {
		cfg.BaseURL, url = o.judgeBaseURL, o.judgeBaseURL
		cfg.RateLimits = nil
	}
	m, err := ragvsft.NewOpenAIModel(cfg, o.judgeModel)
	if err != nil {
		return nil, fmt.Errorf("-judge-model %s: %w", o.judgeModel, err)
	}
	if o.cache == nil {
		return m, nil
	}
	return o.cache.Model(cacheName(url, o.judgeModel), m), nil
}

// cacheName is the name model's answers are cached under: its own, or
// HOST/model when it is served at baseURL.
func cacheName(baseURL, model string) string {
	if u, err := url.Parse(baseURL); err == nil && u.Host != "" {
		return u.Host + "/" + model
	}
	return model
}

// localEmbedding, as -embedding-model, indexes with the embedded local
// embedding instead of the endpoint's.
const localEmbedding = "local"

// fineTunedElsewhere is the model -finetuned-model names, on the base
// model's endpoint or on -finetuned-base-url with its own key
// (RAGVSFT_FINETUNED_API_KEY, else OPENAI_API_KEY) and its own rate limiter.
func fineTunedElsewhere(base ragvsft.OpenAIConfig, o backendOptions) (*ragvsft.FineTuned, error) {
	cfg := ragvsft.FineTunedConfigFromEnv(base, o.ftBaseURL)
	limiter := ragvsft.NewRateLimiter(o.limits)
	if o.ftBaseURL == "" {
		if _, ok := cfg.RateLimits[o.ftModel]; !ok {
			cfg.RateLimits[o.ftModel] = limiter // base's map: the same endpoint
		}
	} else {
		cfg.RateLimits = map[string]*ragvsft.RateLimiter{o.ftModel: limiter}
	}
	ft, err := ragvsft.NewOpenAIFineTuned(cfg, o.ftModel)
	if errors.Is(err, ragvsft.ErrNoAPIKey) && o.ftBaseURL != "" {
		return nil, fmt.Errorf("-finetuned-base-url %s: set %s (any value for a server that checks no key) or OPENAI_API_KEY: %w",
			o.ftBaseURL, ragvsft.FineTunedAPIKeyEnv, err)
	}
	return ft, err
}

// trainedByCommand is the user's own training command, its records in the
// run folder (so -resume never trains twice), its model served where
// -finetuned-base-url says, with that endpoint's key.
func trainedByCommand(base ragvsft.OpenAIConfig, o backendOptions) *ragvsft.CommandFineTuner {
	serving := ragvsft.FineTunedConfigFromEnv(base, o.ftBaseURL)
	if o.ftBaseURL != "" {
		serving.RateLimits = nil
	}
	return &ragvsft.CommandFineTuner{Command: o.trainCommand, RunDir: o.runDir, Serving: serving, LoadLoRA: o.loadLoRA, Out: o.progress}
}

// errNotConfirmed is returned when the user did not agree to spend money.
var errNotConfirmed = errors.New("not confirmed: nothing was spent (pass -yes to spend without asking)")

// confirm asks before money is spent. With -yes it does not ask; when
// standard input is not a terminal it refuses, so a script never spends by
// accident.
func confirm(yes bool, stdin *os.File, stdout io.Writer) error {
	if yes {
		return nil
	}
	if stdin == nil || !term.IsTerminal(int(stdin.Fd())) {
		return fmt.Errorf("standard input is not a terminal: %w", errNotConfirmed)
	}
	fmt.Fprint(stdout, "Spend it? [y/N] ")
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return errNotConfirmed
	}
	return nil
}

// ErrNotConfirmed is returned when the user did not confirm spending.
var ErrNotConfirmed = errNotConfirmed

// DefaultBackend is the -backend default: openai when a key is set, else
// local.
func DefaultBackend() string { return defaultBackend() }
