package ragvsft

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// exampleSet is a Dataset over examples already in memory.
type exampleSet []Example

func (s exampleSet) Examples() []Example { return s }

// parseJSONLForTest reads chat fine-tuning JSONL without validation.
func parseJSONLForTest(t testing.TB, data []byte) exampleSet {
	t.Helper()
	var out exampleSet
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var rec struct {
			ID       string    `json:"id"`
			Messages []Message `json:"messages"`
		}
		require.NoError(t, json.Unmarshal(line, &rec), "line %d", i+1)
		out = append(out, Example{ID: rec.ID, Line: i + 1, Messages: rec.Messages})
	}
	return out
}

// The article's prompts (issue 2), used only by tests.
const (
	testSystem    = "You are a helpful assistant."
	testClosedFmt = "Answer this question to the best of your ability. If you don't know the answer, say 'I don't know'.\n\nQUESTION: %s\n\nANSWER:"
	testRAGFmt    = "Answer the following QUESTION based on the CONTEXT only. Only answer from the Context. If you don't know the answer, say 'I don't know'.\n\nQUESTION: %s\n\nCONTEXT: %s\n\nANSWER:"
)

func closedBookRequest(q string) ChatRequest {
	return ChatRequest{
		Messages:    []Message{{Role: RoleSystem, Content: testSystem}, {Role: RoleUser, Content: fmt.Sprintf(testClosedFmt, q)}},
		Temperature: 0, Seed: 42, MaxTokens: 400,
	}
}

func ragRequest(q string, docs []string) ChatRequest {
	var ctx strings.Builder
	for i, d := range docs {
		fmt.Fprintf(&ctx, "[%d]: \n%s\n\n", i, d)
	}
	return ChatRequest{
		Messages:    []Message{{Role: RoleSystem, Content: testSystem}, {Role: RoleUser, Content: fmt.Sprintf(testRAGFmt, q, ctx.String())}},
		Temperature: 0, Seed: 42, MaxTokens: 400,
	}
}

// qa is a question with its gold answer, taken from an example's last user
// and assistant turns.
type qa struct{ question, gold string }

func questionsOf(s exampleSet) []qa {
	var out []qa
	for _, ex := range s {
		var q qa
		for _, m := range ex.Messages {
			switch m.Role {
			case RoleUser:
				q.question = m.Content
			case RoleAssistant:
				q.gold = m.Content
			}
		}
		out = append(out, q)
	}
	return out
}

var firstInt = regexp.MustCompile(`(?:^|\s)(-?\d+)`)

// articleCorrect is the article's scoring rule for numeric answers (first
// whitespace-preceded integer); for non-numeric gold answers it requires
// the answer to contain the gold's last sentence's key, the whole gold.
func articleCorrect(answer, gold string) bool {
	if g := firstInt.FindStringSubmatch(gold); g != nil {
		a := firstInt.FindStringSubmatch(answer)
		return a != nil && a[1] == g[1]
	}
	return strings.TrimSpace(answer) == strings.TrimSpace(gold)
}

// closedBookAccuracy asks m every question closed book.
func closedBookAccuracy(t testing.TB, m Model, qs []qa) (correct, abstained int) {
	t.Helper()
	for _, q := range qs {
		resp, err := m.Chat(context.Background(), closedBookRequest(q.question))
		require.NoError(t, err)
		if resp.Content == localAbstention {
			abstained++
		}
		if articleCorrect(resp.Content, q.gold) {
			correct++
		}
	}
	return correct, abstained
}

// sweep is a knowledge base fine-tuned at seed 42 for 1, 3, 10 and 30
// epochs (other hyperparameters auto), trained once for all tests.
type sweep struct {
	once   sync.Once
	models map[int]*LocalModel
	losses []float64 // training loss after each epoch
	err    error
}

var sweeps = map[string]*sweep{"cities": {}, "companies": {}}

// fineTuned returns the knowledge base "cities" or "companies" fine-tuned
// for epochs (1, 3, 10 or 30) epochs, and the training loss of its last
// epoch.
func fineTuned(t testing.TB, kb string, epochs int) (*LocalModel, float64) {
	t.Helper()
	s := sweeps[kb]
	s.once.Do(func() {
		data := citiesForTest(t)
		if kb == "companies" {
			data = companiesForTest(t)
		}
		var fts []*FineTuned
		fts, s.err = LocalFineTuner{OnEpoch: func(_ int, loss float64) { s.losses = append(s.losses, loss) }}.FineTuneEpochs(
			context.Background(), FineTuneRequest{Training: data, Seed: 42}, 1, 3, 10, 30)
		s.models = map[int]*LocalModel{}
		for _, ft := range fts {
			s.models[ft.Hyperparameters.Epochs] = ft.Model.(*LocalModel)
		}
	})
	require.NoError(t, s.err)
	require.Contains(t, s.models, epochs)
	return s.models[epochs], s.losses[epochs-1]
}

func citiesFineTuned(t testing.TB, epochs int) (*LocalModel, float64) {
	t.Helper()
	return fineTuned(t, "cities", epochs)
}

func citiesForTest(t testing.TB) exampleSet {
	t.Helper()
	return parseJSONLForTest(t, CitiesJSONL(CitiesCount, CitiesSeed))
}

func fineTuneForTest(t testing.TB, data exampleSet, epochs int) *LocalModel {
	t.Helper()
	ft, err := LocalFineTuner{}.FineTune(context.Background(), FineTuneRequest{
		Training: data, Hyperparameters: Hyperparameters{Epochs: epochs}, Seed: 42,
	})
	require.NoError(t, err)
	return ft.Model.(*LocalModel)
}

func companiesForTest(t testing.TB) exampleSet {
	t.Helper()
	data, err := os.ReadFile("testdata/companies.jsonl")
	require.NoError(t, err)
	return parseJSONLForTest(t, data)
}
