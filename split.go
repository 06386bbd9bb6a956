package ragvsft

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ragvsft/ragvsft/internal/reportfmt"
)

// Names of Report.Splits.
const (
	// SplitFacts gives every arm on the facts fine-tuned on (FactTrained)
	// and held out (FactHeldOut), and on questions mapped to no fact
	// (FactUnmapped) if any: see Experiment.HoldOutFacts.
	SplitFacts = "facts"
	// SplitKnowledge gives every arm but the base on the facts the base
	// arm answered right closed book (KnowledgeKnown) and on those it did
	// not (KnowledgeUnknown), as Gekhman et al. (2024) split them to show
	// that fine-tuning on unknown facts raises hallucination on known ones.
	SplitKnowledge = "knowledge"
)

// Values of Result.Knowledge and names of SplitKnowledge's groups.
const (
	KnowledgeKnown   = "known"
	KnowledgeUnknown = "unknown"
)

// Split is the arms' scores on disjoint parts of the questions (groups):
// one of SplitFacts or SplitKnowledge.
type Split struct {
	Name string `json:"name"`
	// Groups are the parts, in a fixed order (trained, held_out, unmapped;
	// known, unknown); a group no question falls in is kept, its arms
	// with nothing answered (n/a).
	Groups []SplitGroup `json:"groups"`
	// Unlabelled counts the questions in no group: for SplitKnowledge,
	// those the base arm failed on or has not answered yet.
	Unlabelled int `json:"unlabelled,omitempty"`
	// NA, when set, says why the split could not be made (the base arm
	// did not run): Groups is then empty, and reports write "n/a".
	NA string `json:"na,omitempty"`
}

// SplitGroup is the arms' scores on one part of the questions.
type SplitGroup struct {
	// Name is the part's label, as in Result.Fact or Result.Knowledge.
	Name string `json:"name"`
	// Questions counts the distinct questions of the part.
	Questions int        `json:"questions"`
	Arms      []SplitArm `json:"arms"`
}

// SplitArm is an arm's score on one part of the questions: its four
// outcome counts and rates, as in ArmSummary (accuracy and
// hallucination_rate null in JSON when undefined).
type SplitArm struct {
	Arm               Arm     `json:"arm"`
	Answered          int     `json:"answered"`
	Errors            int     `json:"errors"`
	Correct           int     `json:"correct"`
	Wrong             int     `json:"wrong"`
	Abstained         int     `json:"abstained"`
	Accuracy          float64 `json:"accuracy"`
	CILow             float64 `json:"ci95_low"`
	CIHigh            float64 `json:"ci95_high"`
	HallucinationRate float64 `json:"hallucination_rate"`
}

// splitArmFields has SplitArm's fields without its methods.
type splitArmFields SplitArm

