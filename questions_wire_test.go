package ragvsft_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

func explorers(t testing.TB) *ragvsft.JSONLDataset {
	t.Helper()
	ds, err := ragvsft.LoadJSONL(filepath.Join("testdata", "explorers.jsonl"))
	require.NoError(t, err)
	return ds
}

// chatBody is what the test reads of a chat completion request.
type chatBody struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
}

// Every arm is asked a multi-turn question as the whole conversation, as
// the server receives it: the experiment's system prompt, the earlier
// turns of the training example, then the follow-up in the arm's template.
func TestMultiTurnQuestionsAreAskedAsTheirConversationOnTheWire(t *testing.T) {
	t.Parallel()
	srv := ragvsfttest.NewOpenAIHandler(ragvsfttest.ServerConfig{JobStepDelay: 5 * time.Millisecond, Now: onWireDay})
	t.Cleanup(srv.Close)
	var (
		mu     sync.Mutex
		bodies [][]byte
	)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/chat/completions" {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
			mu.Lock()
			bodies = append(bodies, b)
			mu.Unlock()
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	cfg := ragvsft.OpenAIConfig{APIKey: wireKey, BaseURL: hs.URL + "/v1", Now: onWireDay}
	base, err := ragvsft.NewOpenAIModel(cfg, ragvsft.DefaultBaseModel)
	require.NoError(t, err)

	ds := explorers(t)
	rep, err := (&ragvsft.Experiment{
		Dataset:   ds,
		Base:      base,
		BaseModel: ragvsft.DefaultBaseModel,
		FineTuner: &ragvsft.OpenAIFineTuner{Config: cfg, PollInterval: time.Millisecond},
		Retriever: newRetriever(t),
		Evaluator: ragvsft.AutoEvaluator{},
	}).Run(context.Background())
	require.NoError(t, err)
	require.True(t, rep.Complete)
	questions, err := ragvsft.Questions(ds)
	require.NoError(t, err)
	n := len(questions)

	// The explorer's name makes each opening turn unique.
	byOpener := map[string]ragvsft.Question{}
	for _, q := range questions {
		byOpener[q.Messages[0].Content] = q
	}
	require.Len(t, byOpener, n)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, bodies, 4*n, "one request per arm and question")
	asked := map[string]map[string]int{} // opener -> kind of request -> count
	for _, b := range bodies {
		var body chatBody
		require.NoError(t, json.Unmarshal(b, &body))
		require.Len(t, body.Messages, 4, "system, the two earlier turns, the follow-up: %s", b)
		q, ok := byOpener[body.Messages[1].Content]
		require.True(t, ok, "the first turn after the system prompt is the example's opening question: %s", b)
		assert.Equal(t, "system", body.Messages[0].Role)
		assert.Equal(t, ragvsft.ArticlePrompts.System, body.Messages[0].Content, "the experiment's system prompt, not the example's")
		assert.Equal(t, "user", body.Messages[1].Role)
		assert.Equal(t, "assistant", body.Messages[2].Role)
		assert.Equal(t, q.Messages[1].Content, body.Messages[2].Content)
		last := body.Messages[3]
		assert.Equal(t, "user", last.Role)
		assert.Contains(t, last.Content, "QUESTION: "+q.Text+"\n")
		kind := "closed book"
		if strings.Contains(last.Content, "CONTEXT:") {
			kind = "rag"
			assert.Contains(t, last.Content, q.Gold, "retrieval with the earlier turns found the follow-up's document")
		}
		if strings.HasPrefix(body.Model, "ft:") {
			kind += ", fine-tuned"
		}
		if asked[q.Messages[0].Content] == nil {
			asked[q.Messages[0].Content] = map[string]int{}
		}
		asked[q.Messages[0].Content][kind]++
	}
	for opener, kinds := range asked {
		assert.Equal(t, map[string]int{"closed book": 1, "closed book, fine-tuned": 1, "rag": 1, "rag, fine-tuned": 1}, kinds, opener)
	}
	require.NotNil(t, rep.Retrieval)
	assert.Equal(t, 1.0, rep.Retrieval.HitAtK)
	t.Logf("explorers over the wire: %s", armLine(rep))
}

// armLine is each arm's correct/answered, for logs.
func armLine(rep *ragvsft.Report) string {
	var parts []string
	for _, a := range rep.Arms {
		parts = append(parts, fmt.Sprintf("%s %d/%d", a.Arm, a.Correct, a.Answered))
	}
	return strings.Join(parts, ", ")
}

// The rag arms retrieve a follow-up with the user turns before it: the
// follow-up alone ("Where was she born?") does not say whom it is about.
func TestMultiTurnRetrievalUsesTheEarlierUserTurns(t *testing.T) {
	ds := explorers(t)
	r := newRetriever(t)
	rep, err := (&ragvsft.Experiment{Dataset: ds, Base: ragvsft.NewLocalModel(), Retriever: r, Arms: []ragvsft.Arm{ragvsft.ArmRAG},
		Evaluator: ragvsft.AutoEvaluator{}}).Run(context.Background())
	require.NoError(t, err)
	require.NotNil(t, rep.Retrieval)

	questions, err := ragvsft.Questions(ds)
	require.NoError(t, err)
	alone := 0
	for _, q := range questions {
		hits, err := r.Retrieve(context.Background(), q.Text, ragvsft.DefaultK)
		require.NoError(t, err)
		if ragvsft.GoldRank(hits, q.DocID) >= 0 {
			alone++
		}
	}
	t.Logf("hit@5 with the earlier user turns %.1f%%, with the follow-up alone %.1f%%", 100*rep.Retrieval.HitAtK, 100*float64(alone)/float64(len(questions)))
	assert.Equal(t, 1.0, rep.Retrieval.HitAtK)
	assert.Less(t, float64(alone)/float64(len(questions)), 0.5)
}
