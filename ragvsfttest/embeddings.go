package ragvsfttest

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
)

// errDimensions is returned by an embedder asked for more dimensions than
// its model has.
var errDimensions = errors.New("too many dimensions")

// OpenAI's limits of one embeddings request: inputs, tokens per input and
// tokens in all (tokens as approxTokens counts them).
const (
	maxEmbeddingInputs      = 2048
	maxEmbeddingInputTokens = 8192
	maxEmbeddingTokens      = 300_000
)

type embeddingRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     *int            `json:"dimensions"`
}

// embeddingInputs reads "input": a string or an array of strings. Token
// arrays, which OpenAI also accepts, are refused: the local model reads text.
func embeddingInputs(raw json.RawMessage) ([]string, string) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, ""
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many, ""
	}
	if strings.HasPrefix(strings.TrimSpace(string(raw)), "[") {
		return nil, "This server accepts 'input' as a string or an array of strings, not tokens."
	}
	return nil, "Invalid 'input': expected a string or an array of strings."
}

func (s *OpenAIServer) embeddings(w http.ResponseWriter, r *http.Request) {
	var req embeddingRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 32<<20)).Decode(&req); err != nil {
		badRequest(w, "", "", "We could not parse the JSON body of your request: "+err.Error())
		return
	}
	if req.Model == "" {
		badRequest(w, "model", "", "Missing required parameter: 'model'.")
		return
	}
	if _, ok := s.servable(w, req.Model, true); !ok {
		return
	}
	inputs, msg := embeddingInputs(req.Input)
	switch {
	case msg != "":
		badRequest(w, "input", "invalid_type", msg)
		return
	case len(inputs) == 0:
		badRequest(w, "input", "empty_array", "Invalid 'input': empty array. Expected an array with minimum length 1.")
		return
	case len(inputs) > maxEmbeddingInputs:
		badRequest(w, "input", "array_above_max_length", fmt.Sprintf("Invalid 'input': array too long. Expected an array with maximum length %d, but got an array with length %d instead.", maxEmbeddingInputs, len(inputs)))
		return
	}
	total := 0
	for i, in := range inputs {
		if in == "" {
			badRequest(w, "input", "invalid_value", fmt.Sprintf("Invalid 'input[%d]': the string is empty.", i))
			return
		}
		n := approxTokens(in)
		if n > maxEmbeddingInputTokens {
			// OpenAI's words, with null param and code.
			badRequest(w, "", "", fmt.Sprintf("This model's maximum context length is %d tokens, however you requested %d tokens (%d in your prompt; 0 for the completion). Please reduce your prompt; or completion length.", maxEmbeddingInputTokens, n, n))
			return
		}
		total += n
	}
	if total > maxEmbeddingTokens {
		writeError(w, http.StatusBadRequest, "max_tokens_per_request", "max_tokens_per_request", "", fmt.Sprintf("Requested %d tokens, max %d tokens per request", total, maxEmbeddingTokens))
		return
	}
	if req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64" {
		badRequest(w, "encoding_format", "invalid_value", fmt.Sprintf("Invalid 'encoding_format': %q is not one of float, base64.", req.EncodingFormat))
		return
	}
	if req.Dimensions != nil {
		if *req.Dimensions < 1 {
			badRequest(w, "dimensions", "integer_below_min_value", fmt.Sprintf("Invalid 'dimensions': expected a value >= 1, but got %d instead.", *req.Dimensions))
			return
		}
		if req.Model == "text-embedding-ada-002" {
			badRequest(w, "dimensions", "", "This model does not support specifying dimensions.")
			return
		}
	}
	dims := 0
	if req.Dimensions != nil {
		dims = *req.Dimensions
		if native := nativeDims(req.Model); s.cfg.Embed == nil && strings.HasPrefix(req.Model, "text-embedding-") && dims > native {
			badRequest(w, "dimensions", "invalid_value", fmt.Sprintf("Invalid 'dimensions': %s has %d dimensions, fewer than %d.", req.Model, native, dims))
			return
		}
	}
	data := make([]map[string]any, 0, len(inputs))
	tokens := 0
	for i, in := range inputs {
		vec, err := s.embed(r.Context(), in, req.Model, dims)
		switch {
		case errors.Is(err, errDimensions):
			badRequest(w, "dimensions", "invalid_value", "Invalid 'dimensions': "+strings.TrimPrefix(err.Error(), errDimensions.Error()+": ")+".")
			return
		case err != nil:
			if r.Context().Err() != nil {
				return
			}
			badRequest(w, "input", "invalid_value", fmt.Sprintf("Invalid 'input[%d]': %v.", i, err))
			return
		}
		var emb any = vec
		if req.EncodingFormat == "base64" {
			buf := make([]byte, 4*len(vec))
			for k, f := range vec {
				binary.LittleEndian.PutUint32(buf[4*k:], math.Float32bits(f))
			}
			emb = base64.StdEncoding.EncodeToString(buf)
		}
		data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": emb})
		tokens += approxTokens(in)
	}
	s.mu.Lock()
	s.stats.Embeddings++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data":   data,
		"model":  req.Model,
		"usage":  map[string]any{"prompt_tokens": tokens, "total_tokens": tokens},
	})
}

// shorten keeps the first d dimensions and scales them back to unit length,
// as OpenAI's text-embedding-3 models do for the dimensions parameter.
func shorten(v []float32, d int) []float32 {
	out := make([]float32, d)
	copy(out, v[:d])
	var sum float64
	for _, f := range out {
		sum += float64(f) * float64(f)
	}
	if sum == 0 {
		return out
	}
	norm := float32(math.Sqrt(sum))
	for i := range out {
		out[i] /= norm
	}
	return out
}
