package ragvsfttest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/ragvsft/ragvsft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// today is the day the shutdown dates are checked against in these tests.
var today = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func onToday() time.Time { return today }

// reasoner is a reasoning model of the catalog that never shuts down.
const reasoner = "gpt-6-luna"

// cityPrompt is a question the local model answers from its passage.
const cityPrompt = "City_7 has about 1234567 inhabitants. City_8 has about 42 inhabitants.\n\nWhat is the population of City_7?"

func TestChatCompletion(t *testing.T) {
	s := newServer(t, ServerConfig{Now: onToday})
	c := newClient(s)
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{
		Model:       ragvsft.DefaultBaseModel,
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage(cityPrompt)},
		Seed:        openai.Int(1),
		Temperature: openai.Float(0),
	}
	resp, err := c.Chat.Completions.New(ctx, params)
	require.NoError(t, err)
	want, err := ragvsft.NewLocalModel().Chat(ctx, ragvsft.ChatRequest{Messages: []ragvsft.Message{{Role: "user", Content: cityPrompt}}, Seed: 1})
	require.NoError(t, err)
	assert.Equal(t, want.Content, resp.Choices[0].Message.Content, "answers as the local model")
	assert.Equal(t, "City_7 has about 1234567 inhabitants.", resp.Choices[0].Message.Content, "read from the prompt")
	assert.Equal(t, "chat.completion", string(resp.Object))
	assert.Equal(t, "stop", resp.Choices[0].FinishReason)
	assert.Equal(t, int64(want.Usage.PromptTokens), resp.Usage.PromptTokens)
	assert.Equal(t, int64(want.Usage.CompletionTokens), resp.Usage.CompletionTokens)
	assert.Equal(t, resp.Usage.PromptTokens+resp.Usage.CompletionTokens, resp.Usage.TotalTokens)
	assert.Zero(t, resp.Usage.CompletionTokensDetails.ReasoningTokens, "not a reasoning model")
	assert.True(t, resp.Usage.JSON.PromptTokensDetails.Valid(), "prompt_tokens_details is sent")
	assert.True(t, resp.Usage.CompletionTokensDetails.JSON.ReasoningTokens.Valid(), "completion_tokens_details.reasoning_tokens is sent")
	assert.True(t, resp.Usage.PromptTokensDetails.JSON.CachedTokens.Valid(), "prompt_tokens_details.cached_tokens is sent")

	again, err := c.Chat.Completions.New(ctx, params)
	require.NoError(t, err)
	assert.Equal(t, resp.SystemFingerprint, again.SystemFingerprint, "stable per model")
	assert.NotEqual(t, resp.ID, again.ID)

	for _, budget := range []struct {
		name string
		set  func(*openai.ChatCompletionNewParams)
	}{
		{"max_completion_tokens", func(p *openai.ChatCompletionNewParams) { p.MaxCompletionTokens = openai.Int(2) }},
		{"max_tokens, deprecated but accepted", func(p *openai.ChatCompletionNewParams) { p.MaxTokens = openai.Int(2) }},
	} {
		t.Run(budget.name, func(t *testing.T) {
			p := params
			budget.set(&p)
			short, err := c.Chat.Completions.New(ctx, p)
			require.NoError(t, err)
			assert.Equal(t, int64(2), short.Usage.CompletionTokens)
			assert.Equal(t, "length", short.Choices[0].FinishReason)
			assert.NotEmpty(t, short.Choices[0].Message.Content)
			assert.True(t, strings.HasPrefix(resp.Choices[0].Message.Content, short.Choices[0].Message.Content), "the answer's beginning")
		})
	}

	t.Run("stream", func(t *testing.T) {
		params := params
		params.MaxCompletionTokens = openai.Int(400)
		params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		acc := accumulate(t, c, params)
		require.Len(t, acc.Choices, 1)
		assert.Equal(t, resp.Choices[0].Message.Content, acc.Choices[0].Message.Content)
		assert.Equal(t, "stop", acc.Choices[0].FinishReason)
		assert.Equal(t, resp.Usage.TotalTokens, acc.Usage.TotalTokens)
	})
}

