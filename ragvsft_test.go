package ragvsft

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestArticlePromptsWordForWord(t *testing.T) {
	p := Prompts{}.withDefaults()
	hits := []Hit{
		{Document: Document{ID: "a", Text: "City_1 has about 1967825 inhabitants."}, Rank: 0},
		{Document: Document{ID: "b", Text: "City_10 has about 5 inhabitants."}, Rank: 1},
	}
	msgs := p.rag(Question{Text: "What is the population of City_1?"}, hits)
	require.Len(t, msgs, 2)
	assert.Equal(t, Message{Role: RoleSystem, Content: "You are a helpful assistant."}, msgs[0])
	assert.Equal(t, "Answer the following QUESTION based on the CONTEXT only. Only answer from the Context. "+
		"If you don't know the answer, say 'I don't know'.\n\nQUESTION: What is the population of City_1?\n\n"+
		"CONTEXT: [0]: \nCity_1 has about 1967825 inhabitants.\n\n[1]: \nCity_10 has about 5 inhabitants.\n\n\n\nANSWER:",
		msgs[1].Content)

	msgs = p.closedBook(Question{Text: "What is the population of City_1?"})
	assert.Equal(t, "Answer this question to the best of your ability. If you don't know the answer, say 'I don't know'."+
		"\n\nQUESTION: What is the population of City_1?\n\nANSWER:", msgs[1].Content)
}

// A question asked in a conversation is sent as that conversation: the
// system prompt, the earlier turns as they are, the last turn in the arm's
// template.
func TestPromptsOfAConversation(t *testing.T) {
	p := Prompts{System: "sys", ClosedBook: "Q: {question}", RAG: "Q: {question} C: {context}", Passage: "[{rank}] {document} "}
	q := Question{Text: "Where was she born?", Messages: []Message{
		{Role: RoleDeveloper, Content: "Be brief."},
		{Role: RoleUser, Content: "Tell me about Anna Kovacs."},
		{Role: RoleAssistant, Content: "Anna Kovacs is a cartographer.", Name: "guide"},
	}}
	want := []Message{
		{Role: RoleSystem, Content: "sys"},
		{Role: RoleDeveloper, Content: "Be brief."},
		{Role: RoleUser, Content: "Tell me about Anna Kovacs."},
		{Role: RoleAssistant, Content: "Anna Kovacs is a cartographer.", Name: "guide"},
	}
	assert.Equal(t, append(want, Message{Role: RoleUser, Content: "Q: Where was she born?"}), p.closedBook(q))
	hits := []Hit{{Document: Document{Text: "Anna Kovacs was born in Port Velm."}}}
	assert.Equal(t, append(want, Message{Role: RoleUser, Content: "Q: Where was she born? C: [0] Anna Kovacs was born in Port Velm. "}), p.rag(q, hits))
	assert.Len(t, q.Messages, 3, "the question is not modified")
	assert.Equal(t, "Tell me about Anna Kovacs.\nWhere was she born?", retrievalQuery(q), "retrieval sees the user turns that name the subject")
	assert.Equal(t, "Where was she born?", retrievalQuery(Question{Text: "Where was she born?"}))
}

func TestPromptPlaceholdersInDataAreNotExpanded(t *testing.T) {
	p := Prompts{}.withDefaults()
	msgs := p.rag(Question{Text: "what is {context}?"}, []Hit{{Document: Document{Text: "{question}"}}})
	assert.Contains(t, msgs[1].Content, "QUESTION: what is {context}?")
	assert.Contains(t, msgs[1].Content, "[0]: \n{question}\n\n")
}

func TestExperimentSettingsRejectsBadConfiguration(t *testing.T) {
	ds := fixedDataset{}
	base := NewLocalModel()
	tests := []struct {
		name string
		exp  Experiment
		want string
	}{
		{"no dataset", Experiment{Base: base}, "Dataset"},
		{"unknown arm", Experiment{Dataset: ds, Base: base, Arms: []Arm{"oracle"}}, `unknown arm "oracle"`},
		{"no arms", Experiment{Dataset: ds, Base: base, Arms: []Arm{}}, "no arms"},
		{"arm twice", Experiment{Dataset: ds, Base: base, Arms: []Arm{ArmBase, ArmBase}}, "listed twice"},
		{"no base", Experiment{Dataset: ds, Arms: []Arm{ArmBase}}, "Base model"},
		{"no fine-tuner", Experiment{Dataset: ds, Base: base, Arms: []Arm{ArmFineTuned}}, "FineTuner"},
		{"no retriever", Experiment{Dataset: ds, Base: base, Arms: []Arm{ArmRAG}}, "Retriever"},
		{"fine-tuned without a model", Experiment{Dataset: ds, Base: base, FineTuner: LocalFineTuner{}, FineTuned: &FineTuned{ModelID: "ft:x"},
			Arms: []Arm{ArmFineTuned}}, "FineTuned.Model"},
		{"negative k", Experiment{Dataset: ds, Base: base, Arms: []Arm{ArmBase}, K: -1}, "k must be positive, got -1"},
		{"negative concurrency", Experiment{Dataset: ds, Base: base, Arms: []Arm{ArmBase}, Concurrency: -2}, "concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.exp.Run(context.Background())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "ragvsft: ")
		})
	}

	s, err := (&Experiment{Dataset: ds, Base: base, Arms: []Arm{ArmBase}}).settings()
	require.NoError(t, err)
	assert.Equal(t, DefaultK, s.K)
	assert.Equal(t, int64(DefaultSeed), s.Seed)
	assert.Equal(t, DefaultMaxTokens, s.MaxTokens)
	assert.Equal(t, ArticlePrompts, s.Prompts)
	assert.IsType(t, NumericEvaluator{}, s.Evaluator)
}

