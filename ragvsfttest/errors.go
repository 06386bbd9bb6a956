package ragvsfttest

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Error types, as OpenAI names them in an error's "type" field.
const (
	typeInvalidRequest = "invalid_request_error"
	typeAuthentication = "authentication_error"
	typeRateLimit      = "rate_limit_error"
	typeServer         = "server_error"
)

// apiError is the body of every error response: {"error": {...}}.
type apiError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// writeError writes an error in OpenAI's shape. Empty param and code are sent
// as null, as OpenAI does.
func writeError(w http.ResponseWriter, status int, typ, code, param, message string) {
	e := apiError{Message: message, Type: typ}
	if param != "" {
		e.Param = &param
	}
	if code != "" {
		e.Code = &code
	}
	writeJSON(w, status, map[string]apiError{"error": e})
}

func badRequest(w http.ResponseWriter, param, code, message string) {
	writeError(w, http.StatusBadRequest, typeInvalidRequest, code, param, message)
}

func notFound(w http.ResponseWriter, param, code, message string) {
	writeError(w, http.StatusNotFound, typeInvalidRequest, code, param, message)
}

func serverError(w http.ResponseWriter, message string) {
	writeError(w, http.StatusInternalServerError, typeServer, "server_error", "", message)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"message":"could not encode response","type":"server_error","param":null,"code":null}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
