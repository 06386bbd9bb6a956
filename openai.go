package ragvsft

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/ragvsft/ragvsft/internal/clock"
)

// DefaultOpenAIBaseURL is the API that OpenAIConfig talks to when BaseURL is
// empty.
const DefaultOpenAIBaseURL = "https://api.openai.com/v1/"

// OpenAIConfig says how to reach OpenAI, or any server that speaks its wire
// format (Azure OpenAI's v1 endpoint, Ollama, vLLM, LM Studio, or
// ragvsfttest's server).
//
// The zero value talks to DefaultOpenAIBaseURL with openai-go's retry policy
// but has no API key, so every call fails with ErrNoAPIKey. Most callers start
// from OpenAIConfigFromEnv and set fields to override the environment:
//
//	cfg := ragvsft.OpenAIConfigFromEnv()
//	cfg.BaseURL = "http://127.0.0.1:8089/v1"
//
// Nothing else in this package reads the environment. An OpenAIConfig is a
// plain value: copy it freely.
type OpenAIConfig struct {
	// APIKey is sent as a bearer token, or in the api-key header when Azure
	// is set. It never appears in an error returned by this package.
	APIKey string
	// BaseURL is the API root, e.g. "http://127.0.0.1:8089/v1"; empty means
	// DefaultOpenAIBaseURL.
	BaseURL string
	// Azure says BaseURL is an Azure OpenAI v1 endpoint,
	// "https://RESOURCE.openai.azure.com/openai/v1/" (see AzureV1URL): the
	// key goes in Azure's api-key header instead of Authorization, no
	// api-version is sent (the v1 API has none), and Organization and
	// Project are not sent. Model names are then deployment names. Files,
	// fine-tuning jobs, chat and embeddings use the same paths as OpenAI's.
	// BaseURL is required with Azure.
	Azure bool
	// Organization and Project select the OpenAI organization and project
	// (headers OpenAI-Organization and OpenAI-Project); empty sends none.
	Organization string
	Project      string
	// MaxRetries is how many times a request is retried after a connection
	// error, 408, 409, 429 or 5xx, waiting as the server's Retry-After-Ms or
	// Retry-After header says, else with exponential backoff (openai-go's
	// policy). 0 means openai-go's default of 2; a negative value disables
	// retries.
	MaxRetries int
	// RequestTimeout bounds each attempt of each request, so that a server
	// that accepts and never answers fails the attempt (retried like any
	// timeout) instead of hanging the run. 0 means DefaultRequestTimeout; a
	// negative value means no bound beyond the caller's context.
	RequestTimeout time.Duration
	// HTTPClient carries the requests; nil means a client of its own with
	// http.DefaultTransport's settings.
	HTTPClient *http.Client
	// RateLimits paces chat completion and embeddings requests per model:
	// every attempt, retries included, waits its turn at its model's
	// RateLimiter, and a 429 pauses all of that model's requests for its
	// Retry-After. A model's entry is its own id, else its base model's
	// for a fine-tune ("ft:BASE:..."), else the "" entry; a model with none
	// is not limited. Copies of the config share the RateLimiters, as all
	// workers must. The wait counts against RequestTimeout. Nil limits
	// nothing.
	RateLimits map[string]*RateLimiter
	// Catalog overrides DefaultCatalog's entries (prices, shutdown dates,
	// reasoning, fine-tunability) for the models this config reaches; nil
	// uses DefaultCatalog alone.
	Catalog Catalog
	// Now tells the day for the catalog's shutdown dates. Nil means the
	// day in the environment variable RAGVSFT_TODAY (YYYY-MM-DD, e.g.
	// 2027-01-15 to see what OpenAI's shutdowns will do), else time.Now;
	// a malformed RAGVSFT_TODAY is an error from NewOpenAIModel and the
	// fine-tuner, not ignored. Tests set Now to a fixed day.
	Now func() time.Time
}

// modelInfo looks model up in the config's catalog, then in DefaultCatalog.
func (c OpenAIConfig) modelInfo(model string) (ModelInfo, bool) {
	return lookupModel(c.Catalog, model)
}

