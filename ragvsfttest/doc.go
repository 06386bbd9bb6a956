// Package ragvsfttest provides an HTTP server that speaks OpenAI's wire
// format, for tests of code that uses the OpenAI API and for users who want
// to run such code offline.
//
// It is to the OpenAI API what net/http/httptest is to net/http: the real
// client (github.com/openai/openai-go/v3) talks HTTP to it, so tests exercise
// the same requests, responses, errors and retries as production, without a
// key, without the network and without mocks.
//
// The server implements files, fine-tuning jobs (with OpenAI's status
// progression, validation, events, checkpoints and cancellation), chat
// completions, embeddings, the Batch API (/v1/batches, whose requests the
// chat and embeddings routes answer, with output and error files as
// OpenAI writes them, and timing set by [ServerConfig.BatchStepDelay] and
// [ServerConfig.BatchInProgressDelay]), models, and vLLM's runtime LoRA endpoints
// (/v1/load_lora_adapter, /v1/unload_lora_adapter). It is backed by the
// library's embedded local model: a fine-tuning job really trains it, and
// chat completions for the job's "ft:..." model (and its checkpoints) really
// answer from what it learned; a LoRA adapter is a local model saved with
// ragvsft.LocalModel.WriteTo, and chat answers it under its lora_name.
//
// It is checked against OpenAI's official Node SDK as well as openai-go: see
// conformance/conformance.mjs and TestNodeSDKConformance.
//
// Most tests should call [NewOpenAIServer] and point the client at
// [OpenAIServer.URL]. Failures are injected with [OpenAIServer.InjectFault]
// (the next N requests to a path fail with a 429, a 500, a dropped
// connection...) or with [Faults] (latency, a random failure rate, jobs that
// fail, batches that fail, expire or are cancelled). [OpenAIServer.Stats] counts what the server did, so a test can
// prove that a file was not uploaded twice.
//
// It is as strict as OpenAI at the end of 2026 where clients depend on it:
// an uploaded file is "uploaded" for a moment before it is "processed", and
// no job may start on it before; base models are the fine-tunable ones of
// ragvsft.DefaultCatalog that are not shut down on [ServerConfig.Now]'s day;
// and [ServerConfig.RefuseFineTuning] (or [OpenAIServer.SetRefuseFineTuning])
// refuses job creation as OpenAI now refuses most organizations.
//
// The program examples/openai-server serves the same thing on a fixed
// address for use with OPENAI_BASE_URL.
package ragvsfttest
