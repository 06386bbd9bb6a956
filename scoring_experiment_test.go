package ragvsft_test

import (
	"context"

	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

// countingModel is the local model, counting the calls it answers.
type countingModel struct {
	ragvsft.Model
	calls atomic.Int32
}

func (m *countingModel) Chat(ctx context.Context, req ragvsft.ChatRequest) (ragvsft.ChatResponse, error) {
	m.calls.Add(1)
	return m.Model.Chat(ctx, req)
}

// countingFineTuner is the local fine-tuner, counting the jobs it runs.
type countingFineTuner struct {
	ragvsft.LocalFineTuner
	jobs atomic.Int32
}

func (f *countingFineTuner) FineTune(ctx context.Context, req ragvsft.FineTuneRequest) (*ragvsft.FineTuned, error) {
	f.jobs.Add(1)
	return f.LocalFineTuner.FineTune(ctx, req)
}

func loadKB(t testing.TB, name string) *ragvsft.JSONLDataset {
	t.Helper()
	ds, err := ragvsft.LoadJSONL(filepath.Join("testdata", name))
	require.NoError(t, err)
	return ds
}

// A text knowledge base scored by the numeric rule stops before anything is
// indexed, trained or asked, naming every question it cannot score.
func TestUnreadableGoldStopsBeforeSpending(t *testing.T) {
	tests := []struct {
		kb       string
		problems int // listed
		omitted  int
		first    ragvsft.Problem
	}{
		// 120 text answers (founder, headquarters): 100 listed, 20 counted.
		{"companies.jsonl", ragvsft.MaxProblems, 20, ragvsft.Problem{Line: 2, ID: "company-01-founder",
			Message: `gold answer "Tearkbour Analytics was founded by Kexsox Houcourklend." has no number`}},
		// The SKUs ("WE-6436-O" is no number: it is glued to letters).
		{"products.jsonl", 60, 0, ragvsft.Problem{Line: 2, ID: "product-01-sku",
			Message: `gold answer "The Wetglur Tent has the stock-keeping unit code WE-6436-O." has no number`}},
	}
	for _, tt := range tests {
		t.Run(tt.kb, func(t *testing.T) {
			model := &countingModel{Model: ragvsft.NewLocalModel()}
			tuner := &countingFineTuner{}
			retriever := &countingRetriever{ChromemRetriever: newRetriever(t)}
			exp := &ragvsft.Experiment{
				Dataset:   loadKB(t, tt.kb),
				Base:      model,
				FineTuner: tuner,
				Retriever: retriever,
				Evaluator: ragvsft.NumericEvaluator{},
			}
			rep, err := exp.Run(context.Background())
			require.Error(t, err)
			require.NotNil(t, rep)
			assert.Empty(t, rep.Results)
			assert.False(t, rep.Complete)
			assert.ErrorIs(t, err, ragvsft.ErrUnreadableGold)
			var ve *ragvsft.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, filepath.Join("testdata", tt.kb), ve.File)
			assert.Len(t, ve.Problems, tt.problems)
			assert.Equal(t, tt.omitted, ve.Omitted)
			assert.Equal(t, tt.first, ve.Problems[0])
			for _, p := range ve.Problems {
				assert.Positive(t, p.Line, "every problem names its line")
			}
			assert.Contains(t, err.Error(), "ragvsft.NumericEvaluator")
			assert.Contains(t, err.Error(), "\n  line 2: gold answer")
			assert.Zero(t, model.calls.Load(), "no model call")
			assert.Zero(t, tuner.jobs.Load(), "no fine-tuning")
			assert.Zero(t, retriever.indexed.Load(), "nothing indexed")

			// The automatic evaluator reads them all, and the run goes on.
			exp.Evaluator = ragvsft.AutoEvaluator{}
			exp.Arms = []ragvsft.Arm{ragvsft.ArmBase}
			rep, err = exp.Run(context.Background())
			require.NoError(t, err)
			assert.Equal(t, int32(rep.Settings.Questions), model.calls.Load())
		})
	}
}