// now is the day the shutdown dates are checked against.
func (c OpenAIConfig) now() (time.Time, error) {
	if c.Now != nil {
		return c.Now(), nil
	}
	return today()
}

// today is the default day of the catalog: RAGVSFT_TODAY, else time.Now.
// It is the one place this package reads RAGVSFT_TODAY.
func today() (time.Time, error) {
	day, err := clock.Today()
	if err != nil {
		return time.Time{}, fmt.Errorf("ragvsft: %w", err)
	}
	return day, nil
}

// OpenAIConfigFromEnv reads the environment, the only place this package
// does besides RAGVSFT_TODAY (see OpenAIConfig.Now). Unset variables leave
// their field empty.
//
// When AZURE_OPENAI_ENDPOINT is set, the configuration is Azure OpenAI's:
// BaseURL is AzureV1URL(AZURE_OPENAI_ENDPOINT) (the resource's endpoint as
// the Azure portal shows it, https://RESOURCE.openai.azure.com/, or its v1
// URL), APIKey is AZURE_OPENAI_API_KEY and Azure is true; the OPENAI_
// variables are then not read. Otherwise it reads what openai-go reads:
// OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_ORG_ID and OPENAI_PROJECT_ID.
//
// For a model fine-tuned elsewhere, on its own endpoint, see
// FineTunedConfigFromEnv.
func OpenAIConfigFromEnv() OpenAIConfig {
	if endpoint := env("AZURE_OPENAI_ENDPOINT"); endpoint != "" {
		return OpenAIConfig{APIKey: env("AZURE_OPENAI_API_KEY"), BaseURL: AzureV1URL(endpoint), Azure: true}
	}
	return OpenAIConfig{
		APIKey:       env("OPENAI_API_KEY"),
		BaseURL:      env("OPENAI_BASE_URL"),
		Organization: env("OPENAI_ORG_ID"),
		Project:      env("OPENAI_PROJECT_ID"),
	}
}

// FineTunedAPIKeyEnv names the variable that holds the API key of the
// endpoint serving a model fine-tuned elsewhere (see FineTunedConfigFromEnv).
const FineTunedAPIKeyEnv = "RAGVSFT_FINETUNED_API_KEY"

// FineTunedConfigFromEnv returns the configuration of the endpoint that
// serves a model fine-tuned elsewhere (see NewOpenAIFineTuned), for a
// program that takes that endpoint's base URL from its user; base is the
// configuration of the base model, e.g. from OpenAIConfigFromEnv.
//
// With baseURL empty, the model is served where the base model is (an
// OpenAI "ft:" model, or an Azure deployment of a fine-tune on the same
// resource): the result is base, with the key from RAGVSFT_FINETUNED_API_KEY
// if it is set. Otherwise the endpoint is another OpenAI-compatible server
// (vLLM, Ollama, llama.cpp, another Azure resource, whose v1 endpoint also
// takes the key as a bearer token): the result has baseURL, the key from
// RAGVSFT_FINETUNED_API_KEY, else OPENAI_API_KEY, and base's transport
// settings (HTTPClient, MaxRetries, RequestTimeout, Catalog, Now), but not
// base's Azure, Organization, Project or RateLimits. A server that checks no
// key still needs one set (any value): a missing key is ErrNoAPIKey.
func FineTunedConfigFromEnv(base OpenAIConfig, baseURL string) OpenAIConfig {
	key := env(FineTunedAPIKeyEnv)
	if strings.TrimSpace(baseURL) == "" {
		if key != "" {
			base.APIKey = key
		}
		return base
	}
	if key == "" {
		key = env("OPENAI_API_KEY")
	}
	return OpenAIConfig{
		APIKey:         key,
		BaseURL:        strings.TrimSpace(baseURL),
		MaxRetries:     base.MaxRetries,
		RequestTimeout: base.RequestTimeout,
		HTTPClient:     base.HTTPClient,
		Catalog:        base.Catalog,
		Now:            base.Now,
	}
}

func env(name string) string { return strings.TrimSpace(os.Getenv(name)) }

