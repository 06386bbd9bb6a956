// Command cities reruns the experiment of "Fine-tuning Won't Add New
// Knowledge To Your Model" (2023): 100 fake cities' populations, a model
// fine-tuned on them, a RAG pipeline over the same sentences, and the same
// questions asked of four arms.
//
// With no flags it runs offline on ragvsft's embedded local model, prints a
// Markdown table and writes a run folder (see -out) with the dataset, the
// configuration and report.json. -data runs the same experiment on your own
// chat fine-tuning JSONL file; -questions asks the questions of a questions
// file (held-out wordings, say) instead of the training prompts, and the
// report gives each arm's accuracy on seen and held-out wordings.
// -holdout-facts F fine-tunes on all but a seeded fraction F of the facts
// and reports every arm on trained and held-out facts apart; -repeats N
// runs the experiment N times with seeds -seed, -seed+1, ... and reports
// each arm's mean and spread (repeats.json, repeats.md); -paraphrases N
// fine-tunes on N rewordings of each training question besides it, written
// by rule offline or, with -paraphraser model, by the base model.
//
// Every answer is appended to the run folder's checkpoint.jsonl as soon as
// it is scored, so a run stopped at any moment, even by kill -9, continues
// with -resume DIR and asks only what is missing; -retry-errors asks again
// what failed. With -backend openai, chat and embedding answers are cached
// on disk (-cache, -no-cache), so a rerun pays for nothing twice.
//
// -finetuned-model NAME measures a model fine-tuned elsewhere instead of
// fine-tuning one: the fine-tuned arms ask NAME, on -finetuned-base-url (an
// OpenAI-compatible server such as vLLM or Ollama, with the key in
// RAGVSFT_FINETUNED_API_KEY, else OPENAI_API_KEY) or where the base model
// is, and nothing is uploaded or trained. -base-url points the base model
// elsewhere than OPENAI_BASE_URL. AZURE_OPENAI_ENDPOINT and
// AZURE_OPENAI_API_KEY select an Azure OpenAI resource's v1 endpoint.
// RAGVSFT_TODAY=YYYY-MM-DD sets the day the catalog's shutdown dates are
// checked against (RAGVSFT_TODAY=2027-01-15 shows what OpenAI's shutdowns
// will do); a malformed value is refused at start.
//
// -eval judge scores every answer by asking a model, the judge
// (-judge-model, default the base model), whether it states the gold fact
// (ragvsft.JudgeEvaluator), on the base model's endpoint or on
// -judge-base-url; the report gives its cost and its agreement with the
// rule-based -eval auto (Cohen's kappa). The embedded local model cannot
// judge: with -backend local, -eval judge needs -judge-base-url.
//
// The program is internal/runner with the cities' defaults; cmd/ragvsft is
// the same with a knowledge base of the user's required.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ragvsft/ragvsft/internal/runner"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "cities:", err)
		}
		os.Exit(1)
	}
}

// run is the program with the cities' defaults.
func run(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) error {
	return runner.Run(ctx, args, stdin, stdout, stderr, runner.Options{})
}
