package ragvsfttest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzJSONEndpoints sends arbitrary bodies to the JSON endpoints: the server
// must answer every one with a JSON body, and every error in OpenAI's shape,
// never a panic or a 500.
func FuzzJSONEndpoints(f *testing.F) {
	paths := []string{"/v1/chat/completions", "/v1/embeddings", "/v1/fine_tuning/jobs"}
	seeds := []string{
		`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"What is the population of City_1?"}]}`,
		`{"model":"gpt-4o-mini","messages":[{"role":"user","content":[{"type":"text","text":"hi?"}]}],"max_tokens":-1}`,
		`{"model":"text-embedding-3-small","input":["a","b"],"dimensions":3,"encoding_format":"base64"}`,
		`{"model":"text-embedding-3-small","input":[[1,2]]}`,
		`{"model":"gpt-4o-mini-2024-07-18","training_file":"file-x","hyperparameters":{"n_epochs":"auto","batch_size":1e300}}`,
		`{"model":"gpt-4o-mini-2024-07-18","training_file":"file-x","method":{"type":"dpo"}}`,
		`{"messages":null}`, `[]`, `null`, `{"model":1}`, ``, `{`,
	}
	for i := range paths {
		for _, s := range seeds {
			f.Add(uint8(i), s)
		}
	}
	srv := NewOpenAIHandler(ServerConfig{})
	f.Cleanup(srv.Close)
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		path := paths[int(which)%len(paths)]
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer k")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		require.Contains(t, []int{200, 400, 404}, rec.Code, "%s %q: %s", path, body, rec.Body)
		var got map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got), "%s %q: %s", path, body, rec.Body)
		if rec.Code != http.StatusOK {
			e, ok := got["error"].(map[string]any)
			require.True(t, ok, "%s", rec.Body)
			assert.NotEmpty(t, e["message"])
			assert.Equal(t, "invalid_request_error", e["type"])
		}
	})
}
