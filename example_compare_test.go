package ragvsft_test

import (
	"fmt"

	"github.com/ragvsft/ragvsft"
)

// Two runs of the same questions, compared question by question: which
// flipped, and is the difference more than chance? Here run B (say, k = 5
// instead of 3) got 9 questions right that run A got wrong, and lost none.
func ExampleCompare() {
	run := func(correct int) *ragvsft.Report {
		r := &ragvsft.Report{Settings: ragvsft.ReportSettings{Arms: []ragvsft.Arm{ragvsft.ArmRAG}}}
		for i := range 20 {
			o := ragvsft.OutcomeWrong
			if i < correct {
				o = ragvsft.OutcomeCorrect
			}
			r.Results = append(r.Results, ragvsft.Result{Arm: ragvsft.ArmRAG, QuestionID: fmt.Sprintf("q%02d", i), Outcome: o})
		}
		return r
	}
	c := ragvsft.Compare(run(10), run(19))
	for _, arm := range c.Arms {
		fmt.Printf("%s: %d paired, %d only A right, %d only B right, p = %.4f\n", arm.Arm, arm.Paired, arm.OnlyA, arm.OnlyB, arm.PValue)
		fmt.Println("first flip:", arm.Flips[0].A.QuestionID, arm.Flips[0].A.Outcome, "->", arm.Flips[0].B.Outcome)
	}
	// Output:
	// rag: 20 paired, 0 only A right, 9 only B right, p = 0.0039
	// first flip: q10 wrong -> correct
}
