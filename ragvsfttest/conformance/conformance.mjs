// conformance.mjs drives an OpenAI-compatible server (a ragvsfttest server)
// with the official OpenAI Node SDK, a client nobody on this project wrote:
// files, fine-tuning jobs, events, checkpoints, chat (plain and streamed),
// embeddings, models and errors. It checks every object against the fields
// OpenAI's OpenAPI spec marks as required, and the values against what the
// requests asked.
//
// Usage: OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 OPENAI_API_KEY=KEY node conformance.mjs
//
// The server must have been started with that key (ServerConfig.APIKey, or
// examples/openai-server -key KEY): a wrong key must be refused. On success
// it prints one JSON line of results and exits 0; on the first mismatch it
// prints "conformance: FAIL <step>: <why>" on stderr and exits 1.
import assert from 'node:assert/strict';
import OpenAI, { toFile, APIError, AuthenticationError, BadRequestError, NotFoundError } from 'openai';
import { VERSION } from 'openai/version';

const BASE_MODEL = 'gpt-4.1-mini-2025-04-14';
const EMBEDDING_MODEL = 'text-embedding-3-small';
const EPOCHS = 8;
const BATCH_SIZE = 1;

// Required fields of each object, as /work/shared/spec/openai-openapi.yaml
// (OpenAI's published spec) lists them.
const REQUIRED = {
  OpenAIFile: ['id', 'object', 'bytes', 'created_at', 'filename', 'purpose', 'status'],
  DeleteFileResponse: ['id', 'object', 'deleted'],
  ListFilesResponse: ['object', 'data', 'first_id', 'last_id', 'has_more'],
  FineTuningJob: ['created_at', 'error', 'finished_at', 'fine_tuned_model', 'hyperparameters', 'id', 'model',
    'object', 'organization_id', 'result_files', 'status', 'trained_tokens', 'training_file', 'validation_file', 'seed'],
  FineTuningJobEvent: ['id', 'object', 'created_at', 'level', 'message'],
  FineTuningJobCheckpoint: ['created_at', 'fine_tuning_job_id', 'fine_tuned_model_checkpoint', 'id', 'metrics',
    'object', 'step_number'],
  CursorList: ['object', 'data', 'has_more'],
  CreateChatCompletionResponse: ['choices', 'created', 'id', 'model', 'object'],
  ChatChoice: ['finish_reason', 'index', 'message', 'logprobs'],
  ChatCompletionResponseMessage: ['role', 'content', 'refusal'],
  CreateChatCompletionStreamResponse: ['choices', 'created', 'id', 'model', 'object'],
  ChatStreamChoice: ['delta', 'finish_reason', 'index'],
  CompletionUsage: ['prompt_tokens', 'completion_tokens', 'total_tokens'],
  CreateEmbeddingResponse: ['object', 'model', 'data', 'usage'],
  Embedding: ['index', 'object', 'embedding'],
  EmbeddingUsage: ['prompt_tokens', 'total_tokens'],
  Model: ['id', 'object', 'created', 'owned_by'],
  Error: ['type', 'message', 'param', 'code'],
};

function hasFields(obj, schema) {
  assert.ok(obj && typeof obj === 'object', `${schema}: not an object: ${JSON.stringify(obj)}`);
  const missing = REQUIRED[schema].filter((k) => !(k in obj));
  assert.deepEqual(missing, [], `${schema} lacks required fields ${missing.join(', ')}: ${JSON.stringify(obj)}`);
}

// The training set: facts the base model cannot know, so that the
// fine-tuned model's answers prove it was trained on them.
const TOWNS = ['Velmora', 'Quenbrook', 'Ardistan', 'Tolvik', 'Serranel', 'Mirholt',
  'Cadrowe', 'Ulvania', 'Brisk Harbor', 'Fenwold', 'Ostrava Minor', 'Kelmarsh'];
