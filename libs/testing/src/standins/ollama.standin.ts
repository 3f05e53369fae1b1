// Protocol-faithful stand-in for an Ollama server's native API. Test infrastructure only.
//
//   GET  /                 "Ollama is running"
//   GET  /api/version      {version}
//   GET  /api/tags         configured models
//   GET  /api/ps           configured models as loaded
//   POST /api/show         {model} -> details, 404 for an unknown model
//   POST /api/chat         {model, messages, tools?, stream (default true), options?, format?, think?, keep_alive?}
//        stream: NDJSON lines {model, created_at, message:{role:"assistant", content, tool_calls?}, done:false}
//                then {…, message:{role, content:""}, done:true, done_reason, total_duration, load_duration,
//                prompt_eval_count, prompt_eval_duration, eval_count, eval_duration}
//        stream:false: one JSON object with the whole message and the stats.
//        404 {error} for an unknown model, 400 {error} for a bad body; no messages -> done_reason "load".
// What the model answers is scripted per test (queue / handler); by default it echoes the last user message.
// setDown(true) closes the listener (ECONNREFUSED), setDown(false) listens again on the same port.
import http from 'node:http';
import {
  DEFAULT_MAX_BODY_BYTES,
  closeServer,
  isPlainObject,
  listen,
  parseJsonBody,
  readBody,
  send,
  sendJson,
  type StandinAddress,
} from './http-util';
import {
  LlmScript,
  applyDelay,
  contentText,
  estimateTokens,
  lastUserText,
  replyPieces,
  replyText,
  type LlmHandler,
  type LlmReply,
} from './llm-script';

export interface OllamaChatRequest {
  model: string;
  messages: Array<{
    role: string;
    content: string;
    tool_calls?: unknown[];
    tool_name?: string;
    images?: unknown[];
    thinking?: string;
  }>;
  tools?: Array<{ type: string; function: { name?: string; description?: string; parameters?: unknown } }>;
  stream: boolean;
  options?: Record<string, unknown>;
  format?: unknown;
  think?: unknown;
  keep_alive?: unknown;
  /** The raw request, for assertions on fields the stand-in does not interpret. */
  raw: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
  receivedAt: number;
}

export interface OllamaRecordedRequest {
  method: string;
  path: string;
  status: number;
  body: unknown;
  /** Set for accepted /api/chat requests. */
  chat?: OllamaChatRequest;
  receivedAt: number;
}

export interface OllamaStandinOptions {
  port?: number;
  /** Listen address (default loopback; the Docker bridge address for containers, or a VM's address in the network-namespace proof). */
  host?: string;
  /** Model names served by /api/tags (default ["standin:latest"]). A name without a tag also matches ":latest". */
  models?: string[];
  version?: string;
  maxBodyBytes?: number;
}

export type OllamaReply = LlmReply;
export type OllamaHandler = LlmHandler<OllamaChatRequest>;

function modelEntry(name: string) {
  return {
    name,
    model: name,
    modified_at: '2026-01-01T00:00:00Z',
    size: 1_000_000,
    digest: '0'.repeat(64),
    details: {
      parent_model: '',
      format: 'gguf',
      family: 'standin',
      families: ['standin'],
      parameter_size: '1B',
      quantization_level: 'Q4_0',
    },
  };
}

function normaliseModel(name: string): string {
  return name.includes(':') ? name : `${name}:latest`;
}

export class OllamaStandin {
  private server?: http.Server;
  private port: number;
  private down = false;
  private readonly models: string[];
  private readonly version: string;
  private readonly maxBodyBytes: number;
  private readonly host: string;
  private readonly script = new LlmScript<OllamaChatRequest>();

  /** Every request received (all paths, accepted or refused). */
  readonly requests: OllamaRecordedRequest[] = [];

