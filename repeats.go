package ragvsft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ragvsft/ragvsft/internal/reportfmt"
	"github.com/ragvsft/ragvsft/internal/stats"
)

// Repeat runs e n times, with the seeds Seed, Seed+1, ..., Seed+n−1 (Seed
// 42 when e.Seed is 0), and reports each arm's mean and spread over the
// runs: how much of a difference between arms a single run could owe to
// chance.
//
// Each repeat runs a copy of e whose Seed is its own. The seed is what
// changes between repeats: the FineTuner's seed (LocalFineTuner shuffles
// the examples of each epoch with it; OpenAI's job takes it), the seed of
// every chat request (which changes nothing at temperature 0 on a
// deterministic model, such as the local one) and, with HoldOutFacts, which
// facts are held out. The dataset, questions, prompts, evaluator and
// retriever are the same every time: the retriever is indexed anew with
// the same documents, so the rag arms change only with sampling. Each
// repeat fine-tunes a model of its own: with a paid FineTuner, n repeats
// cost n fine-tuning jobs.
//
// Results, a checkpoint's protocol, belongs to the first repeat alone
// (the one with e's seed, which is the run a checkpoint of e describes);
// the later repeats run without it.
//
// Repeat stops at the first repeat that fails and returns the report so
// far, its failed run's partial report included, with the error. The
// spreads are over the complete runs only. e is not modified.
func Repeat(ctx context.Context, e *Experiment, n int) (*RepeatReport, error) {
	if n < 1 {
		return nil, fmt.Errorf("ragvsft: repeats must be at least 1, got %d", n)
	}
	if e == nil {
		return nil, errors.New("ragvsft: Repeat: no experiment")
	}
	first := e.Seed
	if first == 0 {
		first = DefaultSeed
	}
	out := &RepeatReport{}
	defer out.summarize()
	for i := range n {
		run := *e
		run.Seed = first + int64(i)
		if i > 0 {
			run.Results = nil
		}
		rep, err := run.Run(ctx)
		if rep != nil {
			out.Seeds = append(out.Seeds, run.Seed)
			out.Reports = append(out.Reports, rep)
		}
		if err != nil {
			return out, fmt.Errorf("ragvsft: repeat %d of %d (seed %d): %w", i+1, n, run.Seed, err)
		}
	}
	return out, nil
}

// RepeatReport is what Repeat returns: every run's Report, and each arm's
// spread over the complete ones. Its JSON form is repeats.json in the
// cities example; see the README's schema section.
type RepeatReport struct {
	// Seeds are the runs' seeds, in order; Reports their reports.
	Seeds   []int64   `json:"seeds"`
	Reports []*Report `json:"reports"`
	// Runs counts the complete runs the spreads are over.
	Runs int `json:"runs"`
	// Arms give each arm's accuracy and hallucination rate over the
	// complete runs, in the Experiment's order.
	Arms []ArmSpread `json:"arms"`
	// Splits give the same for each arm on each group of each split (the
	// fine-tuned arm on held-out facts, say), in the reports' order.
	Splits []SplitSpread `json:"splits,omitempty"`
}

// ArmSpread is one arm's rates over repeated runs.
type ArmSpread struct {
	Arm               Arm    `json:"arm"`
	Accuracy          Spread `json:"accuracy"`
	HallucinationRate Spread `json:"hallucination_rate"`
}

// SplitSpread is the arms' rates on one group of one split over repeated
// runs.
type SplitSpread struct {
	Split string      `json:"split"`
	Group string      `json:"group"`
	Arms  []ArmSpread `json:"arms"`
}

