package ragvsfttest

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault is one injected failure of a request.
//
// The zero value is a 500 server_error.
type Fault struct {
	// Status is the HTTP status to answer with: 429, 500, 503... Zero means
	// 500. Ignored when Drop is set.
	Status int
	// Drop closes the connection without answering, as a crashed proxy
	// does; the client sees a transport error.
	Drop bool
	// RetryAfter, when positive, is sent as OpenAI sends it: in
	// "retry-after-ms" (milliseconds) and "retry-after" (whole seconds,
	// rounded up).
	RetryAfter time.Duration
	// AfterHandling handles the request first (a file is stored, a job
	// created) and only then fails its response, as when a response is lost
	// on its way back: a client that retries does the thing twice.
	AfterHandling bool
	// Code is the error's "code"; empty means the usual code for Status:
	// rate_limit_exceeded for 429, server_error for 5xx. Use
	// "insufficient_quota" for a 429 that no retry will fix.
	Code string
}

// JobError is why a fine-tuning job failed, as OpenAI reports it in the
// job's "error" field.
type JobError struct {
	// Code is machine-readable, as "invalid_training_file".
	Code    string `json:"code"`
	Message string `json:"message"`
	// Param is the parameter at fault, as "training_file"; empty (null on
	// the wire) when the failure is not about one.
	Param string `json:"param"`
}

// MarshalJSON writes an empty Param as null, as OpenAI does.
func (e JobError) MarshalJSON() ([]byte, error) {
	var param *string
	if e.Param != "" {
		param = &e.Param
	}
	return json.Marshal(struct {
		Code    string  `json:"code"`
		Message string  `json:"message"`
		Param   *string `json:"param"`
	}{e.Code, e.Message, param})
}

// Faults are failures applied to every request, configurable when the
// server starts (ServerConfig.Faults) and at any time with
// [OpenAIServer.SetFaults]. The zero value injects nothing.
type Faults struct {
	// Latency is added before every request is answered.
	Latency time.Duration
	// Rate is the fraction of requests, from 0 to 1, that fail with
	// RateFault; which ones is drawn from a generator seeded with Seed, so
	// a run is reproducible.
	Rate      float64
	RateFault Fault
	Seed      uint64
	// FailJobs is how many of the next fine-tuning jobs fail while
	// running, with JobError (zero value: OpenAI's server_error).
	FailJobs int
	JobError JobError
	// FailBatches is how many of the next batches fail once validated,
	// with BatchError (zero value: OpenAI's token_limit_exceeded).
	// ExpireBatches is how many expire, and CancelBatches how many are
	// cancelled (as by their owner, elsewhere), after answering the first
	// half of their requests: the rest is in the error file as
	// batch_expired, or in no file once cancelled, as at OpenAI.
	FailBatches   int
	BatchError    BatchError
	ExpireBatches int
	CancelBatches int
}

// queuedFault is a fault waiting for the next requests to a path.
type queuedFault struct {
	path  string // relative to /v1, without leading slash; "" matches every path
	left  int
	fault Fault
}

// InjectFault makes the next n requests whose path is path fail with f.
// The path is relative to the base URL, as in "chat/completions" or
// "fine_tuning/jobs/ftjob-abc"; a leading "/" or "/v1/" is ignored, a
// trailing "/*" matches every path below ("fine_tuning/jobs/*" matches
// each job's polls, events and cancel), and "" matches every request. A
// fault for "chat/completions" or "embeddings" also fails the next request
// of a batch on that endpoint, in its line of the error file. Injected faults are consumed in the order they were
// injected. It is safe to call while the server is serving.
func (s *OpenAIServer) InjectFault(path string, n int, f Fault) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queued = append(s.queued, &queuedFault{path: normalizePath(path), left: n, fault: f})
}

// SetFaults replaces the faults applied to every request. Faults injected
// with InjectFault stay queued. It is safe to call while the server is
// serving.
func (s *OpenAIServer) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setFaultsLocked(f)
}

func (s *OpenAIServer) setFaultsLocked(f Faults) {
	s.faults = f
	s.rng = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))
}

func normalizePath(p string) string {
	p = strings.TrimPrefix(p, "/")
	p = strings.TrimPrefix(p, "v1/")
	if p == "v1" {
		p = ""
	}
	return strings.TrimSuffix(p, "/")
}

// matchPath reports whether an InjectFault pattern matches a normalized
// request path.
func matchPath(pattern, path string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "/*"); ok {
		return strings.HasPrefix(path, prefix+"/")
	}
	return pattern == "" || pattern == path
}

// takeFault returns the fault for a request to path, if any, and the
// latency to add. It consumes a queued fault.
func (s *OpenAIServer) takeFault(path string) (Fault, bool, time.Duration) {
	path = normalizePath(path)
	s.mu.Lock()
	defer s.mu.Unlock()
	latency := s.faults.Latency
	for i, q := range s.queued {
		if !matchPath(q.path, path) {
			continue
		}
		q.left--
		if q.left == 0 {
			s.queued = append(s.queued[:i:i], s.queued[i+1:]...)
		}
		s.stats.Faults++
		return q.fault, true, latency
	}
	if s.faults.Rate > 0 && s.rng.Float64() < s.faults.Rate {
		s.stats.Faults++
		return s.faults.RateFault, true, latency
	}
	return Fault{}, false, latency
}

// takeJobFailure reports whether the job being started must fail, and how.
func (s *OpenAIServer) takeJobFailure() (JobError, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.FailJobs <= 0 {
		return JobError{}, false
	}
	s.faults.FailJobs--
	e := s.faults.JobError
	if e.Code == "" && e.Message == "" {
		e = JobError{Code: "server_error", Message: "The job failed due to an internal error."}
	}
	return e, true
}

// serveFault answers a request with f.
func serveFault(w http.ResponseWriter, f Fault) {
	if f.Drop {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
			return
		}
		// Not hijackable (HTTP/2): net/http's way to abort a response.
		panic(http.ErrAbortHandler)
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if f.RetryAfter > 0 {
		ms := f.RetryAfter.Milliseconds()
		secs := (f.RetryAfter + time.Second - 1) / time.Second
		w.Header().Set("retry-after-ms", strconv.FormatInt(ms, 10))
		w.Header().Set("retry-after", strconv.FormatInt(int64(secs), 10))
	}
	code, typ, msg := f.Code, typeServer, "The server had an error while processing your request. Sorry about that!"
	switch {
	case status == http.StatusTooManyRequests:
		typ = typeRateLimit
		if code == "" {
			code = "rate_limit_exceeded"
		}
		msg = "Rate limit reached for requests. Please try again later."
		if code == "insufficient_quota" {
			typ = "insufficient_quota"
			msg = "You exceeded your current quota, please check your plan and billing details."
		}
	case status == http.StatusServiceUnavailable:
		msg = "The engine is currently overloaded, please try again later."
		if code == "" {
			code = "server_error"
		}
	case status >= 500:
		if code == "" {
			code = "server_error"
		}
	default:
		typ = typeInvalidRequest
		msg = "Injected failure."
	}
	writeError(w, status, typ, code, "", msg)
}
