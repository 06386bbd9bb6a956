package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
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
	// embed and embedModel configure the chromem index; nil means the
	// local embedding.
	embed      chromem.EmbeddingFunc
	embedModel string
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

// defaultBackend is openai when an API key is in the environment.
func defaultBackend() string {
	if os.Getenv("OPENAI_API_KEY") != "" {
		return "openai"
	}
	return "local"
}

// backendOptions say how to build a backend.
type backendOptions struct {
	name       string // local or openai
	model      string // base model (openai)
	embedModel string // "" means ragvsft.DefaultOpenAIEmbeddingModel (openai)
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
}

// newBackend returns the components of the backend o names.
func newBackend(o backendOptions) (*backend, error) {
	name, model := o.name, o.model
	switch name {
	case "local":
		base := ragvsft.NewLocalModel()
		return &backend{name: name, base: base, baseModel: base.Name(), fineTuner: ragvsft.LocalFineTuner{}}, nil
	case "openai":
		cfg := ragvsft.OpenAIConfigFromEnv()
		cfg.RateLimits = map[string]*ragvsft.RateLimiter{
			model: ragvsft.NewRateLimiter(o.limits),
			cmp.Or(o.embedModel, ragvsft.DefaultOpenAIEmbeddingModel): ragvsft.NewRateLimiter(ragvsft.Limits{}),
		}
		base, err := ragvsft.NewOpenAIModel(cfg, model)
		if err != nil {
			return nil, err
		}
		ft := &ragvsft.OpenAIFineTuner{Config: cfg, RunDir: o.runDir, Out: o.progress, PollInterval: o.poll}
		embedder, err := ragvsft.NewOpenAIEmbedder(cfg, o.embedModel)
		if err != nil {
			return nil, err
		}
		be := &backend{
			name: name, base: base, baseModel: model, fineTuner: ft,
			embed: embedder.Embed, embedModel: embedder.Model(), billed: true, catalog: cfg.Catalog, embedder: embedder,
			estimate: func(ctx context.Context, req ragvsft.FineTuneRequest) (string, error) {
				est, err := ft.Estimate(ctx, req)
				if err != nil {
					return "", err
				}
				return est.String(), nil
			},
		}
		if c := o.cache; c != nil {
			be.base = c.Model(model, base)
			be.fineTuner = c.FineTuner(ft)
			cached := c.Embedding(embedder.Model(), embedder.Embed)
			be.embed = func(ctx context.Context, text string) ([]float32, error) {
				be.asked.Add(1)
				return cached(ctx, text)
			}
		}
		return be, nil
	}
	return nil, fmt.Errorf("-backend: unknown backend %q (want local or openai)", name)
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