const RIVERS = ['Ostra', 'Vellin', 'Karsa', 'Dunmere', 'Plisk', 'Harrow',
  'Semble', 'Tarn', 'Quill', 'Marrow', 'Isen', 'Lode'];
const FACTS = TOWNS.map((town, i) => ({
  question: `Which river flows through ${town}?`,
  answer: `The ${RIVERS[i]} flows through ${town}.`,
}));
const jsonl = (facts) => facts.map((f) => JSON.stringify({
  messages: [
    { role: 'system', content: 'You answer questions about towns.' },
    { role: 'user', content: f.question },
    { role: 'assistant', content: f.answer },
  ],
})).join('\n') + '\n';
const TRAINING_JSONL = jsonl(FACTS);
const VALIDATION_JSONL = jsonl(FACTS.slice(0, 10));

const results = { sdk: VERSION, node: process.version };
const counts = { files_uploaded: 0, jobs_created: 0, jobs_cancelled: 0, chat_completions: 0, embedding_requests: 0 };
let current = 'setup';

async function step(name, fn) {
  current = name;
  return fn();
}

// expectError runs fn, which must fail with an error of class cls and the
// given status (and code, when not undefined); it returns the error.
async function expectError(fn, cls, status, code) {
  let err;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${cls.name} ${status}, but the call succeeded`);
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${err?.constructor?.name}: ${err?.message}`);
  assert.equal(err.status, status);
  if (code !== undefined) assert.equal(err.code, code, `error code: ${err.message}`);
  hasFields(err.error, 'Error');
  assert.match(err.requestID ?? '', /^req_/, 'x-request-id');
  return err;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitJob(client, id) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const job = await client.fineTuning.jobs.retrieve(id);
    hasFields(job, 'FineTuningJob');
    if (['succeeded', 'failed', 'cancelled'].includes(job.status)) return job;
    assert.ok(Date.now() < deadline, `job ${id} still ${job.status} after 120s`);
    await sleep(50);
  }
}