// wantType maps a fact's id suffix to the type its gold answer is scored as.
var wantType = map[string]string{
	"born": "date", "joined": "date", "gegruendet": "date",
	"price":  "money",
	"weight": "quantity", "length": "quantity", "depth": "quantity", "laenge": "quantity",
	"einwohner": "number",
	"sku":       "text",
}

// The offline experiment on each typed knowledge base: every item is one
// of four outcomes, each fact is scored as its type, an answer that quotes
// the gold sentence (as the local model's reader does from a retrieved
// passage) is right, and "I don't know." is never right. The accuracies are
// logged; they measure the local model (its reader abstains when the
// question's words are not the passage's, and reads no question without a
// question mark), not the scoring.
func TestTypedKnowledgeBases(t *testing.T) {
	for _, kb := range []string{"people.jsonl", "products.jsonl", "rivers.jsonl", "german.jsonl"} {
		t.Run(kb, func(t *testing.T) {
			ds := loadKB(t, kb)
			exp := &ragvsft.Experiment{
				Dataset:   ds,
				Base:      ragvsft.NewLocalModel(),
				FineTuner: ragvsft.LocalFineTuner{},
				Retriever: newRetriever(t),
				Evaluator: ragvsft.AutoEvaluator{},
			}
			rep, err := exp.Run(context.Background())
			require.NoError(t, err)
			require.True(t, rep.Complete)
			n := ds.Len()
			require.Len(t, rep.Results, 4*n)

			type outcomes struct{ correct, wrong, abstained, errors int }
			byArm := map[ragvsft.Arm]*outcomes{}
			byMark := map[bool][2]int{} // question ends in '?': rag correct, asked
			quoted := 0
			for _, r := range rep.Results {
				o := byArm[r.Arm]
				if o == nil {
					o = &outcomes{}
					byArm[r.Arm] = o
				}
				abstains := strings.TrimSpace(r.Answer) == "I don't know."
				require.Equal(t, abstains, r.Outcome == ragvsft.OutcomeAbstained, "%s %s: %q is %s", r.Arm, r.QuestionID, r.Answer, r.Outcome)
				switch r.Outcome {
				case ragvsft.OutcomeError:
					o.errors++
					continue
				case ragvsft.OutcomeCorrect:
					require.True(t, r.Verdict.Correct)
					o.correct++
				case ragvsft.OutcomeAbstained:
					require.Equal(t, ragvsft.Verdict{}, r.Verdict, "an abstention is not evaluated")
					o.abstained++
					continue
				default:
					require.Equal(t, ragvsft.OutcomeWrong, r.Outcome)
					o.wrong++
					if o.wrong <= 2 {
						t.Logf("%s wrong on %s: %q: %s", r.Arm, r.QuestionID, r.Answer, r.Verdict.Reason)
					}
				}
				if r.Answer == r.Gold {
					quoted++
					require.True(t, r.Verdict.Correct, "%s %s: the gold itself is judged wrong: %s", r.Arm, r.QuestionID, r.Verdict.Reason)
				}
				kind := r.QuestionID[strings.LastIndex(r.QuestionID, "-")+1:]
				require.Equal(t, wantType[kind], r.Verdict.Type, "%s %s: gold %q", r.Arm, r.QuestionID, r.Gold)
				require.NotEmpty(t, r.Verdict.Expected, "%s %s", r.Arm, r.QuestionID)
				if r.Verdict.Correct {
					assert.Empty(t, r.Verdict.Reason)
				} else {
					assert.NotEmpty(t, r.Verdict.Reason, "%s %s: a wrong verdict says why", r.Arm, r.QuestionID)
				}
				if r.Arm == ragvsft.ArmRAG {
					c := byMark[strings.HasSuffix(r.Question, "?")]
					c[1]++
					if r.Verdict.Correct {
						c[0]++
					}
					byMark[strings.HasSuffix(r.Question, "?")] = c
				}
			}
			for _, s := range rep.Arms {
				o := byArm[s.Arm]
				require.NotNil(t, o, "arm %s", s.Arm)
				assert.Equal(t, n, o.correct+o.wrong+o.abstained+o.errors, "arm %s: the four outcomes add up", s.Arm)
				assert.Equal(t, s.Correct, o.correct, "arm %s", s.Arm)
				assert.Equal(t, s.Wrong, o.wrong, "arm %s", s.Arm)
				assert.Equal(t, s.Abstained, o.abstained, "arm %s", s.Arm)
				assert.Equal(t, s.Errors, o.errors, "arm %s", s.Arm)
				t.Logf("%-15s %3d/%d correct (%5.1f%%), %3d wrong, %3d abstained, %d errors",
					s.Arm, o.correct, n, 100*s.Accuracy, o.wrong, o.abstained, o.errors)
			}
			for _, mark := range []bool{true, false} {
				if c := byMark[mark]; c[1] > 0 {
					t.Logf("rag on questions %s: %d/%d", map[bool]string{true: "ending in '?'", false: "without '?'"}[mark], c[0], c[1])
				}
			}
			t.Logf("retrieval: hit@1 %.2f, hit@%d %.2f", rep.Retrieval.HitAt1, rep.Retrieval.K, rep.Retrieval.HitAtK)
			assert.Zero(t, byArm[ragvsft.ArmBase].correct, "the base model cannot know invented facts")
			assert.Positive(t, quoted, "some answers quote the gold")
			assert.GreaterOrEqual(t, byArm[ragvsft.ArmRAG].correct, quoted/4, "rag is right at least where it quotes the gold")
		})
	}
}

