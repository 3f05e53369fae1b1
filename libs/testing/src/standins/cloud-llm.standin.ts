// Stand-in for the two cloud LLM wire formats Palisade may route to. Test infrastructure only.
//
//   POST /v1/chat/completions   OpenAI-compatible. Authorization: Bearer <key>.
//   GET  /v1/models             OpenAI-compatible model list (same key check).
//   POST /v1/messages           Anthropic-compatible. x-api-key: <key>, anthropic-version required.
//
// Keys are compared with the configured values (401 in each provider's error shape otherwise) and every
// request is recorded with the key it carried, so a test can prove which credential reached the provider.
// Tool calls come out in each provider's format (OpenAI: message.tool_calls with JSON-string arguments,
// finish_reason "tool_calls"; Anthropic: tool_use content blocks, stop_reason "tool_use"). Non-streaming
// is the main path; stream:true gets a faithful-enough SSE stream for both.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import {
  DEFAULT_MAX_BODY_BYTES,
  closeServer,
  headerValue,
  isPlainObject,
  listen,
  parseJsonBody,
  readBody,
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

export type CloudProvider = 'openai' | 'anthropic';

export interface CloudLlmRequest {
  provider: CloudProvider;
  model: string;
  messages: Array<{ role: string; content: unknown; [k: string]: unknown }>;
  /** Anthropic top-level system prompt. */
  system?: unknown;
  tools?: unknown[];
  stream: boolean;
  /** The key the request carried (Bearer token or x-api-key). */
  apiKey?: string;
  raw: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
  receivedAt: number;
}

export interface CloudLlmRecordedRequest {
  provider: CloudProvider;
  method: string;
  path: string;
  /** The key the request carried, whether accepted or not. */
  apiKey?: string;
  keyAccepted: boolean;
  status: number;
  body: unknown;
  headers: http.IncomingHttpHeaders;
  request?: CloudLlmRequest;
  receivedAt: number;
}

export interface CloudLlmStandinOptions {
  port?: number;
  /** Key accepted on the OpenAI-compatible endpoints (defaults to apiKey). */
  openaiKey?: string;
  /** Key accepted on the Anthropic-compatible endpoint (defaults to apiKey). */
  anthropicKey?: string;
  apiKey?: string;
  /** When set, other model names get the provider's 404. */
  models?: string[];
  maxBodyBytes?: number;
}

export type CloudLlmReply = LlmReply;
export type CloudLlmHandler = LlmHandler<CloudLlmRequest>;

const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

function rid(prefix: string): string {
  return prefix + randomBytes(12).toString('hex');
}

function maskKey(key: string): string {
  return key.length <= 8
    ? '*'.repeat(key.length)
    : `${key.slice(0, 3)}${'*'.repeat(Math.max(4, key.length - 7))}${key.slice(-4)}`;
}

export class CloudLlmStandin {
  private server?: http.Server;
  private port: number;
  private readonly script = new LlmScript<CloudLlmRequest>();

  readonly requests: CloudLlmRecordedRequest[] = [];

  constructor(private readonly options: CloudLlmStandinOptions = {}) {
    this.port = options.port ?? 0;
  }