// accumulate streams params and returns the completion the client's
// accumulator assembles.
func accumulate(t *testing.T, c *openai.Client, params openai.ChatCompletionNewParams) openai.ChatCompletionAccumulator {
	t.Helper()
	stream := c.Chat.Completions.NewStreaming(context.Background(), params)
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		require.True(t, acc.AddChunk(stream.Current()))
	}
	require.NoError(t, stream.Err())
	require.NoError(t, stream.Close())
	return acc
}

func TestChatCompletionRefused(t *testing.T) {
	s := newServer(t, ServerConfig{Now: onToday})
	c := newClient(s)
	user := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi?")}
	live := ragvsft.DefaultBaseModel
	tests := []struct {
		name    string
		params  openai.ChatCompletionNewParams
		status  int
		param   string
		code    string
		message string
	}{
		{"unknown model", openai.ChatCompletionNewParams{Model: "gpt-9-imaginary", Messages: user}, http.StatusNotFound, "", "model_not_found",
			"The model `gpt-9-imaginary` does not exist or you do not have access to it."},
		{"unknown fine-tune", openai.ChatCompletionNewParams{Model: "ft:gpt-4o-mini-2024-07-18:ragvsft::abc", Messages: user}, http.StatusNotFound, "", "model_not_found",
			"The model `ft:gpt-4o-mini-2024-07-18:ragvsft::abc` does not exist or you do not have access to it."},
		{"an embedding model", openai.ChatCompletionNewParams{Model: "text-embedding-3-small", Messages: user}, http.StatusNotFound, "", "model_not_found", ""},
		{"shut down on 2026-10-23", openai.ChatCompletionNewParams{Model: "gpt-3.5-turbo", Messages: user}, http.StatusNotFound, "", "model_not_found",
			"The model `gpt-3.5-turbo` has been deprecated, learn more here: https://platform.openai.com/docs/deprecations"},
		{"a snapshot shut down with its model", openai.ChatCompletionNewParams{Model: "gpt-3.5-turbo-0125", Messages: user}, http.StatusNotFound, "", "model_not_found", ""},
		{"reasoning model shut down on 2026-12-11, asked after", openai.ChatCompletionNewParams{Model: "o4-mini", Messages: user}, http.StatusNotFound, "", "model_not_found", ""},
		{"no messages", openai.ChatCompletionNewParams{Model: live}, http.StatusBadRequest, "messages", "empty_array", ""},
		{"temperature too high", openai.ChatCompletionNewParams{Model: live, Messages: user, Temperature: openai.Float(2.5)}, http.StatusBadRequest, "temperature", "decimal_above_max_value", ""},
		{"max tokens zero", openai.ChatCompletionNewParams{Model: live, Messages: user, MaxCompletionTokens: openai.Int(0)}, http.StatusBadRequest, "max_completion_tokens", "integer_below_min_value", ""},
		{"n zero", openai.ChatCompletionNewParams{Model: live, Messages: user, N: openai.Int(0)}, http.StatusBadRequest, "n", "integer_below_min_value", ""},
		{"n above 128", openai.ChatCompletionNewParams{Model: live, Messages: user, N: openai.Int(129)}, http.StatusBadRequest, "n", "integer_above_max_value",
			"Invalid 'n': integer above maximum value. Expected a value <= 128, but got 129 instead."},
		{"reasoning model at temperature 0", openai.ChatCompletionNewParams{Model: reasoner, Messages: user, Temperature: openai.Float(0)}, http.StatusBadRequest, "temperature", "unsupported_value",
			"Unsupported value: 'temperature' does not support 0 with this model. Only the default (1) value is supported."},
		{"reasoning model at temperature 0.7", openai.ChatCompletionNewParams{Model: reasoner, Messages: user, Temperature: openai.Float(0.7)}, http.StatusBadRequest, "temperature", "unsupported_value",
			"Unsupported value: 'temperature' does not support 0.7 with this model. Only the default (1) value is supported."},
		{"reasoning model with max_tokens", openai.ChatCompletionNewParams{Model: reasoner, Messages: user, MaxTokens: openai.Int(100)}, http.StatusBadRequest, "max_tokens", "unsupported_parameter",
			"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."},
		{"reasoning snapshot with max_tokens", openai.ChatCompletionNewParams{Model: reasoner + "-2026-09-01", Messages: user, MaxTokens: openai.Int(100)}, http.StatusBadRequest, "max_tokens", "unsupported_parameter", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Chat.Completions.New(context.Background(), tt.params)
			e := asAPIError(t, err)
			assert.Equal(t, tt.status, e.StatusCode)
			assert.Equal(t, tt.param, e.Param)
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, "invalid_request_error", e.Type)
			if tt.message != "" {
				assert.Equal(t, tt.message, e.Message)
			}
		})
	}
	assert.Zero(t, s.Stats().ChatCompletions)

	// What is refused on 2026-12-02 was served before its shutdown date.
	before := newServer(t, ServerConfig{Now: func() time.Time { return time.Date(2026, 10, 22, 23, 0, 0, 0, time.UTC) }})
	for _, model := range []string{"gpt-3.5-turbo", "gpt-3.5-turbo-0125", "o4-mini"} {
		_, err := newClient(before).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: model, Messages: user})
		assert.NoError(t, err, model)
	}
}