func ExampleAutoEvaluator() {
	ev := ragvsft.AutoEvaluator{}
	for _, c := range []struct{ gold, answer string }{
		{"Radek Szabo was born on 11 March 1974.", "Radek Szabo was born on 11 1905."},
		{"Tearkbour Analytics was founded in 1918.", "1918"},
		{"The Wetglur Tent sells for £82.31.", "It costs 82.31 GBP."},
		{"Die Länge der Elvau beträgt 312,5 km.", "312.5 kilometres"},
	} {
		v, err := ev.Evaluate(context.Background(), ragvsft.Question{ID: "q", Gold: c.gold}, c.answer)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: correct=%v extracted=%q expected=%q\n", v.Type, v.Correct, v.Extracted, v.Expected)
		if v.Reason != "" {
			fmt.Println("  " + v.Reason)
		}
	}
	// Output:
	// date: correct=false extracted="1905" expected="1974-03-11"
	//   got 1905, want 1974-03-11: year 1905, not 1974, no month, no day
	// year: correct=true extracted="1918" expected="1918"
	// money: correct=true extracted="GBP 82.31" expected="GBP 82.31"
	// quantity: correct=true extracted="312.5 km" expected="312.5 km"
}

func ExampleTextEvaluator() {
	q := ragvsft.Question{ID: "q", Text: "Where is Tearkbour Analytics headquartered?", Gold: "Tearkbour Analytics is based in Lake Saxmai."}
	for _, reply := range []string{"Lake Saxmai.", "It has its headquarters in Lake Saxmay."} {
		v, err := ragvsft.TextEvaluator{}.Evaluate(context.Background(), q, reply)
		if err != nil {
			panic(err)
		}
		fmt.Printf("correct=%v f1=%.2f\n", v.Correct, v.F1)
		if v.Reason != "" {
			fmt.Println("  " + v.Reason)
		}
	}
	// Output:
	// correct=true f1=1.00
	// correct=false f1=0.40
	//   F1 0.40 < 0.80: the answer's "headquarters lake saxmay" against the gold's key "lake saxmai"
}

func ExampleGoldChecker() {
	q := ragvsft.Question{ID: "q", Text: "Who founded X?", Gold: "X was founded by Kexsox Houcourklend."}
	for _, ev := range []ragvsft.Evaluator{ragvsft.NumericEvaluator{}, ragvsft.AutoEvaluator{}} {
		if gc, ok := ev.(ragvsft.GoldChecker); ok {
			fmt.Printf("%T: %v\n", ev, gc.CheckGold(q))
		}
	}
	// Output:
	// ragvsft.NumericEvaluator: gold answer "X was founded by Kexsox Houcourklend." has no number
	// ragvsft.AutoEvaluator: <nil>
}
