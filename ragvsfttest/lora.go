package ragvsfttest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/ragvsft/ragvsft"
)

// vLLM's runtime LoRA API (vllm serve with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True;
// vllm/entrypoints/openai/models/serving.py and serve/lora/api_router.py):
//
//	POST /v1/load_lora_adapter   {"lora_name", "lora_path", "load_inplace"}
//	POST /v1/unload_lora_adapter {"lora_name"}
//
// Success is 200 with a plain-text body ("Success: LoRA adapter 'NAME' added
// successfully."); an error is vLLM's JSON, {"error": {"message", "type",
// "param", "code"}} with code the HTTP status as a number. Here an adapter
// is a saved ragvsft.LocalModel: lora_path is its file, or a directory
// holding ragvsft.LocalModelFile.

// loras holds the adapters loaded at runtime. The zero value is empty and
// ready; it is safe for concurrent use.
type loras struct {
	mu     sync.Mutex
	byName map[string]ragvsft.Model
}

// get returns the adapter loaded under name.
func (l *loras) get(name string) (ragvsft.Model, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m, ok := l.byName[name]
	return m, ok
}

// names lists the adapters loaded, sorted.
func (l *loras) names() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Sorted(maps.Keys(l.byName))
}

// put loads m under name, replacing an adapter of that name only if
// inplace; it reports false if it did not.
func (l *loras) put(name string, m ragvsft.Model, inplace bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, loaded := l.byName[name]; loaded && !inplace {
		return false
	}
	if l.byName == nil {
		l.byName = map[string]ragvsft.Model{}
	}
	l.byName[name] = m
	return true
}

func alreadyLoaded(w http.ResponseWriter, name string) {
	vllmError(w, http.StatusBadRequest, "InvalidUserInput", fmt.Sprintf(
		"The lora adapter '%s' has already been loaded. If you want to load the adapter in place, set 'load_inplace' to True.", name))
}

// vllmError writes an error as vLLM does.
func vllmError(w http.ResponseWriter, status int, typ, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"message": message, "type": typ, "param": nil, "code": status,
	}})
}

// vllmText writes a success as vLLM does: 200 and a bare string.
func vllmText(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(body))
}

// readLoRABody decodes a LoRA request; vLLM answers a body that is not a
// JSON object of the right shape with 400.
func readLoRABody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
		vllmError(w, http.StatusBadRequest, "BadRequestError", "Invalid JSON body: "+err.Error())
		return false
	}
	return true
}

func (s *OpenAIServer) loadLoRAAdapter(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name    string `json:"lora_name"`
		Path    string `json:"lora_path"`
		Inplace bool   `json:"load_inplace"`
	}
	if !readLoRABody(w, r, &req) {
		return
	}
	if req.Name == "" || req.Path == "" {
		vllmError(w, http.StatusBadRequest, "InvalidUserInput", "Both 'lora_name' and 'lora_path' must be provided.")
		return
	}
	if _, loaded := s.lora.get(req.Name); loaded && !req.Inplace {
		alreadyLoaded(w, req.Name)
		return
	}
	m, err := readAdapter(req.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		vllmError(w, http.StatusNotFound, "NotFoundError", fmt.Sprintf("Loading lora %s failed: No adapter found for %s", req.Name, req.Path))
		return
	case err != nil:
		vllmError(w, http.StatusInternalServerError, "InternalServerError", err.Error())
		return
	}
	if !s.lora.put(req.Name, m, req.Inplace) {
		alreadyLoaded(w, req.Name)
		return
	}
	vllmText(w, fmt.Sprintf("Success: LoRA adapter '%s' added successfully.", req.Name))
}

// readAdapter reads a saved local model from path, a file or a directory
// holding ragvsft.LocalModelFile.
func readAdapter(path string) (ragvsft.Model, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, ragvsft.LocalModelFile)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := ragvsft.ReadLocalModel(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func (s *OpenAIServer) unloadLoRAAdapter(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"lora_name"`
	}
	if !readLoRABody(w, r, &req) {
		return
	}
	if req.Name == "" {
		vllmError(w, http.StatusBadRequest, "InvalidUserInput", "'lora_name' needs to be provided to unload a LoRA adapter.")
		return
	}
	s.lora.mu.Lock()
	_, ok := s.lora.byName[req.Name]
	delete(s.lora.byName, req.Name)
	s.lora.mu.Unlock()
	if !ok {
		vllmError(w, http.StatusNotFound, "NotFoundError", fmt.Sprintf("The lora adapter '%s' cannot be found.", req.Name))
		return
	}
	vllmText(w, fmt.Sprintf("Success: LoRA adapter '%s' removed successfully.", req.Name))
}