// The temperature a reasoning model accepts is its default, 1.
func TestChatReasoningAcceptsItsDefaultTemperature(t *testing.T) {
	s := newServer(t, ServerConfig{Now: onToday})
	_, err := newClient(s).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: reasoner, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(cityPrompt)}, Temperature: openai.Float(1),
	})
	require.NoError(t, err)
}

func TestChatReasoning(t *testing.T) {
	s := newServer(t, ServerConfig{Now: onToday})
	c := newClient(s)
	ctx := context.Background()
	msgs := []ragvsft.Message{{Role: "system", Content: "You are a helpful assistant."}, {Role: "user", Content: cityPrompt}}
	params := openai.ChatCompletionNewParams{
		Model:    reasoner,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(msgs[0].Content), openai.UserMessage(msgs[1].Content)},
		Seed:     openai.Int(3),
	}
	const answer = "City_7 has about 1234567 inhabitants."
	local, err := ragvsft.NewLocalModel().Chat(ctx, ragvsft.ChatRequest{Messages: msgs, Temperature: 1, Seed: 3})
	require.NoError(t, err)
	require.Equal(t, answer, local.Content)
	answerTokens := int64(local.Usage.CompletionTokens)

	// The prompt is about 4+7 + 4+26 + 3 = 44 tokens: one block of 64.
	reasons := int64(reasoningTokens(msgs))
	require.Equal(t, int64(64), reasons)

	tests := []struct {
		name       string
		budget     int64 // 0: none
		content    string
		finish     string
		completion int64
		reasoning  int64
	}{
		{"no budget", 0, answer, "stop", reasons + answerTokens, reasons},
		{"room for reasoning and answer", 400, answer, "stop", reasons + answerTokens, reasons},
		{"reasoning exhausts the budget", 16, "", "length", 16, 16},
		{"budget exactly the reasoning", reasons, "", "length", reasons, reasons},
		{"answer cut short", reasons + 4, "City_7 has", "length", reasons + 4, reasons},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := params
			if tt.budget > 0 {
				p.MaxCompletionTokens = openai.Int(tt.budget)
			}
			resp, err := c.Chat.Completions.New(ctx, p)
			require.NoError(t, err)
			require.Len(t, resp.Choices, 1)
			assert.Equal(t, tt.content, resp.Choices[0].Message.Content)
			assert.Equal(t, tt.finish, resp.Choices[0].FinishReason)
			assert.Equal(t, tt.completion, resp.Usage.CompletionTokens)
			assert.Equal(t, tt.reasoning, resp.Usage.CompletionTokensDetails.ReasoningTokens)
			assert.Equal(t, int64(local.Usage.PromptTokens), resp.Usage.PromptTokens)
			assert.Equal(t, resp.Usage.PromptTokens+resp.Usage.CompletionTokens, resp.Usage.TotalTokens)

			p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			acc := accumulate(t, c, p)
			require.Len(t, acc.Choices, 1)
			assert.Equal(t, tt.content, acc.Choices[0].Message.Content, "streamed alike")
			assert.Equal(t, tt.finish, acc.Choices[0].FinishReason)
			assert.Equal(t, tt.completion, acc.Usage.CompletionTokens)
			assert.Equal(t, tt.reasoning, acc.Usage.CompletionTokensDetails.ReasoningTokens)
		})
	}
}

