package report_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ragvsft/ragvsft"
	"github.com/stretchr/testify/require"
)

// script says what each arm answers to the question about id: "" makes
// the call fail.
type script func(arm ragvsft.Arm, id string) string

// scriptedModel is a chat Model that answers from a script, as the base
// model (arms base and rag) or the fine-tuned one, and keeps every
// conversation it was sent, by arm and question.
type scriptedModel struct {
	fineTuned bool
	answer    script
	sent      *transcript
}

// transcript is every conversation the models were sent, by arm and id.
type transcript struct {
	mu   sync.Mutex
	sent map[[2]string][]ragvsft.Message
}

var questionID = regexp.MustCompile(`population of (\S+)\?`)

func (m *scriptedModel) Chat(_ context.Context, req ragvsft.ChatRequest) (ragvsft.ChatResponse, error) {
	last := req.Messages[len(req.Messages)-1].Content
	arm := ragvsft.ArmBase
	switch rag := strings.Contains(last, "CONTEXT:"); {
	case m.fineTuned && rag:
		arm = ragvsft.ArmFineTunedRAG
	case m.fineTuned:
		arm = ragvsft.ArmFineTuned
	case rag:
		arm = ragvsft.ArmRAG
	}
	id := questionID.FindStringSubmatch(last)[1]
	m.sent.mu.Lock()
	m.sent.sent[[2]string{string(arm), id}] = slices.Clone(req.Messages)
	m.sent.mu.Unlock()
	a := m.answer(arm, id)
	if a == "" {
		return ragvsft.ChatResponse{}, errors.New("chat: 503 Service Unavailable")
	}
	return ragvsft.ChatResponse{Content: a, Model: "scripted"}, nil
}

// passages is a Retriever that returns a question's own document, then
// the next one indexed.
type passages struct{ docs []ragvsft.Document }

func (p *passages) Index(_ context.Context, docs []ragvsft.Document) error {
	p.docs = slices.Clone(docs)
	return nil
}

func (p *passages) Retrieve(_ context.Context, query string, k int) ([]ragvsft.Hit, error) {
	id := questionID.FindStringSubmatch(query)[1]
	i := slices.IndexFunc(p.docs, func(d ragvsft.Document) bool { return d.ID == id })
	hits := []ragvsft.Hit{{Document: p.docs[i], Rank: 0, Score: 0.91}, {Document: p.docs[(i+1)%len(p.docs)], Rank: 1, Score: 0.52}}
	return hits[:min(k, len(hits))], nil
}

// scriptedRun is a run of an Experiment asking arms "What is the
// population of ID?" of each id (gold: "ID has about 100 inhabitants."),
// answered by the script; it returns the report and the conversations
// each arm was sent, by arm and id.
func scriptedRun(t testing.TB, ids []string, arms []ragvsft.Arm, answer script) (*ragvsft.Report, map[[2]string][]ragvsft.Message) {
	t.Helper()
	var ds examples
	for _, id := range ids {
		ds = append(ds, ragvsft.Example{ID: id, Messages: []ragvsft.Message{
			{Role: ragvsft.RoleUser, Content: "What is the population of " + id + "?"},
			{Role: ragvsft.RoleAssistant, Content: id + " has about 100 inhabitants."}}})
	}
	sent := &transcript{sent: map[[2]string][]ragvsft.Message{}}
	base := &scriptedModel{answer: answer, sent: sent}
	ft := &scriptedModel{fineTuned: true, answer: answer, sent: sent}
	exp := ragvsft.Experiment{Dataset: ds, Base: base, Arms: arms, K: 2, Retriever: &passages{}, Concurrency: 1,
		FineTuned: &ragvsft.FineTuned{Model: ft, ModelID: "ft:scripted"}}
	rep, err := exp.Run(context.Background())
	require.NoError(t, err)
	return rep, sent.sent
}

// examples is a Dataset of examples in memory.
type examples []ragvsft.Example

func (e examples) Examples() []ragvsft.Example { return e }

// view is the part of the viewer's data (the JSON its script reads) the
// tests look at.
type view struct {
	RAG   []bool `json:"rag"`
	Docs  []struct{ ID, Text string }
	Items []struct {
		ID    string `json:"id"`
		Cells []*struct {
			Outcome ragvsft.Outcome  `json:"o"`
			Answer  string           `json:"a"`
			Verdict *ragvsft.Verdict `json:"v"`
			Error   string           `json:"err"`
		} `json:"cells"`
	} `json:"items"`
}

// viewOf decodes the viewer's data from a written page.
func viewOf(t *testing.T, page string) view {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="view-data">(.*?)</script>`).FindStringSubmatch(page)
	require.NotNil(t, m, "the page embeds its data")
	var v view
	require.NoError(t, json.Unmarshal([]byte(m[1]), &v))
	return v
}

// ftID is the fine-tuned model of pricedReport.
const ftID = "ft:gpt-4.1-mini-2025-04-14:acme:cities:abc"

// pricedReport is a run of the four arms on DefaultBaseModel with one
// result each of fixed usage, a fine-tuning of 2M trained tokens and 1M
// embedding tokens, not priced yet.
func pricedReport() *ragvsft.Report {
	r := &ragvsft.Report{
		Settings: ragvsft.ReportSettings{Arms: ragvsft.AllArms, BaseModel: ragvsft.DefaultBaseModel, Questions: 1},
		FineTune: &ragvsft.FineTuned{ModelID: ftID, TrainedTokens: 2_000_000},
		Results: []ragvsft.Result{
			{Arm: ragvsft.ArmBase, QuestionID: "a", Model: "gpt-4.1-mini-2025-04-14", Usage: ragvsft.Usage{PromptTokens: 1_000_000, CompletionTokens: 1_000_000}},
			{Arm: ragvsft.ArmFineTuned, QuestionID: "a", Usage: ragvsft.Usage{PromptTokens: 1_000_000, CompletionTokens: 1_000_000}},
			{Arm: ragvsft.ArmRAG, QuestionID: "a", Usage: ragvsft.Usage{PromptTokens: 1_000_000, CachedPromptTokens: 500_000}},
			{Arm: ragvsft.ArmFineTunedRAG, QuestionID: "a", Model: ftID, Usage: ragvsft.Usage{PromptTokens: 1_000_000, CachedPromptTokens: 1_000_000}},
		},
		Embedding: &ragvsft.EmbeddingSummary{Model: "text-embedding-3-small", Usage: ragvsft.EmbeddingUsage{Requests: 3, Texts: 200, PromptTokens: 1_000_000}},
	}
	for _, a := range ragvsft.AllArms {
		r.Arms = append(r.Arms, ragvsft.ArmSummary{Arm: a}) // ApplyPrices prices the arms there are
	}
	return r
}
