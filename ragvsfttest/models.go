package ragvsfttest

import (
	"net/http"
	"slices"
	"strings"
)

// baseModels are the models GET /v1/models lists besides the fine-tunes.
// Chat completions accept any model id that is not a fine-tune.
var baseModels = append(slices.Clone(fineTunableModels),
	"gpt-4o", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano",
	"text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002")

type modelView struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func (s *OpenAIServer) modelList() []modelView {
	created := s.created.Unix()
	var out []modelView
	for _, id := range baseModels {
		out = append(out, modelView{ID: id, Object: "model", Created: created, OwnedBy: "system"})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ft []modelView
	for id, c := range s.modelCreated {
		ft = append(ft, modelView{ID: id, Object: "model", Created: c, OwnedBy: "ragvsft"})
	}
	slices.SortFunc(ft, func(a, b modelView) int { return strings.Compare(a.ID, b.ID) })
	return append(out, ft...)
}

func (s *OpenAIServer) listModels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": s.modelList()})
}

func (s *OpenAIServer) getModel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	for _, m := range s.modelList() {
		if m.ID == id {
			writeJSON(w, http.StatusOK, m)
			return
		}
	}
	modelNotFound(w, id)
}