func TestReasoningTokens(t *testing.T) {
	tests := []struct {
		chars int
		want  int
	}{
		{0, 64},      // 4 + 0 + 3 = 7 tokens
		{224, 64},    // 4 + 56 + 3 = 63
		{228, 64},    // 4 + 57 + 3 = 64: exactly one block
		{232, 128},   // 65: one token more needs a second block
		{4000, 1024}, // 1007
	}
	for _, tt := range tests {
		got := reasoningTokens([]ragvsft.Message{{Role: "user", Content: strings.Repeat("a", tt.chars)}})
		assert.Equal(t, tt.want, got, "%d characters", tt.chars)
	}
}

// seedEcho answers with the seed and temperature it was asked with, so a
// test sees what each choice was generated with.
type seedEcho struct{}

func (seedEcho) Chat(_ context.Context, req ragvsft.ChatRequest) (ragvsft.ChatResponse, error) {
	return ragvsft.ChatResponse{Content: fmt.Sprintf("seed %d at %g", req.Seed, req.Temperature), Usage: ragvsft.Usage{PromptTokens: 10, CompletionTokens: 4}}, nil
}

func TestChatChoices(t *testing.T) {
	user := []openai.ChatCompletionMessageParamUnion{openai.UserMessage(cityPrompt)}
	tests := []struct {
		name        string
		backend     ragvsft.Model
		model       string
		temperature float64
		seed        int64
		want        []string
		reasoning   int64
	}{
		{"temperature 0: the most likely answer thrice", nil, ragvsft.DefaultBaseModel, 0, 0,
			[]string{"City_7 has about 1234567 inhabitants.", "City_7 has about 1234567 inhabitants.", "City_7 has about 1234567 inhabitants."}, 0},
		{"temperature 0 keeps the seed", seedEcho{}, ragvsft.DefaultBaseModel, 0, 5, []string{"seed 5 at 0", "seed 5 at 0", "seed 5 at 0"}, 0},
		{"temperature 0.8: seed plus the choice's index", seedEcho{}, ragvsft.DefaultBaseModel, 0.8, 5, []string{"seed 5 at 0.8", "seed 6 at 0.8", "seed 7 at 0.8"}, 0},
		{"a reasoning model reasons for each choice", seedEcho{}, reasoner, 1, 10, []string{"seed 10 at 1", "seed 11 at 1", "seed 12 at 1"}, 3 * 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, ServerConfig{Now: onToday, BaseModel: tt.backend})
			c := newClient(s)
			params := openai.ChatCompletionNewParams{Model: tt.model, Messages: user, N: openai.Int(3), Temperature: openai.Float(tt.temperature), Seed: openai.Int(tt.seed)}
			one := params
			one.N = openai.Int(1)
			single, err := c.Chat.Completions.New(context.Background(), one)
			require.NoError(t, err)

			resp, err := c.Chat.Completions.New(context.Background(), params)
			require.NoError(t, err)
			require.Len(t, resp.Choices, 3)
			var got []string
			for i, ch := range resp.Choices {
				assert.Equal(t, int64(i), ch.Index)
				assert.Equal(t, "stop", ch.FinishReason)
				got = append(got, ch.Message.Content)
			}
			assert.Equal(t, tt.want, got)
			assert.Equal(t, single.Usage.PromptTokens, resp.Usage.PromptTokens, "the prompt is counted once")
			assert.Equal(t, 3*single.Usage.CompletionTokens, resp.Usage.CompletionTokens, "the choices' completions are summed")
			assert.Equal(t, tt.reasoning, resp.Usage.CompletionTokensDetails.ReasoningTokens)

			params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			acc := accumulate(t, c, params)
			require.Len(t, acc.Choices, 3)
			for i, ch := range acc.Choices {
				assert.Equal(t, tt.want[i], ch.Message.Content, "streamed choice %d", i)
				assert.Equal(t, "stop", ch.FinishReason)
			}
			assert.Equal(t, resp.Usage.TotalTokens, acc.Usage.TotalTokens)
		})
	}
}