// Spread summarizes one rate over repeated runs: the runs where it is
// defined (N) and its mean, sample standard deviation (n−1 denominator; 0
// for one run), minimum and maximum. With N 0 the four are 0, null in
// JSON, and reports write "n/a".
type Spread struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean"`
	StdDev float64 `json:"sd"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// newSpread is the Spread of xs.
func newSpread(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	s := Spread{N: len(xs)}
	s.Mean, s.StdDev, s.Min, s.Max = stats.Spread(xs)
	return s
}

// MarshalJSON writes mean, sd, min and max null when N is 0.
func (s Spread) MarshalJSON() ([]byte, error) {
	if s.N > 0 {
		type plain Spread
		return json.Marshal(plain(s))
	}
	return []byte(`{"n":0,"mean":null,"sd":null,"min":null,"max":null}`), nil
}

// UnmarshalJSON reads what MarshalJSON writes; nulls read as 0.
func (s *Spread) UnmarshalJSON(b []byte) error {
	var in struct {
		N                  int
		Mean, SD, Min, Max *float64
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	val := func(p *float64) float64 {
		if p == nil {
			return 0
		}
		return *p
	}
	*s = Spread{N: in.N, Mean: val(in.Mean), StdDev: val(in.SD), Min: val(in.Min), Max: val(in.Max)}
	return nil
}

// text is the spread as reports write it: "95.0% ± 1.2% (93.0% – 96.0%)",
// or "n/a".
func (s Spread) text() string {
	if s.N == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%% ± %.1f%% (%.1f%% – %.1f%%)", 100*s.Mean, 100*s.StdDev, 100*s.Min, 100*s.Max)
}

// rates collects an arm's accuracy and hallucination rate where defined.
type rates struct{ acc, hall []float64 }

func (r *rates) add(s ArmSummary) {
	if s.HasAccuracy() {
		r.acc = append(r.acc, s.Accuracy)
	}
	if s.HasHallucinationRate() {
		r.hall = append(r.hall, s.HallucinationRate)
	}
}

func (r *rates) spread(a Arm) ArmSpread {
	return ArmSpread{Arm: a, Accuracy: newSpread(r.acc), HallucinationRate: newSpread(r.hall)}
}

// summarize computes Runs, Arms and Splits from the complete reports.
func (rr *RepeatReport) summarize() {
	rr.Runs, rr.Arms, rr.Splits = 0, nil, nil
	var arms []Arm
	byArm := map[Arm]*rates{}
	type groupKey struct {
		split, group string
	}
	var groups []groupKey
	groupArms := map[groupKey][]Arm{}
	byGroup := map[groupKey]map[Arm]*rates{}
	for _, rep := range rr.Reports {
		if rep == nil || !rep.Complete {
			continue
		}
		rr.Runs++
		for _, s := range rep.Arms {
			if byArm[s.Arm] == nil {
				byArm[s.Arm] = &rates{}
				arms = append(arms, s.Arm)
			}
			byArm[s.Arm].add(s)
		}
		for _, sp := range rep.Splits {
			for _, g := range sp.Groups {
				k := groupKey{sp.Name, g.Name}
				if byGroup[k] == nil {
					byGroup[k] = map[Arm]*rates{}
					groups = append(groups, k)
				}
				for _, a := range g.Arms {
					if byGroup[k][a.Arm] == nil {
						byGroup[k][a.Arm] = &rates{}
						groupArms[k] = append(groupArms[k], a.Arm)
					}
					byGroup[k][a.Arm].add(a.summary())
				}
			}
		}
	}
	for _, a := range arms {
		rr.Arms = append(rr.Arms, byArm[a].spread(a))
	}
	for _, k := range groups {
		ss := SplitSpread{Split: k.split, Group: k.group}
		for _, a := range groupArms[k] {
			ss.Arms = append(ss.Arms, byGroup[k][a].spread(a))
		}
		rr.Splits = append(rr.Splits, ss)
	}
}

// WriteMarkdown writes each arm's accuracy and hallucination rate over the
// runs as mean ± standard deviation (minimum – maximum), then the same for
// each split's groups.
func (rr *RepeatReport) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	seeds := make([]string, len(rr.Seeds))
	for i, s := range rr.Seeds {
		seeds[i] = fmt.Sprint(s)
	}
	fmt.Fprintf(&b, "Repeats: %d complete runs of %d, seeds %s; mean ± sample standard deviation (min – max).\n\n",
		rr.Runs, len(rr.Reports), strings.Join(seeds, ", "))
	b.WriteString("| arm | accuracy | hallucination rate |\n|---|---|---|\n")
	for _, a := range rr.Arms {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", a.Arm, a.Accuracy.text(), a.HallucinationRate.text())
	}
	if len(rr.Splits) > 0 {
		b.WriteString("\n| split | facts | arm | accuracy | hallucination rate |\n|---|---|---|---|---|\n")
		for _, ss := range rr.Splits {
			for _, a := range ss.Arms {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", ss.Split, reportfmt.Group(ss.Group), a.Arm, a.Accuracy.text(), a.HallucinationRate.text())
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