// AzureV1URL returns the v1 API URL of an Azure OpenAI resource from its
// endpoint: "https://RESOURCE.openai.azure.com" (or with a trailing slash)
// becomes "https://RESOURCE.openai.azure.com/openai/v1/"; an endpoint that
// already ends in /openai/v1 is kept, with a trailing slash.
func AzureV1URL(endpoint string) string {
	u := strings.TrimRight(strings.TrimSpace(endpoint), "/")
	if u == "" {
		return ""
	}
	if !strings.HasSuffix(u, "/openai/v1") {
		u += "/openai/v1"
	}
	return u + "/"
}

// ErrNoAPIKey is returned when an OpenAIConfig has no API key.
var ErrNoAPIKey = errors.New("ragvsft: no OpenAI API key: set OPENAI_API_KEY (AZURE_OPENAI_API_KEY for Azure) or OpenAIConfig.APIKey")

// ErrOpenAIAuth is returned (wrapped) when the server rejects the API key
// (HTTP 401). Its message never contains the key.
var ErrOpenAIAuth = errors.New("ragvsft: OpenAI rejected the API key (401): check OPENAI_API_KEY or OpenAIConfig.APIKey")

// openAIClient is the part of openai-go this package uses. It is built from
// the service constructors rather than openai.NewClient, which would read the
// environment behind OpenAIConfig's back.
type openAIClient struct {
	chat       openai.ChatCompletionService
	embeddings openai.EmbeddingService
	files      openai.FileService
	jobs       openai.FineTuningJobService
	batches    openai.BatchService
	cfg        OpenAIConfig
}

// client checks the configuration and builds the openai-go services.
func (c OpenAIConfig) client() (*openAIClient, error) {
	if strings.TrimSpace(c.APIKey) == "" {
		return nil, ErrNoAPIKey
	}
	base := c.BaseURL
	if base == "" {
		if c.Azure {
			return nil, errors.New("ragvsft: Azure OpenAI needs a BaseURL, https://RESOURCE.openai.azure.com/openai/v1/ (AZURE_OPENAI_ENDPOINT)")
		}
		base = DefaultOpenAIBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ragvsft: OpenAI base URL %q is not an http(s) URL", base)
	}
	hc := c.HTTPClient
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// Keep a connection per worker of an Experiment's pool, not
		// net/http's 2, so concurrent requests do not reconnect each time.
		t.MaxIdleConnsPerHost = 64
		hc = &http.Client{Transport: t}
	}
	opts := []option.RequestOption{
		option.WithHTTPClient(hc),
		option.WithBaseURL(base),
	}
	if c.Azure {
		// Not openai-go's azure package: its WithAPIKey works only with
		// azure.WithEndpoint, which requires a dated api-version and sends
		// chat and embeddings to /openai/deployments/{model}/..., the API
		// before v1. The v1 endpoint needs only its URL and the key.
		opts = append(opts, option.WithHeader("api-key", strings.TrimSpace(c.APIKey)))
	} else {
		opts = append(opts, option.WithAPIKey(strings.TrimSpace(c.APIKey)))
		if c.Organization != "" {
			opts = append(opts, option.WithOrganization(c.Organization))
		}
		if c.Project != "" {
			opts = append(opts, option.WithProject(c.Project))
		}
	}
	switch {
	case c.MaxRetries < 0:
		opts = append(opts, option.WithMaxRetries(0))
	case c.MaxRetries > 0:
		opts = append(opts, option.WithMaxRetries(c.MaxRetries))
	}
	if t := c.requestTimeout(); t > 0 {
		opts = append(opts, option.WithRequestTimeout(t))
	}
	if len(c.RateLimits) > 0 {
		opts = append(opts, option.WithMiddleware(c.rateLimitMiddleware()))
	}
	return &openAIClient{
		chat:       openai.NewChatCompletionService(opts...),
		embeddings: openai.NewEmbeddingService(opts...),
		files:      openai.NewFileService(opts...),
		jobs:       openai.NewFineTuningJobService(opts...),
		batches:    openai.NewBatchService(opts...),
		cfg:        c,
	}, nil
}

// retries is the number of retries the client makes, as openai-go counts them.
func (c OpenAIConfig) retries() int {
	switch {
	case c.MaxRetries < 0:
		return 0
	case c.MaxRetries == 0:
		return 2
	}
	return c.MaxRetries
}