// MarshalJSON writes accuracy and hallucination_rate null when undefined,
// as ArmSummary does.
func (a SplitArm) MarshalJSON() ([]byte, error) {
	out := struct {
		splitArmFields
		Accuracy          *float64 `json:"accuracy"`
		HallucinationRate *float64 `json:"hallucination_rate"`
	}{splitArmFields: splitArmFields(a)}
	out.Accuracy, out.HallucinationRate = a.summary().nullRates()
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON writes; a null rate reads as 0.
func (a *SplitArm) UnmarshalJSON(b []byte) error {
	var in struct {
		splitArmFields
		Accuracy          *float64 `json:"accuracy"`
		HallucinationRate *float64 `json:"hallucination_rate"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*a = SplitArm(in.splitArmFields)
	a.Accuracy, a.HallucinationRate = 0, 0
	if in.Accuracy != nil {
		a.Accuracy = *in.Accuracy
	}
	if in.HallucinationRate != nil {
		a.HallucinationRate = *in.HallucinationRate
	}
	return nil
}

// summary is the arm's score as an ArmSummary, for the text helpers.
func (a SplitArm) summary() ArmSummary {
	return ArmSummary{Arm: a.Arm, Answered: a.Answered, Errors: a.Errors, Correct: a.Correct, Wrong: a.Wrong,
		Abstained: a.Abstained, Accuracy: a.Accuracy, CILow: a.CILow, CIHigh: a.CIHigh, HallucinationRate: a.HallucinationRate}
}

// splitArm is the counts and rates of s, an ArmSummary tallied and scored
// the way the arms' summaries are.
func splitArm(s ArmSummary) SplitArm {
	return SplitArm{Arm: s.Arm, Answered: s.Answered, Errors: s.Errors, Correct: s.Correct, Wrong: s.Wrong,
		Abstained: s.Abstained, Accuracy: s.Accuracy, CILow: s.CILow, CIHigh: s.CIHigh, HallucinationRate: s.HallucinationRate}
}

// Split returns the split named name, and whether the report has it.
func (r *Report) Split(name string) (Split, bool) {
	for _, s := range r.Splits {
		if s.Name == name {
			return s, true
		}
	}
	return Split{}, false
}

// Group returns the score of arm in the group named group, and whether
// the split has it.
func (s Split) Group(group string, arm Arm) (SplitArm, bool) {
	for _, g := range s.Groups {
		if g.Name != group {
			continue
		}
		for _, a := range g.Arms {
			if a.Arm == arm {
				return a, true
			}
		}
	}
	return SplitArm{}, false
}

// summarizeSplits labels each result with the base arm's knowledge of its
// question and makes Splits from the results' labels.
func (r *Report) summarizeSplits() {
	r.Splits = nil
	base := map[string]Outcome{}
	for _, res := range r.Results {
		if res.Arm == ArmBase {
			base[res.QuestionID] = res.outcome()
		}
	}
	for i := range r.Results {
		res := &r.Results[i]
		switch base[res.QuestionID] {
		case OutcomeCorrect:
			res.Knowledge = KnowledgeKnown
		case OutcomeWrong, OutcomeAbstained:
			res.Knowledge = KnowledgeUnknown
		default:
			res.Knowledge = ""
		}
	}
	if slices.ContainsFunc(r.Results, func(res Result) bool { return res.Fact != "" }) {
		groups := []string{FactTrained, FactHeldOut}
		if slices.ContainsFunc(r.Results, func(res Result) bool { return res.Fact == FactUnmapped }) {
			groups = append(groups, FactUnmapped)
		}
		r.Splits = append(r.Splits, r.split(SplitFacts, groups, r.Settings.Arms, func(res Result) string { return res.Fact }))
	}
	var others []Arm
	for _, a := range r.Settings.Arms {
		if a != ArmBase {
			others = append(others, a)
		}
	}
	switch ranBase := slices.Contains(r.Settings.Arms, ArmBase); {
	case !slices.ContainsFunc(others, Arm.fineTuned):
		// Without a fine-tuned arm there is nothing to split.
	case !ranBase:
		r.Splits = append(r.Splits, Split{Name: SplitKnowledge, NA: "the base arm did not run, so nobody knows which facts the base model knew"})
	default:
		r.Splits = append(r.Splits, r.split(SplitKnowledge, []string{KnowledgeKnown, KnowledgeUnknown}, others, func(res Result) string { return res.Knowledge }))
	}
}

// split scores arms on each of groups, a result belonging to the group
// label gives it.
func (r *Report) split(name string, groups []string, arms []Arm, label func(Result) string) Split {
	sp := Split{Name: name}
	questions := map[string]map[string]bool{} // group -> question ids
	all := map[string]bool{}
	tallies := map[string]map[Arm]*ArmSummary{}
	for _, g := range groups {
		questions[g], tallies[g] = map[string]bool{}, map[Arm]*ArmSummary{}
		for _, a := range arms {
			tallies[g][a] = &ArmSummary{Arm: a}
		}
	}
	for _, res := range r.Results {
		all[res.QuestionID] = true
		g := label(res)
		t := tallies[g][res.Arm]
		if t == nil {
			continue
		}
		questions[g][res.QuestionID] = true
		t.count(res.outcome())
	}
	labelled := 0
	for _, g := range groups {
		grp := SplitGroup{Name: g, Questions: len(questions[g])}
		labelled += grp.Questions
		for _, a := range arms {
			t := tallies[g][a]
			t.score()
			grp.Arms = append(grp.Arms, splitArm(*t))
		}
		sp.Groups = append(sp.Groups, grp)
	}
	sp.Unlabelled = len(all) - labelled
	return sp
}

// splitLines is the Markdown report's paragraphs on the splits: one table
// per split, every arm on each group, "" when there is none.
func (r *Report) splitLines() string {
	var parts []string
	for _, sp := range r.Splits {
		var b strings.Builder
		switch sp.Name {
		case SplitFacts:
			s := r.Settings
			fmt.Fprintf(&b, "Held-out facts: fine-tuned on %d of %d facts (training examples), %d held out (HoldOutFacts %g, seed %d).",
				s.TrainedFacts, s.TrainedFacts+s.HeldOutFacts, s.HeldOutFacts, s.HoldOutFacts, s.Seed)
		case SplitKnowledge:
			b.WriteString("Known and unknown facts: known when the base arm answered right closed book, unknown when it answered wrong or abstained.")
		default:
			b.WriteString(sp.Name + ":")
		}
		if sp.NA != "" {
			fmt.Fprintf(&b, " n/a: %s.", sp.NA)
			parts = append(parts, b.String())
			continue
		}
		if g, ok := sp.soleGroup(); ok {
			// One group holds every question: its table would repeat
			// the summary's.
			fmt.Fprintf(&b, " All %d questions are %s, so each arm's row of the summary is its score on them.", g.Questions, reportfmt.Group(g.Name))
			if sp.Unlabelled > 0 {
				fmt.Fprintf(&b, " %d questions are in no group.", sp.Unlabelled)
			}
			parts = append(parts, b.String())
			continue
		}
		for i, g := range sp.Groups {
			sep := ","
			if i == 0 {
				sep = " Questions:"
			}
			fmt.Fprintf(&b, "%s %d %s", sep, g.Questions, reportfmt.Group(g.Name))
		}
		b.WriteString(".")
		if sp.Unlabelled > 0 {
			fmt.Fprintf(&b, " %d questions are in neither group (the base arm failed on them or has not answered them).", sp.Unlabelled)
		}
		b.WriteString("\n\n| arm | facts | correct | wrong | abstained | errors | accuracy | 95% CI | hallucination rate |\n|---|---|---:|---:|---:|---:|---:|---|---:|\n")
		for _, a := range sp.arms() {
			for _, g := range sp.Groups {
				sa, _ := sp.Group(g.Name, a)
				s := sa.summary()
				fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %s | %s | %s |\n",
					a, reportfmt.Group(g.Name), s.Correct, s.Wrong, s.Abstained, s.Errors, s.accuracyText(), s.ciText(), s.hallucinationText())
			}
		}
		parts = append(parts, strings.TrimSuffix(b.String(), "\n"))
	}
	return strings.Join(parts, "\n\n")
}

// soleGroup returns the group that holds every labelled question, when
// the other groups hold none.
func (sp Split) soleGroup() (SplitGroup, bool) {
	var sole SplitGroup
	n := 0
	for _, g := range sp.Groups {
		if g.Questions > 0 {
			sole = g
			n++
		}
	}
	return sole, n == 1 && sp.Unlabelled == 0
}

// arms lists the split's arms, in report order.
func (sp Split) arms() []Arm {
	if len(sp.Groups) == 0 {
		return nil
	}
	var out []Arm
	for _, a := range sp.Groups[0].Arms {
		out = append(out, a.Arm)
	}
	return out
}
