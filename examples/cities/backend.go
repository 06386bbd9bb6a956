package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
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
	// prices price the run's calls; nil means nothing is billed (local).
	prices ragvsft.PriceTable
}

// defaultBackend is openai when an API key is in the environment.
func defaultBackend() string {
	if os.Getenv("OPENAI_API_KEY") != "" {
		return "openai"
	}
	return "local"
}

// newBackend returns the components of backend name. poll is the first
// wait between polls of a fine-tuning job; progress receives its lines.
// cache, if not nil, answers the OpenAI chat and embedding calls it has seen
// before; the local model is not cached: it is free and faster than a disk.
func newBackend(name, model, embedModel, runDir string, poll time.Duration, cache *ragvsft.Cache, progress io.Writer) (*backend, error) {
	switch name {
	case "local":
		base := ragvsft.NewLocalModel()
		return &backend{name: name, base: base, baseModel: base.Name(), fineTuner: ragvsft.LocalFineTuner{}}, nil
	case "openai":
		cfg := ragvsft.OpenAIConfigFromEnv()
		base, err := ragvsft.NewOpenAIModel(cfg, model)
		if err != nil {
			return nil, err
		}
		prices := ragvsft.DefaultPrices()
		ft := &ragvsft.OpenAIFineTuner{Config: cfg, RunDir: runDir, Out: progress, Prices: prices, PollInterval: poll}
		embedder, err := ragvsft.NewOpenAIEmbedder(cfg, embedModel)
		if err != nil {
			return nil, err
		}
		be := &backend{
			name: name, base: base, baseModel: model, fineTuner: ft,
			embed: embedder.Embed, embedModel: embedder.Model(), prices: prices,
			estimate: func(ctx context.Context, req ragvsft.FineTuneRequest) (string, error) {
				est, err := ft.Estimate(ctx, req)
				if err != nil {
					return "", err
				}
				return est.String(), nil
			},
		}
		if cache != nil {
			be.base = cache.Model(model, base)
			be.fineTuner = cache.FineTuner(ft)
			be.embed = cache.Embedding(embedder.Model(), embedder.Embed)
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