type fixedDataset []Example

func (d fixedDataset) Examples() []Example { return d }

func TestForEachRunsEveryIndexOnce(t *testing.T) {
	var calls [100]atomic.Int32
	require.NoError(t, forEach(context.Background(), 100, 7, func(i int) error {
		calls[i].Add(1)
		return nil
	}))
	for i := range calls {
		assert.EqualValues(t, 1, calls[i].Load(), "index %d", i)
	}
	assert.NoError(t, forEach(context.Background(), 0, 4, func(int) error { panic("no work expected") }))
}

func TestForEachStopsOnErrorAndCancel(t *testing.T) {
	boom := errors.New("boom")
	var ran atomic.Int32
	err := forEach(context.Background(), 1000, 2, func(i int) error {
		ran.Add(1)
		if i == 3 {
			return boom
		}
		return nil
	})
	assert.ErrorIs(t, err, boom)
	assert.Less(t, ran.Load(), int32(20), "work stops being handed out after the first error")

	ctx, cancel := context.WithCancel(context.Background())
	ran.Store(0)
	err = forEach(ctx, 1000, 2, func(i int) error {
		ran.Add(1)
		if i == 5 {
			cancel()
		}
		return nil
	})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, ran.Load(), int32(20), "work stops being handed out after the cancel")
}

func TestReportSummarize(t *testing.T) {
	r := &Report{Settings: ReportSettings{Arms: []Arm{ArmFineTuned, ArmRAG}, Questions: 4}}
	add := func(arm Arm, q string, correct bool, errMsg string) {
		r.Results = append(r.Results, Result{Arm: arm, QuestionID: q, Verdict: Verdict{Correct: correct}, Error: errMsg,
			Latency: 10 * time.Millisecond, Usage: Usage{PromptTokens: 3, CompletionTokens: 2}})
	}
	add(ArmFineTuned, "q1", false, "")
	add(ArmFineTuned, "q2", true, "")
	add(ArmFineTuned, "q3", false, "")
	add(ArmFineTuned, "q4", false, "model exploded")
	add(ArmRAG, "q1", true, "")
	add(ArmRAG, "q2", true, "")
	add(ArmRAG, "q3", true, "")
	add(ArmRAG, "q4", true, "")
	r.summarize()
	r.finish()

	ft, ok := r.Arm(ArmFineTuned)
	require.True(t, ok)
	assert.Equal(t, 3, ft.Answered)
	assert.Equal(t, 1, ft.Errors, "an error is counted apart, not as wrong")
	assert.Equal(t, 1, ft.Correct)
	assert.InDelta(t, 1.0/3, ft.Accuracy, 1e-12)
	assert.Equal(t, Usage{PromptTokens: 12, CompletionTokens: 8}, ft.Usage)
	assert.Equal(t, 10*time.Millisecond, ft.MeanLatency)
	assert.Less(t, ft.CILow, ft.Accuracy)
	assert.Greater(t, ft.CIHigh, ft.Accuracy)

	rag, _ := r.Arm(ArmRAG)
	assert.Equal(t, 4, rag.Correct)
	assert.Equal(t, 1.0, rag.Accuracy)

	require.NotNil(t, r.McNemar)
	assert.Equal(t, 0, r.McNemar.OnlyA)
	assert.Equal(t, 2, r.McNemar.OnlyB, "q4 is an error on fine-tuned, so it is not a discordant pair")
	assert.InDelta(t, 0.5, r.McNemar.PValue, 1e-12)
	assert.True(t, r.Complete)

	_, ok = r.Arm(ArmBase)
	assert.False(t, ok)
}

func TestSummarizeRetrieval(t *testing.T) {
	r := &Report{Settings: ReportSettings{K: 3}}
	doc := func(id string, rank int) Hit { return Hit{Document: Document{ID: id}, Rank: rank} }
	qs := []Question{{ID: "q1", DocID: "d1"}, {ID: "q2", DocID: "d2"}, {ID: "q3", DocID: "d3"}, {ID: "q4"}}
	hits := [][]Hit{
		{doc("d1", 0), doc("d2", 1), doc("d3", 2)},
		{doc("d1", 0), doc("d2", 1), doc("d3", 2)},
		{doc("d1", 0), doc("d2", 1), doc("x", 2)},
		{doc("d1", 0)},
	}
	r.summarizeRetrieval(qs, retrieval{hits: hits, errs: make([]error, len(hits))})
	rs := r.Retrieval
	assert.Equal(t, 3, rs.Questions, "a question with no gold document is not counted")
	assert.InDelta(t, 1.0/3, rs.HitAt1, 1e-12)
	assert.InDelta(t, 2.0/3, rs.HitAtK, 1e-12)
	assert.InDelta(t, (1+0.5)/3, rs.MRR, 1e-12)
	assert.Equal(t, []string{"q3"}, rs.Missed)
}

// nilModelFineTuner is a FineTuner of a user's that forgets the Model.
type nilModelFineTuner struct{}

func (nilModelFineTuner) FineTune(context.Context, FineTuneRequest) (*FineTuned, error) {
	return &FineTuned{ModelID: "forgotten"}, nil
}

func TestRunRefusesAFineTunerWithoutModel(t *testing.T) {
	exp := &Experiment{Dataset: cityExamples(10), Base: NewLocalModel(), FineTuner: nilModelFineTuner{}, Arms: []Arm{ArmBase, ArmFineTuned}}
	_, err := exp.Run(context.Background())
	require.ErrorIs(t, err, ErrMissing)
	assert.Contains(t, err.Error(), "nilModelFineTuner) returned no fine-tuned Model")
}
