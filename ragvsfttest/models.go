package ragvsfttest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/internal/clock"
)

// catalog is what the server knows of OpenAI's models: the library's
// DefaultCatalog, read once (it is never modified).
var catalog = ragvsft.DefaultCatalog()

// listedSnapshots are dated model ids GET /v1/models lists beside the
// catalog's own entries: the snapshots OpenAI's fine-tuning guide names.
// Any snapshot the catalog covers (see ragvsft.Catalog.Lookup) is served.
var listedSnapshots = []string{
	ragvsft.DefaultBaseModel, "gpt-4.1-2025-04-14",
	"gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06",
}

// deprecationsURL is where OpenAI's refusal of a shut-down model points.
const deprecationsURL = "https://platform.openai.com/docs/deprecations"

// now is the server's day, for the catalog's shutdown dates. A malformed
// RAGVSFT_TODAY falls back to time.Now: a handler cannot report it to the
// caller, and the ragvsft library in the same process refuses it anyway.
func (s *OpenAIServer) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	if day, err := clock.Today(); err == nil {
		return day
	}
	return time.Now()
}

// modelEntry is what the server knows of one model id.
type modelEntry struct {
	info ragvsft.ModelInfo
	// extra: named in ServerConfig.Models, served for chat and embeddings
	// and never shut down.
	extra   bool
	created int64 // fine-tunes only
}

// lookupModel returns what the server knows of id: a LoRA adapter loaded
// at runtime, a model of ServerConfig.Models, a succeeded fine-tune (with its base model's
// catalog entry, for its shutdown date), or a catalog entry.
func (s *OpenAIServer) lookupModel(id string) (modelEntry, bool) {
	if _, ok := s.lora.get(id); ok {
		return modelEntry{extra: true}, true // a LoRA adapter loaded at runtime, as vLLM serves it
	}
	// The embedded local model answers under its own name too, as a
	// server of open weights answers under the weights' name.
	if id == ragvsft.LocalBaseModel || slices.Contains(s.cfg.Models, id) {
		return modelEntry{extra: true}, true
	}
	if ragvsft.IsFineTunedID(id) {
		s.mu.Lock()
		created, ok := s.modelCreated[id]
		s.mu.Unlock()
		if !ok {
			return modelEntry{}, false
		}
		info, _ := catalog.Lookup(id)
		info.Embedding = false
		return modelEntry{info: info, created: created}, true
	}
	info, ok := catalog.Lookup(id)
	return modelEntry{info: info}, ok
}

// servable answers OpenAI's 404 model_not_found unless id is a model the
// server serves for chat completions (embedding false) or embeddings, and
// one that is not shut down on the server's day.
func (s *OpenAIServer) servable(w http.ResponseWriter, id string, embedding bool) (ragvsft.ModelInfo, bool) {
	e, ok := s.lookupModel(id)
	if !ok || (!e.extra && e.info.Embedding != embedding) {
		modelNotFound(w, id)
		return ragvsft.ModelInfo{}, false
	}
	if !e.extra && e.info.ShutDownBy(s.now()) {
		modelShutDown(w, id)
		return ragvsft.ModelInfo{}, false
	}
	return e.info, true
}

// modelNotFound is OpenAI's answer for a model that does not exist.
func modelNotFound(w http.ResponseWriter, id string) {
	notFound(w, "", "model_not_found", fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", id))
}

// modelShutDown is OpenAI's answer for a model past its shutdown date.
func modelShutDown(w http.ResponseWriter, id string) {
	notFound(w, "", "model_not_found", fmt.Sprintf("The model `%s` has been deprecated, learn more here: %s", id, deprecationsURL))
}

type modelView struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// modelList lists the models served on the server's day: the catalog's
// (without the shut-down ones) and listedSnapshots, ServerConfig.Models,
// then the succeeded fine-tunes.
func (s *OpenAIServer) modelList() []modelView {
	created := s.created.Unix()
	now := s.now()
	var ids []string
	for id, info := range catalog {
		if !info.ShutDownBy(now) {
			ids = append(ids, id)
		}
	}
	for _, id := range listedSnapshots {
		if info, ok := catalog.Lookup(id); ok && !info.ShutDownBy(now) {
			ids = append(ids, id)
		}
	}
	ids = append(ids, s.cfg.Models...)
	ids = append(ids, s.lora.names()...)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make([]modelView, 0, len(ids))
	for _, id := range ids {
		out = append(out, modelView{ID: id, Object: "model", Created: created, OwnedBy: "system"})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ft []modelView
	for id, c := range s.modelCreated {
		if info, _ := catalog.Lookup(id); !info.ShutDownBy(now) {
			ft = append(ft, modelView{ID: id, Object: "model", Created: c, OwnedBy: "ragvsft"})
		}
	}
	slices.SortFunc(ft, func(a, b modelView) int { return strings.Compare(a.ID, b.ID) })
	return append(out, ft...)
}

func (s *OpenAIServer) listModels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": s.modelList()})
}

// getModel answers for any model the server serves, listed or not (a
// dated snapshot the catalog covers), and refuses an unknown or shut-down
// one as chat completions do.
func (s *OpenAIServer) getModel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	e, ok := s.lookupModel(id)
	switch {
	case !ok:
		modelNotFound(w, id)
	case !e.extra && e.info.ShutDownBy(s.now()):
		modelShutDown(w, id)
	case e.created != 0:
		writeJSON(w, http.StatusOK, modelView{ID: id, Object: "model", Created: e.created, OwnedBy: "ragvsft"})
	default:
		writeJSON(w, http.StatusOK, modelView{ID: id, Object: "model", Created: s.created.Unix(), OwnedBy: "system"})
	}
}
