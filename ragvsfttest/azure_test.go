package ragvsfttest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The server takes Azure OpenAI's v1 shape: the same routes under
// /openai/v1, with the key in an api-key header or as a bearer token; an
// api-key header is not a key at OpenAI's /v1.
func TestAzureShape(t *testing.T) {
	s := newServer(t, ServerConfig{APIKey: testKey})
	root := strings.TrimSuffix(s.URL, "/v1")
	require.Equal(t, root+"/openai/v1/", s.AzureURL)
	const wrong = "0123456789abcdefWRONGazurekey"
	tests := []struct {
		name    string
		url     string
		headers map[string]string
		status  int
		want    string // in the body
	}{
		{"azure api-key", s.AzureURL + "models", map[string]string{"api-key": testKey}, http.StatusOK, `"object":"list"`},
		{"azure bearer", s.AzureURL + "models", map[string]string{"Authorization": "Bearer " + testKey}, http.StatusOK, `"object":"list"`},
		{"azure no key", s.AzureURL + "models", nil, http.StatusUnauthorized, "api-key header"},
		{"azure empty api-key", s.AzureURL + "models", map[string]string{"api-key": " "}, http.StatusUnauthorized, "didn't provide an API key"},
		{"azure wrong api-key", s.AzureURL + "models", map[string]string{"api-key": wrong}, http.StatusUnauthorized, "invalid_api_key"},
		{"azure model by id", s.AzureURL + "models/gpt-4o-mini", map[string]string{"api-key": testKey}, http.StatusOK, `"id":"gpt-4o-mini"`},
		{"openai path ignores api-key", s.URL + "/models", map[string]string{"api-key": testKey}, http.StatusUnauthorized, "Bearer auth"},
		{"azure unknown route", root + "/openai/v1/assistants", map[string]string{"api-key": testKey}, http.StatusNotFound, "unknown_url"},
		{"deployments path is not served", root + "/openai/deployments/gpt-4o-mini/chat/completions", map[string]string{"api-key": testKey}, http.StatusNotFound, "unknown_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, tt.url, nil)
			require.NoError(t, err)
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			require.NoError(t, res.Body.Close())
			assert.Equal(t, tt.status, res.StatusCode, "%s", body)
			assert.Contains(t, string(body), tt.want)
			assert.NotContains(t, string(body), wrong)
		})
	}
	st := s.Stats()
	assert.Equal(t, 5, st.Requests["GET /openai/v1/models"], "Azure's routes are counted apart")
	assert.Equal(t, 1, st.Requests["GET /openai/v1/models/{id}"])
	assert.Equal(t, 1, st.Requests["GET /v1/models"])
}

// openai-go, configured as for Azure's v1 endpoint (base URL and api-key
// header, no Authorization), runs a whole fine-tuning job and a chat with
// its model under /openai/v1; faults injected by OpenAI-relative path apply
// there too.
func TestAzureFineTuneAndChat(t *testing.T) {
	s := newServer(t, ServerConfig{APIKey: testKey})
	ctx := context.Background()
	var auth []string
	c := openai.NewClient(
		option.WithBaseURL(s.AzureURL),
		option.WithHeader("api-key", testKey),
		option.WithMaxRetries(1),
		option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
			auth = append(auth, r.Header.Get("Authorization"))
			return next(r)
		}),
	)
	s.InjectFault("files", 1, Fault{Status: http.StatusServiceUnavailable})
	f, err := c.Files.New(ctx, openai.FileNewParams{
		File:    openai.File(strings.NewReader(trainingJSONL(10)), "train.jsonl", "application/jsonl"),
		Purpose: openai.FilePurposeFineTune,
	})
	require.NoError(t, err)
	waitFile(t, &c, f.ID)
	job, err := c.FineTuning.Jobs.New(ctx, openai.FineTuningJobNewParams{Model: "gpt-4o-mini-2024-07-18", TrainingFile: f.ID})
	require.NoError(t, err)
	for job.Status != openai.FineTuningJobStatusSucceeded {
		require.NotContains(t, []openai.FineTuningJobStatus{openai.FineTuningJobStatusFailed, openai.FineTuningJobStatusCancelled}, job.Status)
		job, err = c.FineTuning.Jobs.Get(ctx, job.ID)
		require.NoError(t, err)
	}
	res, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:       job.FineTunedModel,
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the population of Town3?")},
		Temperature: openai.Float(0), // OpenAI's default is 1: sampled
	})
	require.NoError(t, err)
	assert.Contains(t, res.Choices[0].Message.Content, "1003")

	st := s.Stats()
	assert.Equal(t, 1, st.Faults, "the fault for files hit /openai/v1/files")
	assert.Equal(t, 2, st.Requests["POST /openai/v1/files"])
	assert.Equal(t, 1, st.Requests["POST /openai/v1/fine_tuning/jobs"])
	assert.Equal(t, 1, st.Requests["POST /openai/v1/chat/completions"])
	assert.Zero(t, st.Requests["POST /v1/chat/completions"])
	assert.Equal(t, 1, st.FilesUploaded)
	assert.Equal(t, 1, st.JobsCreated)
	for _, a := range auth {
		assert.Empty(t, a, "no Authorization header: the key is in api-key")
	}
}