function norm(v) {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

async function main() {
  const key = process.env.OPENAI_API_KEY;
  const baseURL = process.env.OPENAI_BASE_URL;
  assert.ok(key, 'OPENAI_API_KEY is not set');
  assert.ok(baseURL, 'OPENAI_BASE_URL is not set (the server\'s URL, ending in /v1)');
  // The SDK reads OPENAI_BASE_URL and OPENAI_API_KEY itself. No retries: a
  // failure must show, not be papered over.
  const client = new OpenAI({ maxRetries: 0, timeout: 60_000 });
  const runID = `conformance-${process.pid}-${Date.now()}`;

  // Files.
  const uploaded = await step('files.create', async () => {
    const f = await client.files.create({
      file: await toFile(Buffer.from(TRAINING_JSONL), 'rivers.jsonl', { type: 'application/jsonl' }),
      purpose: 'fine-tune',
    });
    counts.files_uploaded++;
    hasFields(f, 'OpenAIFile');
    assert.match(f.id, /^file-/);
    assert.equal(f.object, 'file');
    assert.equal(f.bytes, Buffer.byteLength(TRAINING_JSONL));
    assert.equal(f.filename, 'rivers.jsonl');
    assert.equal(f.purpose, 'fine-tune');
    return f;
  });
  const validation = await step('files.create (validation file)', async () => {
    const f = await client.files.create({
      file: await toFile(Buffer.from(VALIDATION_JSONL), 'rivers-validation.jsonl'),
      purpose: 'fine-tune',
    });
    counts.files_uploaded++;
    hasFields(f, 'OpenAIFile');
    assert.equal(f.bytes, Buffer.byteLength(VALIDATION_JSONL));
    return f;
  });
  await step('files.waitForProcessing', async () => {
    for (const id of [uploaded.id, validation.id]) {
      const f = await client.files.waitForProcessing(id, { pollInterval: 50, maxWait: 60_000 });
      assert.equal(f.status, 'processed');
    }
  });
  await step('files.list', async () => {
    const page = await client.files.list({ purpose: 'fine-tune' });
    hasFields(page.body, 'ListFilesResponse');
    const ids = [];
    for await (const f of client.files.list({ purpose: 'fine-tune', limit: 1 })) {
      hasFields(f, 'OpenAIFile');
      assert.equal(f.purpose, 'fine-tune');
      ids.push(f.id);
    }
    assert.ok(ids.includes(uploaded.id), `${uploaded.id} not listed in ${ids}`);
    assert.equal(new Set(ids).size, ids.length, `a file listed twice: ${ids}`);
    assert.ok(ids.indexOf(validation.id) < ids.indexOf(uploaded.id), 'files newest first');
    const asc = [];
    for await (const f of client.files.list({ purpose: 'fine-tune', order: 'asc' })) asc.push(f.id);
    assert.deepEqual(asc, [...ids].reverse(), 'order=asc');
  });
  await step('files.retrieve', async () => {
    const f = await client.files.retrieve(uploaded.id);
    hasFields(f, 'OpenAIFile');
    assert.equal(f.id, uploaded.id);
    assert.equal(f.bytes, uploaded.bytes);
  });
  await step('files.content', async () => {
    const resp = await client.files.content(uploaded.id);
    assert.equal(await resp.text(), TRAINING_JSONL);
  });

  // Fine-tuning: one job trained to the end, one cancelled.
  const created = await step('fineTuning.jobs.create', async () => {
    const job = await client.fineTuning.jobs.create({
      model: BASE_MODEL,
      training_file: uploaded.id,
      validation_file: validation.id,
      suffix: 'rivers',
      seed: 11,
      method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: EPOCHS, batch_size: BATCH_SIZE } } },
      metadata: { run: runID, role: 'trained' },
    });
    counts.jobs_created++;
    hasFields(job, 'FineTuningJob');
    assert.match(job.id, /^ftjob-/);
    assert.equal(job.object, 'fine_tuning.job');
    assert.equal(job.model, BASE_MODEL);
    assert.equal(job.training_file, uploaded.id);
    assert.equal(job.validation_file, validation.id);
    assert.equal(job.seed, 11);
    assert.deepEqual(job.metadata, { run: runID, role: 'trained' });
    assert.equal(job.method?.type, 'supervised');
    assert.equal(job.fine_tuned_model, null);
    assert.ok(!['failed', 'cancelled'].includes(job.status), job.status);
    return job;
  });
  const cancelled = await step('fineTuning.jobs.cancel', async () => {
    const job = await client.fineTuning.jobs.create({
      model: BASE_MODEL,
      training_file: uploaded.id,
      method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 50 } } },
      metadata: { run: runID, role: 'cancelled' },
    });
    counts.jobs_created++;
    const c = await client.fineTuning.jobs.cancel(job.id);
    counts.jobs_cancelled++;
    hasFields(c, 'FineTuningJob');
    assert.equal(c.id, job.id);
    assert.equal(c.status, 'cancelled');
    assert.equal(c.fine_tuned_model, null);
    const again = await client.fineTuning.jobs.retrieve(job.id);
    assert.equal(again.status, 'cancelled');
    return c;
  });
  const job = await step('fineTuning.jobs.retrieve (poll)', async () => {
    const j = await waitJob(client, created.id);
    assert.equal(j.status, 'succeeded', `job failed: ${JSON.stringify(j.error)}`);
    assert.match(j.fine_tuned_model, new RegExp(`^ft:${BASE_MODEL}:[^:]+:rivers:[^:]+$`));
    assert.equal(j.hyperparameters.n_epochs, EPOCHS);
    assert.equal(j.hyperparameters.batch_size, BATCH_SIZE);
    assert.equal(typeof j.hyperparameters.learning_rate_multiplier, 'number', 'auto resolved');
    assert.deepEqual(j.method.supervised.hyperparameters, j.hyperparameters);
    assert.ok(j.trained_tokens > 0, `trained_tokens ${j.trained_tokens}`);
    assert.ok(j.finished_at >= j.created_at);
    assert.equal(j.result_files.length, 1);
    assert.equal(j.error, null);
    return j;
  });
  results.fine_tuned_model = job.fine_tuned_model;
  await step('fineTuning.jobs.list (metadata filter)', async () => {
    const found = [];
    for await (const j of client.fineTuning.jobs.list({ metadata: { run: runID, role: 'trained' } })) {
      hasFields(j, 'FineTuningJob');
      found.push(j.id);
    }
    assert.deepEqual(found, [job.id]);
    const both = [];
    for await (const j of client.fineTuning.jobs.list({ metadata: { run: runID }, limit: 1 })) both.push(j.id);
    assert.deepEqual(both, [cancelled.id, job.id], 'newest first');
  });

  // Events, five to a page through the SDK's auto-pagination.
  const losses = await step('fineTuning.jobs.listEvents', async () => {
    const events = [];
    for await (const e of client.fineTuning.jobs.listEvents(job.id, { limit: 5 })) {
      hasFields(e, 'FineTuningJobEvent');
      assert.equal(e.object, 'fine_tuning.job.event');
      events.push(e);
    }
    assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'an event listed twice');
    assert.ok(events.length > 5, `${events.length} events: expected more than one page`);
    for (let i = 1; i < events.length; i++) {
      assert.ok(events[i - 1].created_at >= events[i].created_at, 'events newest first');
    }
    assert.equal(events[0].message, 'The job has successfully completed');
    const metrics = events.filter((e) => e.type === 'metrics').reverse();
    assert.equal(metrics.length, EPOCHS, 'one metrics event per epoch');
    const perEpoch = Math.ceil(FACTS.length / BATCH_SIZE);
    const byStep = new Map();
    metrics.forEach((e, i) => {
      assert.equal(e.data.step, (i + 1) * perEpoch, 'steps count batches');
      assert.equal(e.data.total_steps, EPOCHS * perEpoch);
      assert.equal(typeof e.data.train_loss, 'number');
      byStep.set(e.data.step, e.data.train_loss);
    });
    assert.ok(metrics.at(-1).data.train_loss < metrics[0].data.train_loss, 'training loss falls');
    results.events = events.length;
    return byStep;
  });

  // Checkpoints: the last three epochs', newest first.
  const checkpoints = await step('fineTuning.jobs.checkpoints.list', async () => {
    const page = await client.fineTuning.jobs.checkpoints.list(job.id);
    hasFields(page.body, 'CursorList');
    assert.equal(page.body.first_id, page.data[0]?.id);
    assert.equal(page.body.last_id, page.data.at(-1)?.id);
    const cps = [];
    for await (const cp of client.fineTuning.jobs.checkpoints.list(job.id, { limit: 2 })) {
      hasFields(cp, 'FineTuningJobCheckpoint');
      assert.match(cp.id, /^ftckpt_/);
      assert.equal(cp.object, 'fine_tuning.job.checkpoint');
      assert.equal(cp.fine_tuning_job_id, job.id);
      assert.match(cp.fine_tuned_model_checkpoint, new RegExp(`^ft:${BASE_MODEL}:[^:]+:rivers:[^:]+:ckpt-step-${cp.step_number}$`));
      assert.equal(cp.metrics.step, cp.step_number);
      assert.equal(cp.metrics.train_loss, losses.get(cp.step_number), `checkpoint at step ${cp.step_number}: its epoch's loss`);
      cps.push(cp);
    }
    const perEpoch = Math.ceil(FACTS.length / BATCH_SIZE);
    assert.deepEqual(cps.map((cp) => cp.step_number), [EPOCHS, EPOCHS - 1, EPOCHS - 2].map((e) => e * perEpoch));
    assert.deepEqual(cps.map((cp) => cp.id), page.data.map((cp) => cp.id), 'pages of 2 give the same list');
    results.checkpoints = cps.map((cp) => cp.fine_tuned_model_checkpoint);
    return cps;
  });

  // Chat with the base model: plain, then streamed; the same request at
  // temperature 0 must give the same text and usage both ways.
  // The question comes with its context (a RAG prompt, as the library
  // sends), so the base model has something to answer from.
  const request = {
    model: BASE_MODEL,
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      {
        role: 'user',
        content: 'Answer the following QUESTION based on the CONTEXT only. If you don\'t know the answer, say \'I don\'t know\'.\n\n'
          + 'QUESTION: Which river flows through Tolvik?\n\nCONTEXT: [0]: \nTolvik is a port town. The Karsa flows through Tolvik.\n\nANSWER:',
      },
    ],
    temperature: 0,
    seed: 5,
    max_completion_tokens: 60,
  };
  const plain = await step('chat.completions.create', async () => {
    const c = await client.chat.completions.create(request);
    counts.chat_completions++;
    hasFields(c, 'CreateChatCompletionResponse');
    assert.match(c.id, /^chatcmpl-/);
    assert.equal(c.object, 'chat.completion');
    assert.equal(c.model, BASE_MODEL);
    assert.equal(c.choices.length, 1);
    hasFields(c.choices[0], 'ChatChoice');
    hasFields(c.choices[0].message, 'ChatCompletionResponseMessage');
    assert.equal(c.choices[0].index, 0);
    assert.equal(c.choices[0].message.role, 'assistant');
    assert.equal(typeof c.choices[0].message.content, 'string');
    assert.match(c.choices[0].message.content, /Karsa/, 'the answer is read from the context the request sent');
    assert.ok(['stop', 'length'].includes(c.choices[0].finish_reason), c.choices[0].finish_reason);
    hasFields(c.usage, 'CompletionUsage');
    assert.equal(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens);
    assert.ok(c.usage.prompt_tokens > 0 && c.usage.completion_tokens > 0);
    assert.match(c.system_fingerprint ?? '', /^fp_/);
    assert.match(c._request_id ?? '', /^req_/, 'the SDK reads x-request-id into _request_id');
    return c;
  });
  results.chat = plain.choices[0].message.content;
  await step('chat.completions.create (stream, include_usage)', async () => {
    const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage = null;
    let finish = null;
    let chunks = 0;
    const ids = new Set();
    for await (const chunk of stream) {
      chunks++;
      hasFields(chunk, 'CreateChatCompletionStreamResponse');
      assert.equal(chunk.object, 'chat.completion.chunk');
      assert.equal(chunk.model, BASE_MODEL);
      ids.add(chunk.id);
      if (chunk.usage) {
        assert.equal(usage, null, 'usage sent twice');
        assert.deepEqual(chunk.choices, [], 'the usage chunk has no choices');
        usage = chunk.usage;
        continue;
      }
      assert.equal(chunk.choices.length, 1);
      hasFields(chunk.choices[0], 'ChatStreamChoice');
      text += chunk.choices[0].delta.content ?? '';
      if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
    }
    counts.chat_completions++;
    assert.equal(ids.size, 1, 'one id for every chunk');
    assert.ok(chunks > 3, `${chunks} chunks`);
    assert.equal(text, plain.choices[0].message.content, 'streamed text = plain text');
    assert.equal(finish, plain.choices[0].finish_reason);
    assert.ok(usage, 'no usage chunk despite stream_options.include_usage');
    hasFields(usage, 'CompletionUsage');
    assert.equal(usage.prompt_tokens, plain.usage.prompt_tokens);
    assert.equal(usage.completion_tokens, plain.usage.completion_tokens);
    assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
    results.stream_chunks = chunks;
  });
  await step('chat.completions.stream (finalChatCompletion)', async () => {
    // The SDK's stream helper rebuilds a completion from the chunks and
    // refuses any that lack a role or finish_reason.
    const stream = client.chat.completions.stream({ ...request, stream_options: { include_usage: true } });
    let deltas = '';
    stream.on('content', (delta) => { deltas += delta; });
    const final = await stream.finalChatCompletion();
    counts.chat_completions++;
    assert.equal(final.choices[0].message.role, 'assistant');
    assert.equal(final.choices[0].message.content, plain.choices[0].message.content);
    assert.equal(deltas, plain.choices[0].message.content);
    assert.equal(final.choices[0].finish_reason, plain.choices[0].finish_reason);
    assert.deepEqual(final.usage, plain.usage);
    assert.equal(final.system_fingerprint, plain.system_fingerprint);
  });

  // Chat with the fine-tuned model and with its earliest checkpoint.
  const ask = async (model, question) => {
    const c = await client.chat.completions.create({
      model,
      messages: [{ role: 'system', content: 'You answer questions about towns.' }, { role: 'user', content: question }],
      temperature: 0,
      max_completion_tokens: 60,
    });
    counts.chat_completions++;
    assert.equal(c.model, model);
    return c.choices[0].message.content;
  };
  await step('chat with the fine-tuned model', async () => {
    let recalled = 0;
    for (const f of FACTS) {
      if ((await ask(job.fine_tuned_model, f.question)) === f.answer) recalled++;
    }
    assert.ok(recalled >= FACTS.length * 3 / 4, `the fine-tuned model recalled ${recalled}/${FACTS.length} trained answers`);
    results.recalled = `${recalled}/${FACTS.length}`;
  });
  await step('chat with a checkpoint model', async () => {
    const answer = await ask(checkpoints.at(-1).fine_tuned_model_checkpoint, FACTS[0].question);
    assert.equal(typeof answer, 'string');
  });

  // Embeddings: the SDK asks for base64 and decodes it.
  await step('embeddings.create (base64 by default)', async () => {
    const inputs = ['Velmora lies on the Ostra.', 'Tolvik is a port.', 'A third sentence.'];
    const e = await client.embeddings.create({ model: EMBEDDING_MODEL, input: inputs });
    counts.embedding_requests++;
    hasFields(e, 'CreateEmbeddingResponse');
    hasFields(e.usage, 'EmbeddingUsage');
    assert.equal(e.object, 'list');
    assert.equal(e.model, EMBEDDING_MODEL);
    assert.equal(e.data.length, inputs.length);
    e.data.forEach((d, i) => {
      hasFields(d, 'Embedding');
      assert.equal(d.object, 'embedding');
      assert.equal(d.index, i);
      assert.ok(Array.isArray(d.embedding), `embedding ${i} was not decoded: ${typeof d.embedding}`);
      assert.equal(d.embedding.length, 1536);
      assert.ok(Math.abs(norm(d.embedding) - 1) < 1e-4, `embedding ${i} has norm ${norm(d.embedding)}`);
    });
    assert.ok(e.usage.prompt_tokens > 0);
    const floats = await client.embeddings.create({ model: EMBEDDING_MODEL, input: inputs, encoding_format: 'float' });
    counts.embedding_requests++;
    floats.data.forEach((d, i) => {
      assert.equal(d.embedding.length, 1536);
      const worst = Math.max(...d.embedding.map((x, k) => Math.abs(x - e.data[i].embedding[k])));
      assert.ok(worst < 1e-6, `base64 and float embeddings ${i} differ by ${worst}`);
    });
    const short = await client.embeddings.create({ model: EMBEDDING_MODEL, input: inputs[0], dimensions: 256 });
    counts.embedding_requests++;
    assert.equal(short.data.length, 1);
    assert.equal(short.data[0].embedding.length, 256);
    assert.ok(Math.abs(norm(short.data[0].embedding) - 1) < 1e-4, `shortened embedding has norm ${norm(short.data[0].embedding)}`);
    results.embedding_dims = e.data[0].embedding.length;
  });

  // Models.
  await step('models.list', async () => {
    const ids = [];
    for await (const m of client.models.list()) {
      hasFields(m, 'Model');
      assert.equal(m.object, 'model');
      ids.push(m.id);
    }
    for (const want of [BASE_MODEL, EMBEDDING_MODEL, job.fine_tuned_model, ...checkpoints.map((cp) => cp.fine_tuned_model_checkpoint)]) {
      assert.ok(ids.includes(want), `${want} not in the models list`);
    }
    results.models = ids.length;
  });
  await step('models.retrieve', async () => {
    const m = await client.models.retrieve(job.fine_tuned_model);
    hasFields(m, 'Model');
    assert.equal(m.id, job.fine_tuned_model);
    assert.equal(typeof m.owned_by, 'string');
  });
  // With retries on, the SDK gets through the failures a test may inject
  // on GET /models/BASE_MODEL (ragvsfttest's InjectFault), waiting as their
  // retry-after-ms header says; without injected faults it just succeeds.
  await step('models.retrieve (SDK retries)', async () => {
    const retrying = new OpenAI({ maxRetries: 2, timeout: 60_000 });
    const start = Date.now();
    const m = await retrying.models.retrieve(BASE_MODEL);
    results.retry_ms = Date.now() - start;
    assert.equal(m.id, BASE_MODEL);
  });

  // Errors, as the SDK's typed classes.
  await step('errors', async () => {
    await expectError(() => client.models.retrieve('no-such-model-conformance'), NotFoundError, 404, 'model_not_found');
    const missing = `ft:${BASE_MODEL}:ragvsft:rivers:00000000`;
    const nf = await expectError(() => client.chat.completions.create({ ...request, model: missing }), NotFoundError, 404, 'model_not_found');
    assert.equal(nf.param, null); // as OpenAI answers model_not_found
    const bad = await expectError(() => client.chat.completions.create({ ...request, temperature: 3 }), BadRequestError, 400);
    assert.equal(bad.type, 'invalid_request_error');
    assert.equal(bad.param, 'temperature');
    await expectError(() => client.fineTuning.jobs.checkpoints.list('ftjob-no-such-job'), NotFoundError, 404);
    const wrongKey = `${key}-wrong`;
    const wrong = new OpenAI({ apiKey: wrongKey, maxRetries: 0 });
    const auth = await expectError(() => wrong.models.list(), AuthenticationError, 401, 'invalid_api_key');
    assert.ok(!auth.message.includes(wrongKey), 'the error message repeats the key');
    assert.ok(auth instanceof APIError);
  });

  // Delete the files last: the job is done with them.
  await step('files.delete', async () => {
    for (const id of [uploaded.id, validation.id]) {
      const d = await client.files.delete(id);
      hasFields(d, 'DeleteFileResponse');
      assert.deepEqual(d, { id, object: 'file', deleted: true });
      await expectError(() => client.files.retrieve(id), NotFoundError, 404);
    }
  });

  Object.assign(results, counts, { ok: true });
  process.stdout.write(JSON.stringify(results) + '\n');
}

// describe says what went wrong, without a stack trace: an assertion's
// message, or the SDK's error with its status, code and cause.
function describe(err) {
  if (err instanceof assert.AssertionError) return err.message;
  let why = `${err?.constructor?.name ?? 'Error'}: ${err?.message ?? String(err)}`;
  if (err instanceof APIError && err.status) why += ` (status ${err.status}, code ${err.code ?? null}, param ${err.param ?? null})`;
  for (let c = err?.cause, depth = 0; c && depth < 5; c = c.cause, depth++) why += ` (cause: ${c.message ?? c})`;
  return why;
}

main().catch((err) => {
  const why = describe(err);
  process.stderr.write(`conformance: FAIL ${current}: ${why}\n`);
  process.exit(1);
});
