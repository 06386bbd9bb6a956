package ragvsfttest_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// A test points the real OpenAI client at the server. The base model is the
// embedded local model: it answers from the passages in the prompt.
func ExampleNewOpenAIServer() {
	// The day the catalog's shutdown dates are checked against, pinned so
	// that the example's output does not change when gpt-4o-mini shuts down.
	day := func() time.Time { return time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC) }
	srv := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{Now: day})
	defer srv.Close()
	client := openai.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("test"))

	resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage("City_1 has about 123456 inhabitants.\n\nWhat is the population of City_1?"),
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Choices[0].Message.Content)
	// Output: City_1 has about 123456 inhabitants.
}

// Injected faults test a client's retries: here two 429s with a
// retry-after, which the OpenAI client waits out before it succeeds.
func ExampleOpenAIServer_InjectFault() {
	srv := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{})
	defer srv.Close()
	client := openai.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("test"), option.WithMaxRetries(2))

	srv.InjectFault("models", 2, ragvsfttest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 10 * time.Millisecond})
	_, err := client.Models.List(context.Background())
	fmt.Println("error:", err)
	st := srv.Stats()
	fmt.Println("requests:", st.Requests["GET /v1/models"], "faults:", st.Faults)
	// Output:
	// error: <nil>
	// requests: 3 faults: 2
}
