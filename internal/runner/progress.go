package runner

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/ragvsft/ragvsft"
)

// progress shows how the questions are going: a progress bar when w is a
// terminal, else a log line at every tenth of the work and at the end, so a
// CI log or a file stays readable. It counts only the items asked by this
// process; those taken from a checkpoint are told once, up front.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	bar     *progressbar.ProgressBar // nil when not a terminal
	log     *slog.Logger             // nil on a terminal
	billed  bool                     // false: nothing is billed (local)
	catalog ragvsft.Catalog          // prices over ragvsft.DefaultCatalog's
	todo    int
	kept    int
	done    int
	errors  int
	tokens  int
	usd     float64
	nextLog int // done count of the next log line
	// start is when the first item was asked for: indexing and
	// fine-tuning come before and would skew the ETA.
	start time.Time
	// cached, if set, counts the calls answered from the cache.
	cached func() int64
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newProgress starts showing on w the progress of todo items to ask, after
// kept items already answered by an earlier run: a bar if terminal, else log
// lines. With billed, each answer is priced by catalog at the prices of the
// model that answered (a fine-tune's for an "ft:" id); without, nothing is
// billed (a local model). cached, if not nil, counts calls the cache
// answered.
func newProgress(w io.Writer, terminal bool, todo, kept int, billed bool, catalog ragvsft.Catalog, cached func() int64) *progress {
	p := &progress{w: w, billed: billed, catalog: catalog, todo: todo, kept: kept, start: time.Now(), cached: cached}
	p.nextLog = p.step()
	if terminal {
		if todo > 0 {
			p.bar = progressbar.NewOptions(todo,
				progressbar.OptionSetWriter(w),
				progressbar.OptionSetDescription(p.describe()),
				progressbar.OptionShowCount(),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionClearOnFinish(),
				progressbar.OptionShowDescriptionAtLineEnd(),
			)
		}
	} else {
		p.log = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
			// Time is noise in a log that a test or a diff reads.
			ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey && len(groups) == 0 {
					return slog.Attr{}
				}
				return a
			},
		}))
		if kept > 0 {
			p.log.Info("resuming", "from_checkpoint", kept, "to_ask", todo)
		}
	}
	return p
}

// step is how many items make a tenth of the work, at least 1.
func (p *progress) step() int { return max(p.todo/10, 1) }

// add counts one finished item.
func (p *progress) add(r ragvsft.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == 0 {
		// The first answer took its own latency after the start.
		p.start = time.Now().Add(-r.Latency)
	}
	p.done++
	if r.Error != "" {
		p.errors++
	}
	p.tokens += r.Usage.PromptTokens + r.Usage.CompletionTokens
	if price, ok := p.catalog.ChatPrice(r.Model); ok && p.billed {
		p.usd += price.ChatCost(r.Usage)
	}
	if p.bar != nil {
		// Each call renders unless throttled: the count moves first.
		_ = p.bar.Add(1)
		p.bar.Describe(p.describe())
		return
	}
	if p.log != nil && p.done >= p.nextLog && p.done < p.todo {
		p.logLine("progress")
		for p.nextLog <= p.done {
			p.nextLog += p.step()
		}
	}
}

// finish ends the bar, or writes the last log line.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		// The bar clears itself: a line that stays says what was done.
		fmt.Fprintf(p.w, "asked %d items in %s: %s\n", p.done, time.Since(p.start).Round(time.Millisecond), p.describe())
		return
	}
	if p.log != nil {
		p.logLine("asked")
	}
}

// phase tells how a phase before the answering goes (indexing the
// documents, fine-tuning the local model): a line at each tenth of the
// work and one at the end, with the time since the phase started. It is
// safe for concurrent use.
type phase struct {
	mu    sync.Mutex
	w     io.Writer
	name  string
	unit  string
	start time.Time
	next  int
}

func newPhase(w io.Writer, name, unit string) *phase {
	return &phase{w: w, name: name, unit: unit, start: time.Now()}
}

// step reports done of total units.
func (p *phase) step(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next == 0 {
		p.next = max(total/10, 1)
	}
	if done < p.next && done < total {
		return
	}
	fmt.Fprintf(p.w, "%s: %d of %d %s (%s)\n", p.name, done, total, p.unit, time.Since(p.start).Round(time.Millisecond))
	for p.next <= done {
		p.next += max(total/10, 1)
	}
}

func (p *progress) describe() string {
	s := fmt.Sprintf("errors %d · %d tokens · %s", p.errors, p.tokens, p.cost())
	if p.cached != nil {
		s += fmt.Sprintf(" · %d from cache", p.cached())
	}
	if p.kept > 0 {
		s = fmt.Sprintf("%d from checkpoint · %s", p.kept, s)
	}
	return s
}

func (p *progress) cost() string {
	if !p.billed {
		return "local, $0"
	}
	return fmt.Sprintf("$%.4f", p.usd)
}

func (p *progress) logLine(msg string) {
	elapsed := time.Since(p.start)
	args := []any{"done", p.done, "of", p.todo, "errors", p.errors, "tokens", p.tokens, "cost", p.cost()}
	if p.cached != nil {
		args = append(args, "from_cache", p.cached())
	}
	args = append(args, "elapsed", elapsed.Round(time.Millisecond))
	if p.done > 0 && p.done < p.todo {
		eta := time.Duration(float64(elapsed) / float64(p.done) * float64(p.todo-p.done))
		args = append(args, "eta", eta.Round(100*time.Millisecond))
	}
	p.log.Info(msg, args...)
}

// lockedWriter serializes the writes of the run's goroutines (the answering
// progress, the indexing, the fine-tuning epochs and job events, the
// batches) to one writer; stdout and stderr share one mutex, since a caller
// may hand the same writer as both.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