  async start(): Promise<StandinAddress> {
    if (!this.server?.listening) {
      const server = http.createServer((req, res) => {
        this.handle(req, res).catch(() => {
          if (!res.headersSent)
            sendJson(res, 500, { error: { message: 'stand-in internal error', type: 'server_error' } });
          else res.destroy();
        });
      });
      this.port = await listen(server, this.port);
      this.server = server;
    }
    return { url: this.url, port: this.port };
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
    this.server = undefined;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** true: close the listener and every connection (ECONNREFUSED); false: listen again on the same port. */
  async setDown(down: boolean): Promise<void> {
    if (down) await this.stop();
    else await this.start();
  }

  get isDown(): boolean {
    return !this.server?.listening;
  }

  enqueue(...replies: Array<CloudLlmReply | CloudLlmHandler>): void {
    this.script.enqueue(...replies);
  }

  setHandler(handler: CloudLlmHandler | undefined): void {
    this.script.setHandler(handler);
  }

  resetScript(): void {
    this.script.reset();
  }

  clearRecords(): void {
    this.requests.length = 0;
  }

  private get openaiKey(): string | undefined {
    return this.options.openaiKey ?? this.options.apiKey;
  }

  private get anthropicKey(): string | undefined {
    return this.options.anthropicKey ?? this.options.apiKey;
  }

  private modelKnown(model: string): boolean {
    return !this.options.models || this.options.models.includes(model);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://standin').pathname;
    const provider: CloudProvider = path === '/v1/messages' ? 'anthropic' : 'openai';
    const rec: CloudLlmRecordedRequest = {
      provider,
      method: req.method ?? '',
      path,
      keyAccepted: false,
      status: 0,
      body: undefined,
      headers: req.headers,
      receivedAt: Date.now(),
    };
    const finish = (status: number) => {
      rec.status = status;
      this.requests.push(rec);
      if (this.requests.length > 10_000) this.requests.shift();
    };
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      finish(status);
      sendJson(res, status, value, headers);
    };
    const openaiError = (
      status: number,
      message: string,
      code: string | null = null,
      param: string | null = null,
    ) =>
      json(status, {
        error: {
          message,
          type: status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error',
          param,
          code: status === 429 && code === null ? 'rate_limit_exceeded' : code,
        },
      });
    const anthropicError = (status: number, message: string) => {
      const requestId = rid('req_');
      json(
        status,
        {
          type: 'error',
          error: { type: ANTHROPIC_ERROR_TYPES[status] ?? 'api_error', message },
          request_id: requestId,
        },
        { 'request-id': requestId },
      );
    };

    const read = await readBody(req, this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    if (!read.ok) {
      if (read.reason === 'too-large') {
        if (provider === 'anthropic')
          anthropicError(413, 'Request exceeds the maximum allowed number of bytes.');
        else openaiError(413, 'Request body too large.');
      }
      return;
    }

    // ------------------------------------------------------------ OpenAI-compatible
    if (provider === 'openai') {
      const isCompletions = path === '/v1/chat/completions' && req.method === 'POST';
      const isModels = path === '/v1/models' && req.method === 'GET';
      if (!isCompletions && !isModels) {
        openaiError(404, `Invalid URL (${req.method} ${path})`);
        return;
      }
      const auth = headerValue(req, 'authorization') ?? '';
      const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
      rec.apiKey = m?.[1];
      if (!rec.apiKey) {
        openaiError(
          401,
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        );
        return;
      }
      if (this.openaiKey === undefined || rec.apiKey !== this.openaiKey) {
        openaiError(401, `Incorrect API key provided: ${maskKey(rec.apiKey)}.`, 'invalid_api_key');
        return;
      }
      rec.keyAccepted = true;
      if (isModels) {
        json(200, {
          object: 'list',
          data: (this.options.models ?? ['standin-cloud']).map((id) => ({
            id,
            object: 'model',
            created: 1_700_000_000,
            owned_by: 'standin',
          })),
        });
        return;
      }
      const body = parseJsonBody(read.body);
      rec.body = body;
      if (!isPlainObject(body)) {
        openaiError(
          400,
          'We could not parse the JSON body of your request. The OpenAI API expects a JSON payload.',
        );
        return;
      }
      if (typeof body.model !== 'string' || body.model === '') {
        openaiError(400, 'you must provide a model parameter');
        return;
      }
      if (!Array.isArray(body.messages)) {
        openaiError(400, "Missing required parameter: 'messages'.", 'missing_required_parameter', 'messages');
        return;
      }
      if (body.messages.some((msg) => !isPlainObject(msg) || typeof msg.role !== 'string')) {
        openaiError(
          400,
          "Invalid value for 'messages': each message needs a 'role'.",
          'invalid_value',
          'messages',
        );
        return;
      }
      if (body.tools !== undefined && !Array.isArray(body.tools)) {
        openaiError(400, "Invalid type for 'tools': expected an array.", 'invalid_type', 'tools');
        return;
      }
      if (!this.modelKnown(body.model)) {
        openaiError(
          404,
          `The model \`${body.model}\` does not exist or you do not have access to it.`,
          'model_not_found',
        );
        return;
      }
      const request: CloudLlmRequest = {
        provider,
        model: body.model,
        messages: body.messages as CloudLlmRequest['messages'],
        tools: body.tools as unknown[] | undefined,
        stream: body.stream === true,
        apiKey: rec.apiKey,
        raw: body,
        headers: req.headers,
        receivedAt: Date.now(),
      };
      rec.request = request;
      const reply = await this.script.next(request, (r) => ({ content: lastUserText(r.messages) }));
      await applyDelay(reply.delayMs);
      if (reply.error !== undefined) {
        openaiError(reply.status ?? 500, reply.error);
        return;
      }
      const id = rid('chatcmpl-');
      const created = Math.floor(Date.now() / 1000);
      const toolCalls = reply.toolCalls?.map((t) => ({
        id: t.id ?? rid('call_'),
        type: 'function',
        function: { name: t.name, arguments: JSON.stringify(t.arguments) },
      }));
      const finishReason = reply.doneReason ?? (toolCalls?.length ? 'tool_calls' : 'stop');
      const promptTokens =
        reply.promptTokens ?? estimateTokens(request.messages.map((x) => contentText(x.content)).join('\n'));
      const completionTokens = reply.completionTokens ?? estimateTokens(replyText(reply) || ' ');
      const usage = {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      };
      if (!request.stream) {
        const text = replyText(reply);
        json(200, {
          id,
          object: 'chat.completion',
          created,
          model: request.model,
          choices: [
            {
              index: 0,
              message: {
                role: 'assistant',
                content: text === '' && toolCalls?.length ? null : text,
                refusal: null,
                ...(toolCalls?.length ? { tool_calls: toolCalls } : {}),
                annotations: [],
              },
              logprobs: null,
              finish_reason: finishReason,
            },
          ],
          usage,
          service_tier: 'default',
          system_fingerprint: null,
        });
        return;
      }
      finish(200);
      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' });
      const chunk = (delta: unknown, finishReasonValue: string | null, extra: Record<string, unknown> = {}) =>
        res.write(
          `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: request.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReasonValue }], ...extra })}\n\n`,
        );
      chunk({ role: 'assistant', content: '', refusal: null }, null);
      const pieces = replyPieces(reply);
      for (let i = 0; i < pieces.length; i++) {
        if (i > 0) await applyDelay(reply.chunkDelayMs);
        chunk({ content: pieces[i] }, null);
      }
      toolCalls?.forEach((t, index) => chunk({ tool_calls: [{ index, ...t }] }, null));
      if (reply.streamError !== undefined) {
        res.end(
          `data: ${JSON.stringify({ error: { message: reply.streamError, type: 'server_error', param: null, code: null } })}\n\n`,
        );
        return;
      }
      chunk({}, finishReason);
      const streamOptions = body.stream_options;
      if (isPlainObject(streamOptions) && streamOptions.include_usage === true) {
        res.write(
          `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: request.model, choices: [], usage })}\n\n`,
        );
      }
      res.end('data: [DONE]\n\n');
      return;
    }

    // ------------------------------------------------------------ Anthropic-compatible
    if (req.method !== 'POST') {
      anthropicError(405, `Method ${req.method} not allowed`);
      return;
    }
    rec.apiKey = headerValue(req, 'x-api-key');
    if (!rec.apiKey || this.anthropicKey === undefined || rec.apiKey !== this.anthropicKey) {
      anthropicError(401, 'invalid x-api-key');
      return;
    }
    rec.keyAccepted = true;
    if (!headerValue(req, 'anthropic-version')) {
      anthropicError(400, 'anthropic-version: header is required');
      return;
    }
    const body = parseJsonBody(read.body);
    rec.body = body;
    if (!isPlainObject(body)) {
      anthropicError(400, 'There was an issue with your request body: invalid JSON');
      return;
    }
    for (const field of ['model', 'max_tokens', 'messages']) {
      if (body[field] === undefined) {
        anthropicError(400, `${field}: Field required`);
        return;
      }
    }
    if (typeof body.model !== 'string') return anthropicError(400, 'model: Input should be a valid string');
    if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens) || body.max_tokens < 1) {
      return anthropicError(400, 'max_tokens: Input should be a valid integer greater than 0');
    }
    if (
      !Array.isArray(body.messages) ||
      body.messages.some((msg) => !isPlainObject(msg) || (msg.role !== 'user' && msg.role !== 'assistant'))
    ) {
      return anthropicError(400, "messages: roles must be 'user' or 'assistant'");
    }
    if (body.tools !== undefined && !Array.isArray(body.tools))
      return anthropicError(400, 'tools: Input should be a valid list');
    if (!this.modelKnown(body.model)) return anthropicError(404, `model: ${body.model}`);