  constructor(options: OllamaStandinOptions = {}) {
    this.port = options.port ?? 0;
    this.models = options.models ?? ['standin:latest'];
    this.version = options.version ?? '0.12.6';
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.host = options.host ?? '127.0.0.1';
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<StandinAddress> {
    this.down = false;
    if (!this.server?.listening) await this.open();
    return { url: this.url, port: this.port };
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
    this.server = undefined;
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** true: close the listener and every connection (clients get ECONNREFUSED); false: listen again on the same port. */
  async setDown(down: boolean): Promise<void> {
    this.down = down;
    if (down) await this.stop();
    else if (!this.server?.listening) await this.open();
  }

  get isDown(): boolean {
    return this.down;
  }

  private async open(): Promise<void> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) sendJson(res, 500, { error: 'stand-in internal error' });
        else res.destroy();
      });
    });
    server.keepAliveTimeout = 60_000;
    this.port = await listen(server, this.port, this.host);
    this.server = server;
  }

  // ---------------------------------------------------------------- scripting

  /** One-shot replies (or per-request functions), consumed in order. */
  enqueue(...replies: Array<OllamaReply | OllamaHandler>): void {
    this.script.enqueue(...replies);
  }

  /** Handler for every chat once the queue is empty; return undefined to fall back to echo. */
  setHandler(handler: OllamaHandler | undefined): void {
    this.script.setHandler(handler);
  }

  resetScript(): void {
    this.script.reset();
  }

  get chatRequests(): OllamaChatRequest[] {
    return this.requests.flatMap((r) => (r.chat ? [r.chat] : []));
  }

  clearRecords(): void {
    this.requests.length = 0;
  }

  // ---------------------------------------------------------------- HTTP

  private knownModel(name: string): string | undefined {
    const n = normaliseModel(name);
    return this.models.find((m) => normaliseModel(m) === n);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://standin');
    const path = url.pathname;
    const rec: OllamaRecordedRequest = {
      method: req.method ?? '',
      path,
      status: 0,
      body: undefined,
      receivedAt: Date.now(),
    };
    const finish = (status: number) => {
      rec.status = status;
      this.requests.push(rec);
      if (this.requests.length > 10_000) this.requests.shift();
    };
    const json = (status: number, value: unknown) => {
      finish(status);
      sendJson(res, status, value);
    };

    const read = await readBody(req, this.maxBodyBytes);
    if (!read.ok) {
      if (read.reason === 'too-large') json(413, { error: 'http: request body too large' });
      return;
    }
    const route = `${req.method} ${path}`;
    if (route === 'GET /' || route === 'HEAD /') {
      finish(200);
      send(res, 200, 'Ollama is running', 'text/plain; charset=utf-8');
      return;
    }
    if (route === 'GET /api/version') return json(200, { version: this.version });
    if (route === 'GET /api/tags') return json(200, { models: this.models.map(modelEntry) });
    if (route === 'GET /api/ps') {
      return json(200, {
        models: this.models.map((m) => ({
          ...modelEntry(m),
          expires_at: '2099-01-01T00:00:00Z',
          size_vram: 0,
        })),
      });
    }

    const isPost = req.method === 'POST';
    if (!isPost || (path !== '/api/chat' && path !== '/api/show')) {
      finish(404);
      send(res, 404, '404 page not found', 'text/plain');
      return;
    }
    const body = parseJsonBody(read.body);
    rec.body = body;
    if (!isPlainObject(body)) return json(400, { error: 'invalid request body' });

    if (path === '/api/show') {
      const name =
        typeof body.model === 'string' ? body.model : typeof body.name === 'string' ? body.name : '';
      if (!name) return json(400, { error: 'model is required' });
      if (!this.knownModel(name)) return json(404, { error: `model '${name}' not found` });
      return json(200, {
        license: '',
        modelfile: `FROM ${name}`,
        parameters: '',
        template: '{{ .Prompt }}',
        details: modelEntry(name).details,
        model_info: {
          'general.architecture': 'standin',
          'general.parameter_count': 1_000_000_000,
          'standin.context_length': 131072,
        },
        capabilities: ['completion', 'tools'],
        modified_at: '2026-01-01T00:00:00Z',
      });
    }

    // POST /api/chat
    const problem = validateChat(body);
    if (problem) return json(400, { error: problem });
    const model = body.model as string;
    if (!this.knownModel(model))
      return json(404, { error: `model "${model}" not found, try pulling it first` });
    const chat: OllamaChatRequest = {
      model,
      messages: (body.messages as OllamaChatRequest['messages'] | undefined) ?? [],
      tools: body.tools as OllamaChatRequest['tools'],
      stream: body.stream !== false,
      options: body.options as Record<string, unknown> | undefined,
      format: body.format,
      think: body.think,
      keep_alive: body.keep_alive,
      raw: body,
      headers: req.headers,
      receivedAt: Date.now(),
    };
    rec.chat = chat;
    const createdAt = () => new Date().toISOString();

    // No messages: Ollama only loads the model.
    if (chat.messages.length === 0) {
      return json(200, {
        model,
        created_at: createdAt(),
        message: { role: 'assistant', content: '' },
        done_reason: 'load',
        done: true,
      });
    }

    const started = process.hrtime.bigint();
    const reply = await this.script.next(chat, (r) => ({ content: lastUserText(r.messages) }));
    await applyDelay(reply.delayMs);
    if (reply.error !== undefined) return json(reply.status ?? 500, { error: reply.error });

    const promptText = chat.messages.map((m) => contentText(m.content)).join('\n');
    const toolCalls = reply.toolCalls?.map((t) => ({ function: { name: t.name, arguments: t.arguments } }));
    const stats = () => {
      const total = Number(process.hrtime.bigint() - started);
      return {
        total_duration: total,
        load_duration: Math.min(total, 1000),
        prompt_eval_count: reply.promptTokens ?? estimateTokens(promptText),
        prompt_eval_duration: Math.floor(total / 3),
        eval_count: reply.completionTokens ?? estimateTokens(replyText(reply) || ' '),
        eval_duration: Math.floor(total / 2),
      };
    };
    const doneReason = reply.doneReason ?? 'stop';

    if (!chat.stream) {
      const message: Record<string, unknown> = { role: 'assistant', content: replyText(reply) };
      if (reply.thinking) message.thinking = reply.thinking;
      if (toolCalls) message.tool_calls = toolCalls;
      if (reply.streamError !== undefined) return json(500, { error: reply.streamError });
      return json(200, {
        model,
        created_at: createdAt(),
        message,
        done_reason: doneReason,
        done: true,
        ...stats(),
      });
    }

    finish(200);
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Transfer-Encoding': 'chunked' });
    const line = (value: unknown) => {
      if (!res.destroyed) res.write(JSON.stringify(value) + '\n');
    };
    if (reply.thinking) {
      line({
        model,
        created_at: createdAt(),
        message: { role: 'assistant', content: '', thinking: reply.thinking },
        done: false,
      });
    }
    const pieces = replyPieces(reply);
    for (let i = 0; i < pieces.length; i++) {
      if (i > 0) await applyDelay(reply.chunkDelayMs);
      line({
        model,
        created_at: createdAt(),
        message: { role: 'assistant', content: pieces[i] },
        done: false,
      });
    }
    if (reply.streamError !== undefined) {
      line({ error: reply.streamError });
      res.end();
      return;
    }
    if (toolCalls) {
      await applyDelay(pieces.length > 0 ? reply.chunkDelayMs : 0);
      line({
        model,
        created_at: createdAt(),
        message: { role: 'assistant', content: '', tool_calls: toolCalls },
        done: false,
      });
    }
    line({
      model,
      created_at: createdAt(),
      message: { role: 'assistant', content: '' },
      done: true,
      done_reason: doneReason,
      ...stats(),
    });
    res.end();
  }
}

function validateChat(body: Record<string, unknown>): string | undefined {
  if (typeof body.model !== 'string' || body.model === '') return 'model is required';
  if (body.messages !== undefined && body.messages !== null) {
    if (!Array.isArray(body.messages))
      return 'json: cannot unmarshal messages into Go value of type []api.Message';
    for (const m of body.messages) {
      if (!isPlainObject(m) || typeof m.role !== 'string')
        return 'json: cannot unmarshal message into Go value of type api.Message';
      if (m.content !== undefined && typeof m.content !== 'string') {
        return 'json: cannot unmarshal content into Go struct field Message.messages.content of type string';
      }
    }
  }
  if (body.tools !== undefined && body.tools !== null && !Array.isArray(body.tools)) {
    return 'json: cannot unmarshal tools into Go value of type []api.Tool';
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') {
    return 'json: cannot unmarshal stream into Go struct field ChatRequest.stream of type bool';
  }
  if (body.options !== undefined && body.options !== null && !isPlainObject(body.options)) {
    return 'json: cannot unmarshal options into Go struct field ChatRequest.options of type map[string]interface {}';
  }
  return undefined;
}