func TestChatRetriesDroppedConnection(t *testing.T) {
	s := newServer(t, ServerConfig{Now: onToday})
	c := newClient(s, option.WithMaxRetries(2), option.WithMaxRetryDelay(10*time.Millisecond))
	s.InjectFault("chat/completions", 1, Fault{Drop: true})
	s.InjectFault("chat/completions", 1, Fault{Status: http.StatusInternalServerError})
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: ragvsft.DefaultBaseModel, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the population of City_1?")},
	})
	require.NoError(t, err)
	assert.Equal(t, "I don't know.", resp.Choices[0].Message.Content, "the base model knows no city")
	st := s.Stats()
	assert.Equal(t, 3, st.Requests["POST /v1/chat/completions"])
	assert.Equal(t, 1, st.ChatCompletions)
}

// A fine-tune answers until its base model shuts down, then is refused as
// its base is.
func TestChatFineTuneShutsDownWithItsBase(t *testing.T) {
	var day atomic.Pointer[time.Time]
	day.Store(&today)
	s := newServer(t, ServerConfig{Now: func() time.Time { return *day.Load() }})
	c := newClient(s)
	ctx := context.Background()
	f := upload(t, c, "train.jsonl", trainingJSONL(10))
	created, err := c.FineTuning.Jobs.New(ctx, openai.FineTuningJobNewParams{Model: "gpt-4o-mini-2024-07-18", TrainingFile: f.ID})
	require.NoError(t, err)
	j := waitJob(t, c, created.ID)
	require.Equal(t, openai.FineTuningJobStatusSucceeded, j.Status, "error: %+v", j.Error)

	ask := func() error {
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: j.FineTunedModel, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the population of Town1?")},
		})
		return err
	}
	require.NoError(t, ask())
	_, err = c.Models.Get(ctx, j.FineTunedModel)
	require.NoError(t, err)

	shutdown := time.Date(2027, 1, 14, 0, 0, 0, 0, time.UTC) // gpt-4o-mini's
	day.Store(&shutdown)
	e := asAPIError(t, ask())
	assert.Equal(t, http.StatusNotFound, e.StatusCode)
	assert.Equal(t, "model_not_found", e.Code)
	assert.Equal(t, "The model `"+j.FineTunedModel+"` has been deprecated, learn more here: https://platform.openai.com/docs/deprecations", e.Message)
	_, err = c.Models.Get(ctx, j.FineTunedModel)
	assert.Equal(t, http.StatusNotFound, asAPIError(t, err).StatusCode)
	page, err := c.Models.List(ctx)
	require.NoError(t, err)
	for _, m := range page.Data {
		assert.NotEqual(t, j.FineTunedModel, m.ID, "not listed after its shutdown")
	}
}
