// Package ragvsft answers a question teams keep asking — can we fine-tune a
// model on our knowledge base, or do we need retrieval (RAG)? — by running
// the experiment instead of arguing about it.
//
// It grew from the article "Fine-tuning Won't Add New Knowledge To Your
// Model" (2023), which fine-tuned gpt-3.5-turbo on the populations of 100
// fake cities and built a Chroma RAG over the same 100 sentences. Asked the
// populations, the fine-tuned model got 0% right and the RAG 95%. ragvsft
// reproduces that out of the box (see [CitiesJSONL] and examples/cities) and
// lets any Go program rerun it on its own data.
//
// A knowledge base is a [Dataset]: OpenAI chat fine-tuning JSONL, read and
// checked line by line with OpenAI's rules by [ReadJSONL] or [ValidateJSONL].
// Its questions are the training prompts, a multi-turn example asked as its
// conversation, unless a questions file read by [ReadQuestions] (held-out
// wordings, aliases of the gold answers) is attached with [WithQuestions].
// An [Experiment] asks every question of four arms — the base model
// ([ArmBase]), the fine-tuned model closed book ([ArmFineTuned]), the base
// model with retrieved context ([ArmRAG]) and both ([ArmFineTunedRAG]) —
// scores each answer with an [Evaluator] and returns a [Report]: per arm the
// items correct, wrong, abstained (a refusal, told apart by an [Abstention]
// rule) and failed ([Outcome]), accuracy with its 95% Wilson interval and
// the hallucination rate, retrieval hit@k and MRR, an exact McNemar test
// between fine-tuned and rag, and every item with the evidence behind its
// verdict.
//
// The designs of the literature are settings of the same run:
// Experiment.HoldOutFacts fine-tunes on a seeded share of the facts and
// reports every arm on the trained and the held-out ones apart; a report
// with a base and a fine-tuned arm splits the facts the base model knew
// from those it did not ([SplitKnowledge]); [Repeat] runs the experiment
// with several seeds and gives each arm's mean and spread.
//
// The pieces are small interfaces, so any of them can be replaced: a chat
// [Model], a [FineTuner], a [Retriever] and an [Evaluator]. The defaults
// need no network: [NewLocalModel] and [LocalFineTuner] are an embedded
// local model (a small language model trained by SGD as its parametric
// memory, plus an extractive reader over the passages in its prompt), and
// [ChromemRetriever] indexes the documents in chromem-go with
// [NewLocalEmbeddingFunc]. The local model demonstrates the pipeline
// offline; conclusions about large language models need a real one.
//
// With an API key the same experiment runs on OpenAI through openai-go:
// [OpenAIModel] for chat completions, [OpenAIFineTuner] for real fine-tuning
// jobs (validated, counted and priced before anything is spent, and keyed so
// that a rerun reattaches instead of paying twice) and [NewOpenAIEmbeddingFunc]
// for the index. [OpenAIConfigFromEnv] reads OPENAI_API_KEY and
// OPENAI_BASE_URL, so any OpenAI-compatible server works, or Azure
// OpenAI's v1 endpoint (AZURE_OPENAI_ENDPOINT, [OpenAIConfig].Azure). A
// model fine-tuned elsewhere (vLLM with a LoRA adapter, Ollama, an Azure
// deployment) is measured with [NewOpenAIFineTuned] and
// Experiment.FineTuned, on an endpoint of its own: nothing is trained. The sibling
// package ragvsfttest serves OpenAI's wire format from the embedded local
// model, for tests and for trying the OpenAI path without a key.
//
// To fine-tune elsewhere, [CommandFineTuner] hands the validated training
// file and resolved hyperparameters to your own training command (a
// documented protocol), records the job so that a rerun never trains
// twice, and asks the result where you serve it, optionally loading it into
// vLLM as a LoRA adapter first.
//
// All entry points that do I/O, wait or spend money take a context first;
// cancelling it makes an Experiment return promptly with what it finished.
// A [Run] is a run folder that survives the process: [CreateRun] locks it
// (a second process is refused), copies the knowledge base and the
// configuration into it and records their hashes; [Run.Execute] keeps every
// paid-for answer in its [Checkpoint] and writes the reports, even of a run
// cut short; [OpenRun] resumes it, asking only what is missing, and refuses
// a folder whose configuration or data was edited since. [Experiment.Plan]
// says before anything is spent what is still to ask. The checkpoint
// protocol itself is one small interface, [ResultStore] (Experiment.Results).
//
// A [Report] is data here, with its JSON form and [Report.WriteMarkdown];
// drawing it for people (the HTML viewer, the PNG chart, CSV, the
// comparison page) is the package github.com/ragvsft/ragvsft/report, so
// that a program importing ragvsft does not link gonum/plot and its fonts,
// LaTeX and PDF back-ends. This package never imports report: a Run writes
// report.json and report.md and is handed the rest as a
// func(dir string, rep *Report) error ([RunOptions.Render]), which
// report.WriteFiles is.
package ragvsft
