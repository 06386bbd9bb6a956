package ragvsfttest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

// postRaw posts body to path under the server's /v1 and returns the status
// and the body.
func postRaw(t *testing.T, s *OpenAIServer, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// savedAdapter fine-tunes the local model on n towns for 30 epochs and
// saves it in a directory of its own, as examples/train-local does.
func savedAdapter(t *testing.T, n int) (dir string, m *ragvsft.LocalModel) {
	t.Helper()
	ds, err := ragvsft.ReadJSONL(strings.NewReader(trainingJSONL(n)), "towns.jsonl")
	require.NoError(t, err)
	ft, err := ragvsft.LocalFineTuner{}.FineTune(context.Background(), ragvsft.FineTuneRequest{
		Training: ds, Hyperparameters: ragvsft.Hyperparameters{Epochs: 30}, Seed: 42,
	})
	require.NoError(t, err)
	m = ft.Model.(*ragvsft.LocalModel)
	dir = t.TempDir()
	var buf bytes.Buffer
	_, err = m.WriteTo(&buf)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, ragvsft.LocalModelFile), buf.Bytes(), 0o644))
	return dir, m
}

func TestLoRAAdapterEndpoints(t *testing.T) {
	s := newServer(t, ServerConfig{})
	dir, _ := savedAdapter(t, 12)
	garbage := filepath.Join(t.TempDir(), "adapter_model.safetensors")
	require.NoError(t, os.WriteFile(garbage, []byte("not a local model"), 0o644))
	missing := filepath.Join(t.TempDir(), "nothing-here")

	// In order: each step sees the state the previous ones left.
	steps := []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"load without path", "/load_lora_adapter", `{"lora_name":"towns"}`, 400,
			`{"error":{"code":400,"message":"Both 'lora_name' and 'lora_path' must be provided.","param":null,"type":"InvalidUserInput"}}`},
		{"load bad JSON", "/load_lora_adapter", `{"lora_name":`, 400, `"type":"BadRequestError"`},
		{"load missing path", "/load_lora_adapter", `{"lora_name":"towns","lora_path":"` + missing + `"}`, 404,
			`{"error":{"code":404,"message":"Loading lora towns failed: No adapter found for ` + missing + `","param":null,"type":"NotFoundError"}}`},
		{"load a file that is no model", "/load_lora_adapter", `{"lora_name":"towns","lora_path":"` + garbage + `"}`, 500,
			`not a valid local model file: it does not start with`},
		{"load", "/load_lora_adapter", `{"lora_name":"towns","lora_path":"` + dir + `"}`, 200,
			"Success: LoRA adapter 'towns' added successfully."},
		{"load again", "/load_lora_adapter", `{"lora_name":"towns","lora_path":"` + dir + `"}`, 400,
			`{"error":{"code":400,"message":"The lora adapter 'towns' has already been loaded. If you want to load the adapter in place, set 'load_inplace' to True.","param":null,"type":"InvalidUserInput"}}`},
		{"load in place", "/load_lora_adapter", `{"lora_name":"towns","lora_path":"` + filepath.Join(dir, ragvsft.LocalModelFile) + `","load_inplace":true}`, 200,
			"Success: LoRA adapter 'towns' added successfully."},
		{"unload without name", "/unload_lora_adapter", `{}`, 400,
			`{"error":{"code":400,"message":"'lora_name' needs to be provided to unload a LoRA adapter.","param":null,"type":"InvalidUserInput"}}`},
		{"unload", "/unload_lora_adapter", `{"lora_name":"towns"}`, 200,
			"Success: LoRA adapter 'towns' removed successfully."},
		{"unload again", "/unload_lora_adapter", `{"lora_name":"towns"}`, 404,
			`{"error":{"code":404,"message":"The lora adapter 'towns' cannot be found.","param":null,"type":"NotFoundError"}}`},
	}
	for _, st := range steps {
		status, body := postRaw(t, s, st.path, st.body)
		assert.Equal(t, st.status, status, "%s: %s", st.name, body)
		if strings.HasPrefix(st.want, "{\"error\"") || st.status == 200 {
			assert.Equal(t, st.want, body, st.name)
		} else {
			assert.Contains(t, body, st.want, st.name)
		}
	}
}

func TestLoRAAdapterAnswersChat(t *testing.T) {
	s := newServer(t, ServerConfig{})
	c := newClient(s)
	ctx := context.Background()
	dir, m := savedAdapter(t, 12)
	ask := func(model string) (string, error) {
		resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:       model,
			Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the population of Town3?")},
			Temperature: openai.Float(0), // the default, 1, samples
		})
		if err != nil {
			return "", err
		}
		return resp.Choices[0].Message.Content, nil
	}
	want, err := m.Chat(ctx, ragvsft.ChatRequest{Messages: []ragvsft.Message{{Role: "user", Content: "What is the population of Town3?"}}})
	require.NoError(t, err)
	require.Equal(t, "The population of Town3 is 1003.", want.Content, "the adapter knows its town")

	// A name of vLLM's kind and one shaped like a fine-tune id both answer.
	for _, name := range []string{"towns-lora", m.Name()} {
		_, err := ask(name)
		if strings.HasPrefix(name, "ft:") {
			assert.Equal(t, http.StatusNotFound, asAPIError(t, err).StatusCode, "an unknown fine-tune before loading")
		}
		status, body := postRaw(t, s, "/load_lora_adapter", `{"lora_name":"`+name+`","lora_path":"`+dir+`"}`)
		require.Equal(t, 200, status, body)
		got, err := ask(name)
		require.NoError(t, err)
		assert.Equal(t, want.Content, got, name)

		status, body = postRaw(t, s, "/unload_lora_adapter", `{"lora_name":"`+name+`"}`)
		require.Equal(t, 200, status, body)
	}
	_, err = ask(m.Name())
	assert.Equal(t, http.StatusNotFound, asAPIError(t, err).StatusCode, "unloaded")
}

func TestLoRAAdapterNeedsKey(t *testing.T) {
	s := newServer(t, ServerConfig{APIKey: "sk-the-right-one"})
	status, body := postRaw(t, s, "/load_lora_adapter", `{"lora_name":"x","lora_path":"/tmp"}`)
	assert.Equal(t, http.StatusUnauthorized, status, body)
}
