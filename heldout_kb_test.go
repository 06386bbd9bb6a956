package ragvsft_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

// wordingScore is one arm's correct answers on the trained and on the
// held-out wordings of a run.
type wordingScore struct{ seen, held, nSeen, nHeld int }

func scoreWordings(rep *ragvsft.Report, arm ragvsft.Arm) wordingScore {
	var s wordingScore
	for _, r := range rep.Results {
		if r.Arm != arm {
			continue
		}
		ok := r.Outcome == ragvsft.OutcomeCorrect
		if r.SeenInTraining {
			s.nSeen++
			if ok {
				s.seen++
			}
		} else {
			s.nHeld++
			if ok {
				s.held++
			}
		}
	}
	return s
}

// Issue 9's held-out-wording runs, offline, on the knowledge bases of
// internal/kbgen (the companies are TestParaphrasesRecallHeldOutWordings'):
// each fact asked in its training wording and in a wording no training
// prompt uses. The fine-tuned arm (local model) recalls less under the
// held-out wordings, even at 30 epochs, when it knows the trained ones, and
// at 10 epochs more of them once trained on two rule rewordings of each
// question. (As many steps without rewordings, 30 epochs, recall about as
// much: the README gives both.) The rag arm is never wrong: where the
// reader cannot tell which fact a new wording asks for, it abstains.
func TestHeldOutWordingsOnKnowledgeBases(t *testing.T) {
	t.Parallel()
	for _, kb := range []string{"people", "products", "rivers", "german", "french", "explorers"} {
		t.Run(kb, func(t *testing.T) {
			ds := withHeldOut(t, kb)
			run := func(paraphrases, epochs int) *ragvsft.Report {
				exp := &ragvsft.Experiment{Dataset: ds, Base: ragvsft.NewLocalModel(), FineTuner: ragvsft.LocalFineTuner{},
					Retriever: newRetriever(t), Evaluator: ragvsft.AutoEvaluator{}, Hyperparameters: ragvsft.Hyperparameters{Epochs: epochs},
					Arms: []ragvsft.Arm{ragvsft.ArmFineTuned, ragvsft.ArmRAG}, Paraphrases: paraphrases}
				rep, err := exp.Run(context.Background())
				require.NoError(t, err)
				return rep
			}
			plain, long, para := run(0, 10), run(0, 30), run(2, 10)
			ft, ftLong, ftPara := scoreWordings(plain, ragvsft.ArmFineTuned), scoreWordings(long, ragvsft.ArmFineTuned), scoreWordings(para, ragvsft.ArmFineTuned)
			rag := scoreWordings(plain, ragvsft.ArmRAG)
			t.Logf("%s, %d facts: fine-tuned trained %d, held-out %d; at 30 epochs %d, %d; with 2 rule rewordings %d, %d; rag trained %d, held-out %d",
				kb, ft.nSeen, ft.seen, ft.held, ftLong.seen, ftLong.held, ftPara.seen, ftPara.held, rag.seen, rag.held)
			shown := 0
			for _, r := range plain.Results {
				if r.Arm == ragvsft.ArmRAG && r.Outcome != ragvsft.OutcomeCorrect {
					assert.Equal(t, ragvsft.OutcomeAbstained, r.Outcome, "rag %s: %q -> %q", r.QuestionID, r.Question, r.Answer)
					if shown++; shown <= 2 {
						t.Logf("rag %s %s: %q -> %q (gold rank %d)", r.Outcome, r.QuestionID, r.Question, r.Answer, r.GoldRank)
					}
				}
			}
			assert.Less(t, ftLong.held, ftLong.seen, "a held-out wording recalls less, even once the trained ones are learnt")
			assert.Greater(t, ftPara.held, ft.held, "paraphrase training recalls more under held-out wordings than as many epochs without")
		})
	}
}
