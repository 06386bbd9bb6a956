package ragvsft

import "context"

// Verdict is an Evaluator's judgement of one answer. It carries what was
// extracted so a report can show why an answer was judged wrong.
type Verdict struct {
	Correct bool `json:"correct"`
	// Extracted is what the evaluator read from the answer.
	Extracted string `json:"extracted"`
	// Expected is what it read from the gold answer.
	Expected string `json:"expected"`
	// Reason explains a wrong verdict in a few words.
	Reason string `json:"reason,omitempty"`
}

// Evaluator judges an answer against a question's gold answer.
//
// Implementations must be safe for concurrent use.
type Evaluator interface {
	Evaluate(ctx context.Context, q Question, answer string) (Verdict, error)
}