// secretPattern matches API keys as OpenAI spells them, whole or masked
// ("sk-abc***wxyz"), so that none reaches an error message.
var secretPattern = regexp.MustCompile(`\b(sk|sess)-[A-Za-z0-9_\-*.]{3,}`)

// redact removes the API key and anything shaped like one from s.
func (c *openAIClient) redact(s string) string {
	if key := strings.TrimSpace(c.cfg.APIKey); key != "" {
		s = strings.ReplaceAll(s, key, "[redacted]")
	}
	return secretPattern.ReplaceAllString(s, "[redacted]")
}

// wrap turns an error from openai-go into one of ours: prefixed, naming what
// was being done, keeping OpenAI's code, message and param, and never
// containing the API key. The original error stays reachable by errors.As
// (*openai.Error) and errors.Is (context errors).
func (c *openAIClient) wrap(doing string, err error) error {
	if err == nil {
		return nil
	}
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		if apiErr.StatusCode == http.StatusUnauthorized {
			code := apiErr.Code
			if code == "" {
				code = "unauthorized"
			}
			return &openAIError{
				msg:      c.redact(fmt.Sprintf("%s (%s, while %s)", ErrOpenAIAuth, code, doing)),
				err:      apiErr,
				sentinel: ErrOpenAIAuth,
			}
		}
		var b strings.Builder
		fmt.Fprintf(&b, "ragvsft: %s: OpenAI API error %d", doing, apiErr.StatusCode)
		if t := http.StatusText(apiErr.StatusCode); t != "" {
			b.WriteString(" " + t)
		}
		if apiErr.Code != "" {
			fmt.Fprintf(&b, " (%s)", apiErr.Code)
		}
		if apiErr.Message != "" {
			b.WriteString(": " + apiErr.Message)
		}
		if apiErr.Param != "" {
			fmt.Fprintf(&b, " [param %s]", apiErr.Param)
		}
		return &openAIError{msg: c.redact(b.String()), err: apiErr}
	}
	return &openAIError{msg: c.redact(fmt.Sprintf("ragvsft: %s: %v", doing, err)), err: err}
}

// openAIError carries a redacted message, the error it came from and,
// optionally, the sentinel it stands for.
type openAIError struct {
	msg      string
	err      error
	sentinel error
}

func (e *openAIError) Error() string { return e.msg }
func (e *openAIError) Unwrap() error { return e.err }
func (e *openAIError) Is(target error) bool {
	return e.sentinel != nil && target == e.sentinel
}

// statusOf returns the HTTP status of an OpenAI API error, or 0.
func statusOf(err error) int {
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}

// transient reports whether err is worth retrying: a connection error or a
// status openai-go retries.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch s := statusOf(err); {
	case s == 0:
		return true
	case s == http.StatusRequestTimeout, s == http.StatusConflict, s == http.StatusTooManyRequests, s >= 500:
		return true
	}
	return false
}

// retryAfter reads the server's Retry-After-Ms or Retry-After (seconds) from
// an OpenAI API error; ok is false when there is none.
func retryAfter(err error) (d time.Duration, ok bool) {
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.Response == nil {
		return 0, false
	}
	h := apiErr.Response.Header
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, perr := time.ParseDuration(v + "ms"); perr == nil && ms >= 0 {
			return ms, true
		}
	}
	if v := h.Get("Retry-After"); v != "" {
		if s, perr := time.ParseDuration(v + "s"); perr == nil && s >= 0 {
			return s, true
		}
		if t, perr := http.ParseTime(v); perr == nil {
			return max(time.Until(t), 0), true
		}
	}
	return 0, false
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// DefaultRequestTimeout is OpenAIConfig.RequestTimeout's default: far above
// a chat completion's or an upload's usual time, far below "forever".
const DefaultRequestTimeout = 2 * time.Minute

// requestTimeout is the bound on each attempt, 0 for none.
func (c OpenAIConfig) requestTimeout() time.Duration {
	switch {
	case c.RequestTimeout < 0:
		return 0
	case c.RequestTimeout == 0:
		return DefaultRequestTimeout
	}
	return c.RequestTimeout
}