    const request: CloudLlmRequest = {
      provider,
      model: body.model,
      messages: body.messages as CloudLlmRequest['messages'],
      system: body.system,
      tools: body.tools as unknown[] | undefined,
      stream: body.stream === true,
      apiKey: rec.apiKey,
      raw: body,
      headers: req.headers,
      receivedAt: Date.now(),
    };
    rec.request = request;
    const reply = await this.script.next(request, (r) => ({ content: lastUserText(r.messages) }));
    await applyDelay(reply.delayMs);
    if (reply.error !== undefined) {
      anthropicError(reply.status ?? 500, reply.error);
      return;
    }
    const id = rid('msg_');
    const text = replyText(reply);
    const toolUses = (reply.toolCalls ?? []).map((t) => ({
      type: 'tool_use',
      id: t.id ?? rid('toolu_'),
      name: t.name,
      input: t.arguments,
    }));
    const content: unknown[] = [...(text !== '' ? [{ type: 'text', text }] : []), ...toolUses];
    const stopReason = reply.doneReason ?? (toolUses.length ? 'tool_use' : 'end_turn');
    const systemText = typeof body.system === 'string' ? body.system : contentText(body.system);
    const inputTokens =
      reply.promptTokens ??
      estimateTokens(systemText + request.messages.map((x) => contentText(x.content)).join('\n'));
    const outputTokens = reply.completionTokens ?? estimateTokens(text || ' ');
    const requestId = rid('req_');
    if (!request.stream) {
      json(
        200,
        {
          id,
          type: 'message',
          role: 'assistant',
          model: request.model,
          content,
          stop_reason: stopReason,
          stop_sequence: null,
          usage: { input_tokens: inputTokens, output_tokens: outputTokens },
        },
        { 'request-id': requestId },
      );
      return;
    }
    finish(200);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      'request-id': requestId,
    });
    const event = (name: string, data: unknown) =>
      res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    event('message_start', {
      type: 'message_start',
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model: request.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: inputTokens, output_tokens: 1 },
      },
    });
    let index = 0;
    const pieces = replyPieces(reply);
    if (pieces.length > 0) {
      event('content_block_start', {
        type: 'content_block_start',
        index,
        content_block: { type: 'text', text: '' },
      });
      event('ping', { type: 'ping' });
      for (let i = 0; i < pieces.length; i++) {
        if (i > 0) await applyDelay(reply.chunkDelayMs);
        event('content_block_delta', {
          type: 'content_block_delta',
          index,
          delta: { type: 'text_delta', text: pieces[i] },
        });
      }
      event('content_block_stop', { type: 'content_block_stop', index });
      index++;
    }
    if (reply.streamError !== undefined) {
      event('error', { type: 'error', error: { type: 'overloaded_error', message: reply.streamError } });
      res.end();
      return;
    }
    for (const t of toolUses) {
      event('content_block_start', {
        type: 'content_block_start',
        index,
        content_block: { ...t, input: {} },
      });
      event('content_block_delta', {
        type: 'content_block_delta',
        index,
        delta: { type: 'input_json_delta', partial_json: JSON.stringify(t.input) },
      });
      event('content_block_stop', { type: 'content_block_stop', index });
      index++;
    }
    event('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: outputTokens },
    });
    event('message_stop', { type: 'message_stop' });
    res.end();
  }
}
