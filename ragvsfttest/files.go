package ragvsfttest

import (
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxUploadBytes bounds an upload; OpenAI's limit is far higher, but a test
// server has no use for large files.
const maxUploadBytes = 64 << 20

// File statuses, as OpenAI names them (deprecated in its API, still sent).
const (
	fileUploaded  = "uploaded"
	fileProcessed = "processed"
	fileError     = "error"
)

// file is an uploaded file. It does not change once stored: its status is
// worked out from the time (see at).
type file struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	Bytes     int    `json:"bytes"`
	CreatedAt int64  `json:"created_at"`
	Filename  string `json:"filename"`
	Purpose   string `json:"purpose"`
	Status    string `json:"status"`
	// StatusDetails is deprecated in OpenAI's API but still sent.
	StatusDetails *string `json:"status_details"`
	content       []byte
	// readyAt is when processing ends; failure, if set, is why it ends in
	// "error" rather than "processed".
	readyAt time.Time
	failure string
}

// at returns the file as the API shows it at time now: "uploaded" until
// readyAt, then "processed" or "error".
func (f *file) at(now time.Time) *file {
	v := *f
	switch {
	case now.Before(f.readyAt):
		v.Status = fileUploaded
	case f.failure != "":
		v.Status, v.StatusDetails = fileError, &f.failure
	default:
		v.Status = fileProcessed
	}
	return &v
}

// processingFailure is why a file of purpose would end in "error", or "".
// Its lines are checked later, when a job validates it, as OpenAI does.
func processingFailure(purpose string, content []byte) string {
	if purpose == "fine-tune" && !utf8.Valid(content) {
		return "Invalid file format for Fine-Tuning API. The file must be UTF-8 encoded text."
	}
	return ""
}

var filePurposes = []string{"fine-tune", "assistants", "batch", "vision", "user_data", "evals"}

func (s *OpenAIServer) createFile(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		badRequest(w, "", "", "Could not parse multipart form: "+err.Error())
		return
	}
	defer func() { _ = r.MultipartForm.RemoveAll() }()
	purpose := r.FormValue("purpose")
	if purpose == "" {
		badRequest(w, "purpose", "", "Missing required parameter: 'purpose'.")
		return
	}
	if !slices.Contains(filePurposes, purpose) {
		badRequest(w, "purpose", "", "'"+purpose+"' is not one of "+strings.Join(filePurposes, ", ")+" - 'purpose'")
		return
	}
	f, hdr, err := r.FormFile("file")
	if err != nil {
		badRequest(w, "file", "", "Missing required parameter: 'file'.")
		return
	}
	defer func() { _ = f.Close() }()
	content, err := io.ReadAll(f)
	if err != nil {
		badRequest(w, "file", "", "Could not read the uploaded file: "+err.Error())
		return
	}
	if purpose == "fine-tune" && !strings.HasSuffix(strings.ToLower(hdr.Filename), ".jsonl") {
		badRequest(w, "file", "", "Invalid file format for Fine-Tuning API. Must be .jsonl (got filename "+strconv.Quote(hdr.Filename)+").")
		return
	}
	// A batch input file's lines are checked when a batch validates it
	// (batches.go), as OpenAI does; the upload checks its name only.
	if purpose == "batch" && !strings.HasSuffix(strings.ToLower(hdr.Filename), ".jsonl") {
		badRequest(w, "file", "", "Invalid file format for Batch API. Must be .jsonl (got filename "+strconv.Quote(hdr.Filename)+").")
		return
	}
	obj := &file{
		ID:        newID("file-", 22),
		Object:    "file",
		Bytes:     len(content),
		CreatedAt: time.Now().Unix(),
		Filename:  hdr.Filename,
		Purpose:   purpose,
		content:   content,
		readyAt:   time.Now().Add(s.cfg.FileProcessingDelay),
		failure:   processingFailure(purpose, content),
	}
	s.mu.Lock()
	s.addFileLocked(obj)
	s.stats.FilesUploaded++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, obj.at(time.Now()))
}

func (s *OpenAIServer) addFileLocked(f *file) {
	s.files[f.ID] = f
	s.fileOrder = append(s.fileOrder, f.ID)
}

func (s *OpenAIServer) lookupFile(w http.ResponseWriter, id string) (*file, bool) {
	s.mu.Lock()
	f, ok := s.files[id]
	s.mu.Unlock()
	if !ok {
		notFound(w, "id", "", "No such File object: "+id)
	}
	return f, ok
}

func (s *OpenAIServer) getFile(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.lookupFile(w, r.PathValue("id")); ok {
		writeJSON(w, http.StatusOK, f.at(time.Now()))
	}
}

func (s *OpenAIServer) getFileContent(w http.ResponseWriter, r *http.Request) {
	f, ok := s.lookupFile(w, r.PathValue("id"))
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(f.content)))
	_, _ = w.Write(f.content)
}

func (s *OpenAIServer) deleteFile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := s.lookupFile(w, id); !ok {
		return
	}
	s.mu.Lock()
	delete(s.files, id)
	s.fileOrder = slices.DeleteFunc(s.fileOrder, func(x string) bool { return x == id })
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "object": "file", "deleted": true})
}

// listFiles lists files newest first, with OpenAI's purpose filter and
// after/limit cursor.
func (s *OpenAIServer) listFiles(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := parseLimit(w, q.Get("limit"), 10000, 10000)
	if !ok {
		return
	}
	purpose := q.Get("purpose")
	now := time.Now()
	s.mu.Lock()
	var all []*file
	for i := len(s.fileOrder) - 1; i >= 0; i-- {
		f := s.files[s.fileOrder[i]]
		if purpose == "" || f.Purpose == purpose {
			all = append(all, f.at(now))
		}
	}
	s.mu.Unlock()
	if q.Get("order") == "asc" {
		slices.Reverse(all)
	}
	id := func(f *file) string { return f.ID }
	page, more := paginate(all, q.Get("after"), limit, id)
	writeList(w, page, more, id)
}

// parseLimit reads a "limit" query parameter in [1, max].
func parseLimit(w http.ResponseWriter, v string, def, max int) (int, bool) {
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		badRequest(w, "limit", "integer_below_min_value", "Invalid 'limit': expected an integer between 1 and "+strconv.Itoa(max)+", got "+strconv.Quote(v)+".")
		return 0, false
	}
	return n, true
}

// paginate returns up to limit items that follow the item whose id is after
// (all items when after is empty, none when it is unknown), and whether
// more follow.
func paginate[T any](items []T, after string, limit int, id func(T) string) ([]T, bool) {
	if after != "" {
		i := slices.IndexFunc(items, func(it T) bool { return id(it) == after })
		if i < 0 {
			return nil, false
		}
		items = items[i+1:]
	}
	if len(items) > limit {
		return items[:limit], true
	}
	return items, false
}

// writeList writes a page of a list as OpenAI does, with the ids of its
// first and last items.
func writeList[T any](w http.ResponseWriter, data []T, hasMore bool, id func(T) string) {
	if data == nil {
		data = []T{}
	}
	body := map[string]any{"object": "list", "data": data, "has_more": hasMore, "first_id": nil, "last_id": nil}
	if len(data) > 0 {
		body["first_id"] = id(data[0])
		body["last_id"] = id(data[len(data)-1])
	}
	writeJSON(w, http.StatusOK, body)
}
