// Protocol-faithful stand-in for Nextcloud Talk's bot API (Talk 17.1+ `bots-v1`, behaviour as measured
// against Nextcloud 32). Test infrastructure only: production code never imports this.
//
// Outbound (what a bot receives): sendMessage() POSTs an Activity Streams 2.0 body built like Talk's
// BotService/ActivityPubHelper, encoded like PHP's json_encode, with X-Nextcloud-Talk-Random (64 chars),
// X-Nextcloud-Talk-Signature = hex HMAC-SHA256(secret, random + raw body), X-Nextcloud-Talk-Backend and
// OCS-APIRequest headers, and Talk's 5 s timeout.
//
// Inbound (what a bot sends): the OCS endpoints
//   POST          /ocs/v2.php/apps/spreed/api/v1/bot/<token>/message        {message, replyTo?, referenceId?, silent?}
//   POST | DELETE /ocs/v2.php/apps/spreed/api/v1/bot/<token>/reaction/<id>  {reaction}
// checked in the order of Talk's BotController: CSRF (OCS-APIRequest header) → brute-force block (429) →
// empty message (400) → random < 32 bytes / no signature (400) → HMAC(secret, random + message|reaction)
// against each bot enabled in the conversation with the response feature (401 + one brute-force attempt)
// → replyTo from another room (400) → over 32000 characters (413) → 201.
// Answers are OCS v2 envelopes, JSON when `format=json` or Accept: application/json, XML otherwise.
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import {
  DEFAULT_MAX_BODY_BYTES,
  Waiters,
  closeServer,
  headerValue,
  listen,
  nextcloudParams,
  readBody,
  remoteIp,
  send,
  sleep,
  type StandinAddress,
} from './http-util';
import { hmacSha256Hex, phpJsonEncode, sha1Hex, signatureMatches, talkRandom } from './php-json';

export type TalkFeature = 'webhook' | 'response' | 'event' | 'reaction';
export type TalkActivityType = 'Create' | 'Activity' | 'Join' | 'Leave' | 'Like' | 'Undo';

/** Talk's limit on a chat message, in characters (mb_strlen). */
export const TALK_MAX_MESSAGE_LENGTH = 32000;

export interface TalkBotConfig {
  name: string;
  /** Shared secret (Talk requires 40 to 128 characters at install time; not enforced here). */
  secret: string;
  url: string;
  /** Default: webhook, response, reaction. */
  features?: TalkFeature[];
  /** Conversation tokens the bot is enabled in. */
  conversations?: string[];
}

export interface TalkConversationConfig {
  token: string;
  name?: string;
  /** 1 one-to-one, 2 group, 3 public, 6 note-to-self. Default 2. */
  type?: number;
}

export interface TalkStandinOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Address to listen on (default loopback; e.g. the Docker bridge address for containers to reach). */
  host?: string;
  /** X-Nextcloud-Talk-Backend value; default this stand-in's own base URL + "/". */
  backendUrl?: string;
  bots?: TalkBotConfig[];
  conversations?: TalkConversationConfig[];
  maxBodyBytes?: number;
  /** Failed (401) bot requests per IP after which every bot request is answered 429. Default 10. */
  bruteForceMaxAttempts?: number;
  /** Window over which failed attempts count. Default 30 minutes. */
  bruteForceWindowMs?: number;
  /**
   * Nextcloud also sleeps before each request of an IP with failed attempts (200 ms doubling up to 25 s).
   * 0 (default) skips the sleep; 1 reproduces it; 0.01 scales it down.
   */
  bruteForceDelayScale?: number;
  /** Take the caller IP from X-Forwarded-For (lets one test simulate several IPs). Default false. */
  trustForwardedFor?: boolean;
  /** Answer 412 "CSRF check failed" when OCS-APIRequest is missing, as Nextcloud does. Default true. */
  requireOcsApiRequestHeader?: boolean;
  /** Talk gives a bot 5 s to answer a webhook. */
  webhookTimeoutMs?: number;
  /** CA to trust when a bot URL is https. */
  webhookCa?: string | Buffer;
  /** Serve HTTPS with this certificate (Nextcloud is reached on 443 in a deployment); default plain HTTP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** First id handed to chat messages (ids are numeric strings, like comment ids). Default 1000. */
  firstMessageId?: number;
}

export interface TalkInReplyTo {
  id: string | number;
  text?: string;
  actorId?: string;
  actorName?: string;
}

export interface TalkSendOptions {
  conversationToken: string;
  /** Name of a configured bot; supplies url and secret. Default: the only bot enabled in the conversation. */
  bot?: string;
  botUrl?: string;
  secret?: string;
  /** Default 'Create'. */
  type?: TalkActivityType;
  /** "users/<uid>", "guests/<hash>", "bots/...". Default "users/alice". */
  actorId?: string;
  actorName?: string;
  /** actor.talkParticipantType for Create (1 owner, 2 moderator, 3 user, 4 guest...). Default 3. */
  participantType?: number | string;
  text?: string;
  /** Rich-object parameters; encoded as [] when empty, as PHP does. */
  parameters?: Record<string, unknown>;
  /** Default: the next numeric id. For Like/Undo: the message reacted to. */
  messageId?: string | number;
  inReplyTo?: string | number | TalkInReplyTo;
  /** Like / Undo. */
  reaction?: string;
  /** Activity: the system message type, used as object.name. Default 'user_added'. */
  systemMessage?: string;
  /** PHP json_encode escaping ("\/", "\uXXXX"). Default true, as Nextcloud sends. */
  phpJson?: boolean;
  /** Optional thread id (Talk 22 threads). */
  threadId?: number;
  // Tampering, for negative tests.
  /** Sign with a different secret. */
  wrongSignature?: boolean;
  /** Use this signature header verbatim. */
  signature?: string;
  /** Use this random instead of a fresh one (replay). */
  random?: string;
  /** Send these bytes as the body instead of the built one (still signed unless signature is given). */
  rawBody?: string;
  /** Pad the message text until the body is at least this many bytes (still validly signed). */
  oversizeBytes?: number;
  /** Extra / overriding headers; a header set to null is omitted. */
  headers?: Record<string, string | null>;
  timeoutMs?: number;
}

export interface TalkWebhookResult {
  /** HTTP status of the bot's answer, 0 on a transport error or timeout. */
  status: number;
  /** Talk counts only 200 and 202 as success. */
  ok: boolean;
  body: string;
  headers: http.IncomingHttpHeaders;
  durationMs: number;
  botUrl: string;
  rawBody: string;
  random: string;
  signature: string;
  requestHeaders: Record<string, string>;
  type: TalkActivityType;
  messageId?: string;
  error?: string;
}

export interface TalkRecordedReply {
  kind: 'message' | 'reaction';
  method: string;
  path: string;
  token: string;
  /** message: the id given to the posted message on success; reaction: the target message id. */
  messageId?: string;
  message?: string;
  reaction?: string;
  replyTo?: number;
  referenceId?: string;
  silent?: boolean;
  random?: string;
  signature?: string;
  /** Name of the bot whose secret verified the signature. */
  bot?: string;
  /** The signature verified against a bot enabled in this conversation. */
  verified: boolean;
  status: number;
  reason: string;
  ip: string;
  receivedAt: number;
  headers: http.IncomingHttpHeaders;
}

export interface TalkChatMessage {
  id: string;
  token: string;
  actorType: string;
  actorId: string;
  actorName: string;
  message: string;
  parameters: Record<string, unknown>;
  replyTo?: string;
  referenceId?: string;
  silent?: boolean;
  /** emoji -> actor ids ("bots/bot-<sha1>") */
  reactions: Map<string, Set<string>>;
}

/**
 * A scripted answer for upcoming bot requests (per test): Talk's own checks are skipped for them.
 * Real Talk answers 429 only after repeated 401s and 5xx only when broken; scripting lets a test
 * exercise a bot's handling of those without waiting for them.
 */
export interface TalkScriptedReply {
  status: number;
  /** How many matching requests get this answer. Default 1. */
  count?: number;
  /** Only requests to this conversation. */
  token?: string;
  kind?: 'message' | 'reaction';
  /** Retry-After header (seconds). */
  retryAfter?: number;
  message?: string;
}

interface BotState {
  name: string;
  secret: string;
  url: string;
  features: Set<TalkFeature>;
  conversations: Set<string>;
}

const OCS_BOT_PREFIX = '/ocs/v2.php/apps/spreed/api/v1/bot/';
const OCS_INVALID_QUERY =
  'Invalid query, please check the syntax. API specifications are here: http://www.freedesktop.org/wiki/Specifications/open-collaboration-services.';
const MAX_DELAY_MS = 25_000;

/** actor id of a bot in chat: bots/bot-<sha1(url)>. */
export function talkBotActorId(botUrl: string): string {
  return `bots/bot-${sha1Hex(botUrl)}`;
}

function splitActor(actor: string): { type: string; id: string } {
  const i = actor.indexOf('/');
  return i < 0 ? { type: 'users', id: actor } : { type: actor.slice(0, i), id: actor.slice(i + 1) };
}

/** PHP trim(): strips " \t\n\r\0\x0B" from both ends. */
const PHP_TRIM_CHARS = new Set([' ', '\t', '\n', '\r', '\0', String.fromCharCode(0x0b)]);
function phpTrim(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && PHP_TRIM_CHARS.has(s[start])) start++;
  while (end > start && PHP_TRIM_CHARS.has(s[end - 1])) end--;
  return s.slice(start, end);
}

function phpInt(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : 0;
  if (typeof v === 'string') {
    const m = /^\s*[+-]?\d+/.exec(v);
    return m ? parseInt(m[0], 10) : 0;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  return 0;
}

function phpBool(v: unknown): boolean {
  if (typeof v === 'string') return v !== '' && v !== '0' && v.toLowerCase() !== 'false';
  return Boolean(v);
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Nextcloud's OCS XML rendering (XMLWriter, one-space indent; list items become <element>). */
function toXml(value: unknown, name: string, depth: number): string {
  const pad = ' '.repeat(depth);
  if (value === null || value === undefined) return `${pad}<${name}/>\n`;
  if (typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v) => ['element', v] as const) : Object.entries(value);
    if (entries.length === 0) return `${pad}<${name}/>\n`;
    return `${pad}<${name}>\n${entries.map(([k, v]) => toXml(v, /^\d/.test(k) ? 'element' : k, depth + 1)).join('')}${pad}</${name}>\n`;
  }
  const text = typeof value === 'boolean' ? (value ? '1' : '') : String(value);
  return text === '' ? `${pad}<${name}/>\n` : `${pad}<${name}>${xmlEscape(text)}</${name}>\n`;
}

export class TalkStandin {
  private server?: http.Server | https.Server;
  private port: number;
  private baseUrl = '';
  private readonly opts: Required<
    Pick<
      TalkStandinOptions,
      | 'maxBodyBytes'
      | 'bruteForceMaxAttempts'
      | 'bruteForceWindowMs'
      | 'bruteForceDelayScale'
      | 'trustForwardedFor'
      | 'requireOcsApiRequestHeader'
      | 'webhookTimeoutMs'
    >
  > &
    TalkStandinOptions;
  private readonly bots = new Map<string, BotState>();
  private readonly conversations = new Map<string, Required<TalkConversationConfig>>();
  private readonly messages = new Map<string, TalkChatMessage>();
  private readonly attempts = new Map<string, number[]>();
  private readonly scripted: (TalkScriptedReply & { left: number })[] = [];
  private readonly replyWaiters = new Waiters<TalkRecordedReply>();
  private nextId: number;

  /** Every request received on the bot endpoints, accepted or not. */
  readonly replies: TalkRecordedReply[] = [];
  /** Every webhook sent with sendMessage()/resend(). */
  readonly webhooks: TalkWebhookResult[] = [];

  constructor(options: TalkStandinOptions = {}) {
    this.opts = {
      maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      bruteForceMaxAttempts: 10,
      bruteForceWindowMs: 30 * 60 * 1000,
      bruteForceDelayScale: 0,
      trustForwardedFor: false,
      requireOcsApiRequestHeader: true,
      webhookTimeoutMs: 5000,
      ...options,
    };
    this.port = options.port ?? 0;
    this.nextId = options.firstMessageId ?? 1000;
    for (const c of options.conversations ?? []) this.addConversation(c);
    for (const b of options.bots ?? []) this.addBot(b);
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<StandinAddress> {
    if (this.server?.listening) return { url: this.baseUrl, port: this.port };
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) send(res, 500, '', 'text/plain');
        else res.destroy();
      });
    };
    const tls = this.opts.tls;
    const server = tls ? https.createServer({ cert: tls.cert, key: tls.key }, onRequest) : http.createServer(onRequest);
    server.keepAliveTimeout = 60_000;
    const host = this.opts.host ?? '127.0.0.1';
    this.port = await listen(server, this.port, host);
    this.server = server;
    this.baseUrl = `${tls ? 'https' : 'http'}://${host}:${this.port}`;
    return { url: this.baseUrl, port: this.port };
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
    this.server = undefined;
  }

  get url(): string {
    return this.baseUrl;
  }

  /** What goes into X-Nextcloud-Talk-Backend: base URL with one trailing "/". */
  get backendUrl(): string {
    return (this.opts.backendUrl ?? this.baseUrl).replace(/\/+$/, '') + '/';
  }

  // ---------------------------------------------------------------- configuration

  addConversation(c: TalkConversationConfig): void {
    this.conversations.set(c.token, { token: c.token, name: c.name ?? c.token, type: c.type ?? 2 });
  }

  addBot(b: TalkBotConfig): void {
    const features = new Set<TalkFeature>(b.features ?? ['webhook', 'response', 'reaction']);
    this.bots.set(b.name, { name: b.name, secret: b.secret, url: b.url, features, conversations: new Set() });
    for (const token of b.conversations ?? []) this.enableBot(b.name, token);
  }

  removeBot(name: string): void {
    this.bots.delete(name);
  }

  /** Enable a bot in a conversation (what a moderator does in the conversation settings). */
  enableBot(name: string, token: string): void {
    const bot = this.requireBot(name);
    if (!this.conversations.has(token)) this.addConversation({ token });
    bot.conversations.add(token);
  }

  disableBot(name: string, token: string): void {
    this.requireBot(name).conversations.delete(token);
  }

  /** enableBot() plus the Join webhook Talk sends to the bot immediately. */
  async joinBot(name: string, token: string): Promise<TalkWebhookResult> {
    this.enableBot(name, token);
    return this.sendMessage({ conversationToken: token, bot: name, type: 'Join' });
  }

  /** disableBot() plus the Leave webhook Talk sends to the bot immediately. */
  async leaveBot(name: string, token: string): Promise<TalkWebhookResult> {
    this.disableBot(name, token);
    return this.sendMessage({ conversationToken: token, bot: name, type: 'Leave' });
  }

  /** Make a message known (e.g. written by a user without a webhook) so replyTo / reactions can refer to it. */
  registerMessage(m: {
    id?: string | number;
    token: string;
    actorId?: string;
    actorName?: string;
    text: string;
    parameters?: Record<string, unknown>;
  }): TalkChatMessage {
    const id = m.id !== undefined ? String(m.id) : String(this.nextId++);
    const actor = splitActor(m.actorId ?? 'users/alice');
    const msg: TalkChatMessage = {
      id,
      token: m.token,
      actorType: actor.type,
      actorId: actor.id,
      actorName: m.actorName ?? actor.id,
      message: m.text,
      parameters: m.parameters ?? {},
      reactions: new Map(),
    };
    this.messages.set(id, msg);
    const numeric = Number(id);
    if (Number.isInteger(numeric) && numeric >= this.nextId) this.nextId = numeric + 1;
    return msg;
  }

  getMessage(id: string | number): TalkChatMessage | undefined {
    return this.messages.get(String(id));
  }

  /** Messages posted by bots, in order. */
  botMessages(token?: string): TalkChatMessage[] {
    return [...this.messages.values()].filter((m) => m.actorType === 'bots' && (!token || m.token === token));
  }

  /** Answers the next matching bot request(s) with a fixed status (e.g. 429 + Retry-After, 500). */
  scriptReply(reply: TalkScriptedReply): void {
    this.scripted.push({ ...reply, left: reply.count ?? 1 });
  }

  clearScriptedReplies(): void {
    this.scripted.length = 0;
  }

  resetBruteForce(ip?: string): void {
    if (ip) this.attempts.delete(ip);
    else this.attempts.clear();
  }

  bruteForceAttempts(ip = '127.0.0.1'): number {
    return this.liveAttempts(ip).length;
  }

  clearRecords(): void {
    this.replies.length = 0;
    this.webhooks.length = 0;
  }

  /** Resolves with the first recorded reply (already received or future) matching predicate. */
  waitForReply(
    predicate: (r: TalkRecordedReply) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<TalkRecordedReply> {
    return this.replyWaiters.waitFor(this.replies, predicate, timeoutMs, () => {
      const seen = this.replies.map(
        (r) =>
          `${r.status} ${r.kind} ${r.token} ${JSON.stringify((r.message ?? r.reaction ?? '').slice(0, 60))}`,
      );
      return `received ${this.replies.length} bot request(s)${seen.length ? ': ' + seen.join('; ') : ''}`;
    });
  }

  // ---------------------------------------------------------------- outbound: webhooks to a bot

  /** Builds the Activity Streams body exactly as Talk would for these options (and registers a Create's message). */
  buildWebhook(o: TalkSendOptions): { rawBody: string; messageId?: string; botUrl: string; secret: string } {
    const { url: botUrl, secret, name: botName } = this.resolveBot(o);
    const token = o.conversationToken;
    const room = this.conversations.get(token) ?? { token, name: token, type: 2 };
    const target = { type: 'Collection', id: token, name: room.name };
    const phpJson = o.phpJson ?? true;
    const enc = (v: unknown) => (phpJson ? phpJsonEncode(v) : JSON.stringify(v));
    const params = (p: Record<string, unknown> | undefined) => (p && Object.keys(p).length > 0 ? p : []);
    const type = o.type ?? 'Create';
    const actorId = o.actorId ?? 'users/alice';
    const actorName = o.actorName ?? splitActor(actorId).id;
    const note = (
      id: string,
      message: string,
      parameters: Record<string, unknown> | undefined,
      name: string,
    ) => ({
      type: 'Note',
      id,
      name,
      content: enc({ message, parameters: params(parameters) }),
      mediaType: 'text/markdown',
    });

    let payload: Record<string, unknown>;
    let messageId: string | undefined;
    switch (type) {
      case 'Join':
      case 'Leave':
        payload = {
          type,
          actor: { type: 'Application', id: talkBotActorId(botUrl), name: botName ?? 'bot' },
          object: { type: 'Collection', id: token, name: room.name },
        };
        break;
      case 'Like':
      case 'Undo': {
        if (o.messageId === undefined)
          throw new Error('TalkStandin: Like/Undo need the messageId reacted to');
        messageId = String(o.messageId);
        const known = this.messages.get(messageId);
        // Talk puts the *author of the message* in actor, not the person who reacted (measured).
        const author = known
          ? { type: 'Person', id: `${known.actorType}/${known.actorId}`, name: known.actorName }
          : { type: 'Person', id: actorId, name: actorName };
        const like = {
          type: 'Like',
          actor: author,
          object: note(
            messageId,
            known?.message ?? o.text ?? '',
            known?.parameters ?? o.parameters,
            'message',
          ),
          target,
          content: o.reaction ?? '👍',
        };
        payload = type === 'Like' ? like : { type: 'Undo', actor: author, object: like, target };
        break;
      }
      case 'Create':
      case 'Activity': {
        messageId = o.messageId !== undefined ? String(o.messageId) : String(this.nextId++);
        let text = o.text ?? '';
        const base = type === 'Create' ? 'message' : (o.systemMessage ?? 'user_added');
        const actor =
          type === 'Create'
            ? {
                type: 'Person',
                id: actorId,
                name: actorName,
                talkParticipantType: String(o.participantType ?? 3),
              }
            : { type: 'Person', id: actorId, name: actorName };
        const object: Record<string, unknown> = note(messageId, text, o.parameters, base);
        if (o.inReplyTo !== undefined && type === 'Create') {
          const ref: TalkInReplyTo = typeof o.inReplyTo === 'object' ? o.inReplyTo : { id: o.inReplyTo };
          const parent = this.messages.get(String(ref.id));
          const pActor = parent ? `${parent.actorType}/${parent.actorId}` : (ref.actorId ?? 'users/alice');
          object.inReplyTo = {
            type: 'Note',
            actor: {
              type: 'Person',
              id: pActor,
              name: parent?.actorName ?? ref.actorName ?? splitActor(pActor).id,
            },
            object: note(String(ref.id), parent?.message ?? ref.text ?? '', parent?.parameters, 'message'),
          };
        }
        if (o.threadId !== undefined) object.threadId = o.threadId;
        payload = { type, actor, object, target };
        if (o.oversizeBytes && o.oversizeBytes > 0) {
          const current = Buffer.byteLength(enc(payload));
          if (current < o.oversizeBytes) {
            text += 'x'.repeat(o.oversizeBytes - current);
            object.content = note(messageId, text, o.parameters, base).content;
          }
        }
        if (!this.messages.has(messageId)) {
          this.registerMessage({ id: messageId, token, actorId, actorName, text, parameters: o.parameters });
        }
        break;
      }
      default:
        throw new Error(`TalkStandin: unknown activity type ${String(type)}`);
    }
    return { rawBody: o.rawBody ?? enc(payload), messageId, botUrl, secret };
  }

  /** Sends one signed webhook to a bot, the way Talk does, and waits for its answer. */
  async sendMessage(o: TalkSendOptions): Promise<TalkWebhookResult> {
    const built = this.buildWebhook(o);
    const random = o.random ?? talkRandom(64);
    const signingSecret = o.wrongSignature ? `${built.secret}-wrong` : built.secret;
    const signature = o.signature ?? hmacSha256Hex(signingSecret, random + built.rawBody);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'X-Nextcloud-Talk-Random': random,
      'X-Nextcloud-Talk-Signature': signature,
      'X-Nextcloud-Talk-Backend': this.backendUrl,
      'OCS-APIRequest': 'true',
      'User-Agent': 'Nextcloud Server Crawler',
    };
    for (const [k, v] of Object.entries(o.headers ?? {})) {
      for (const existing of Object.keys(headers))
        if (existing.toLowerCase() === k.toLowerCase()) delete headers[existing];
      if (v !== null) headers[k] = v;
    }
    const result = await this.post(
      built.botUrl,
      built.rawBody,
      headers,
      o.timeoutMs ?? this.opts.webhookTimeoutMs,
    );
    const full: TalkWebhookResult = {
      ...result,
      botUrl: built.botUrl,
      rawBody: built.rawBody,
      random,
      signature,
      requestHeaders: headers,
      type: o.type ?? 'Create',
      messageId: built.messageId,
    };
    this.webhooks.push(full);
    return full;
  }

  /** Replays a webhook byte for byte: same random, signature and body (a replay attack). */
  async resend(previous: TalkWebhookResult, timeoutMs?: number): Promise<TalkWebhookResult> {
    const result = await this.post(
      previous.botUrl,
      previous.rawBody,
      previous.requestHeaders,
      timeoutMs ?? this.opts.webhookTimeoutMs,
    );
    const full = { ...previous, ...result };
    this.webhooks.push(full);
    return full;
  }

  private post(
    target: string,
    rawBody: string,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<Pick<TalkWebhookResult, 'status' | 'ok' | 'body' | 'headers' | 'durationMs' | 'error'>> {
    const u = new URL(target);
    const lib = u.protocol === 'https:' ? https : http;
    const bodyBuf = Buffer.from(rawBody, 'utf8');
    return new Promise((resolve) => {
      const t0 = performance.now();
      let settled = false;
      const finish = (r: {
        status: number;
        body: string;
        headers: http.IncomingHttpHeaders;
        error?: string;
      }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const ok = r.status === 200 || r.status === 202;
        resolve({ ...r, ok, durationMs: performance.now() - t0 });
      };
      const req = lib.request(
        {
          protocol: u.protocol,
          hostname: u.hostname,
          port: u.port,
          path: u.pathname + u.search,
          method: 'POST',
          headers: { ...headers, 'Content-Length': String(bodyBuf.length) },
          agent: false,
          ...(u.protocol === 'https:' && this.opts.webhookCa ? { ca: this.opts.webhookCa } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            finish({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              headers: res.headers,
            }),
          );
          res.on('error', (e) => finish({ status: 0, body: '', headers: {}, error: e.message }));
        },
      );
      const timer = setTimeout(() => {
        finish({ status: 0, body: '', headers: {}, error: `timeout after ${timeoutMs} ms` });
        req.destroy();
      }, timeoutMs);
      req.on('error', (e) => finish({ status: 0, body: '', headers: {}, error: e.message }));
      req.end(bodyBuf);
    });
  }

  private resolveBot(o: TalkSendOptions): { url: string; secret: string; name?: string } {
    if (o.bot) {
      const b = this.requireBot(o.bot);
      return { url: o.botUrl ?? b.url, secret: o.secret ?? b.secret, name: b.name };
    }
    if (o.botUrl && o.secret !== undefined) {
      const known = [...this.bots.values()].find((b) => b.url === o.botUrl);
      return { url: o.botUrl, secret: o.secret, name: known?.name };
    }
    const candidates = [...this.bots.values()].filter(
      (b) => b.conversations.has(o.conversationToken) && (!o.botUrl || b.url === o.botUrl),
    );
    if (candidates.length !== 1) {
      throw new Error(
        `TalkStandin: cannot pick a bot for ${o.conversationToken} (${candidates.length} candidates); pass bot or botUrl+secret`,
      );
    }
    const b = candidates[0];
    return { url: b.url, secret: o.secret ?? b.secret, name: b.name };
  }

  private requireBot(name: string): BotState {
    const b = this.bots.get(name);
    if (!b) throw new Error(`TalkStandin: unknown bot ${name}`);
    return b;
  }

  // ---------------------------------------------------------------- inbound: the OCS server

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://standin');
    const path = url.pathname;
    const read = await readBody(req, this.opts.maxBodyBytes);
    if (!read.ok) {
      if (read.reason === 'too-large') this.ocs(req, url, res, 413, null, 'Request body too large');
      return;
    }
    const body = read.body;

    if (path.startsWith(OCS_BOT_PREFIX)) {
      const rest = path.slice(OCS_BOT_PREFIX.length).split('/');
      const token = decodeURIComponent(rest[0] ?? '');
      if (rest.length === 2 && rest[1] === 'message' && req.method === 'POST' && token) {
        await this.botEndpoint(req, res, url, body, 'message', token);
        return;
      }
      if (
        rest.length === 3 &&
        rest[1] === 'reaction' &&
        (req.method === 'POST' || req.method === 'DELETE') &&
        token &&
        rest[2]
      ) {
        await this.botEndpoint(req, res, url, body, 'reaction', token, decodeURIComponent(rest[2]));
        return;
      }
    }
    const roomMatch = /^\/ocs\/v2\.php\/apps\/spreed\/api\/v4\/room\/([^/]+)$/.exec(path);
    if (roomMatch && req.method === 'GET') {
      const room = this.conversations.get(decodeURIComponent(roomMatch[1]));
      if (!room) {
        this.ocs(req, url, res, 404, null);
        return;
      }
      this.ocs(req, url, res, 200, {
        id: 1,
        token: room.token,
        type: room.type,
        name: room.name,
        displayName: room.name,
        participantType: 3,
        readOnly: 0,
        hasPassword: false,
      });
      return;
    }
    if (path === '/ocs/v2.php/cloud/capabilities' && req.method === 'GET') {
      this.ocs(req, url, res, 200, {
        version: { major: 32, minor: 0, micro: 0, string: '32.0.0', edition: '', extendedSupport: false },
        capabilities: {
          spreed: {
            features: ['bots-v1', 'reactions', 'chat-reply', 'chat-reference-id', 'silent-send'],
            config: { chat: { 'max-length': TALK_MAX_MESSAGE_LENGTH } },
          },
        },
      });
      return;
    }
    if (path === '/status.php' && req.method === 'GET') {
      send(
        res,
        200,
        JSON.stringify({
          installed: true,
          maintenance: false,
          needsDbUpgrade: false,
          version: '32.0.0.0',
          versionstring: '32.0.0',
          edition: '',
          productname: 'Nextcloud',
          extendedSupport: false,
        }),
        'application/json; charset=utf-8',
      );
      return;
    }
    if (path.startsWith('/ocs/')) {
      this.ocs(req, url, res, 404, [], OCS_INVALID_QUERY);
      return;
    }
    send(res, 404, 'Not Found', 'text/plain; charset=utf-8');
  }

  private async botEndpoint(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    body: Buffer,
    kind: 'message' | 'reaction',
    token: string,
    targetId?: string,
  ): Promise<void> {
    const ip = remoteIp(req, this.opts.trustForwardedFor);
    const random = headerValue(req, 'x-nextcloud-talk-bot-random');
    const signature = headerValue(req, 'x-nextcloud-talk-bot-signature');
    const rec: TalkRecordedReply = {
      kind,
      method: req.method ?? '',
      path: url.pathname,
      token,
      messageId: targetId,
      random,
      signature,
      verified: false,
      status: 0,
      reason: '',
      ip,
      receivedAt: Date.now(),
      headers: req.headers,
    };
    const answer = (status: number, reason: string, data: unknown = null, message?: string) => {
      rec.status = status;
      rec.reason = reason;
      this.record(rec);
      this.ocs(req, url, res, status, data, message);
    };

    // SecurityMiddleware: an OCS controller without a session/CSRF token needs the OCS-APIRequest header.
    if (
      this.opts.requireOcsApiRequestHeader &&
      (headerValue(req, 'ocs-apirequest') ?? '').toLowerCase() !== 'true'
    ) {
      rec.status = 412;
      rec.reason = 'CSRF check failed';
      this.record(rec);
      send(res, 412, JSON.stringify({ message: 'CSRF check failed' }), 'application/json; charset=utf-8');
      return;
    }

    const scripted = this.scripted.find(
      (r) => r.left > 0 && (!r.token || r.token === token) && (!r.kind || r.kind === kind),
    );
    if (scripted) {
      scripted.left--;
      if (scripted.left === 0) this.scripted.splice(this.scripted.indexOf(scripted), 1);
      const params = nextcloudParams(req, url, body);
      if (params && typeof params.message === 'string') rec.message = params.message;
      rec.status = scripted.status;
      rec.reason = `scripted ${scripted.status}`;
      this.record(rec);
      const extra: Record<string, string> =
        scripted.retryAfter !== undefined ? { 'Retry-After': String(scripted.retryAfter) } : {};
      this.ocs(req, url, res, scripted.status, null, scripted.message, extra);
      return;
    }

    // BruteForceMiddleware (action "bot"): blocked IPs get 429 before the controller runs.
    const attempts = this.liveAttempts(ip).length;
    if (attempts >= this.opts.bruteForceMaxAttempts) {
      answer(429, 'brute-force protection: too many failed attempts', [], 'Reached maximum delay');
      return;
    }
    if (attempts > 0 && this.opts.bruteForceDelayScale > 0) {
      await sleep(Math.min(MAX_DELAY_MS, Math.ceil(100 * 2 ** attempts)) * this.opts.bruteForceDelayScale);
    }

    const params = nextcloudParams(req, url, body);
    if (!params) {
      answer(400, 'unparsable body');
      return;
    }

    if (kind === 'message') {
      const message = params.message;
      if (typeof message !== 'string' && typeof message !== 'number') {
        answer(400, 'missing message');
        return;
      }
      const text = String(message);
      rec.message = text;
      rec.replyTo = phpInt(params.replyTo);
      rec.referenceId = params.referenceId === undefined ? undefined : String(params.referenceId);
      rec.silent = params.silent === undefined ? undefined : phpBool(params.silent);
      if (phpTrim(text) === '') {
        answer(400, 'empty message');
        return;
      }
      const bad = this.checkHeaders(random, signature);
      if (bad) {
        answer(400, bad);
        return;
      }
      const bot = this.verify(token, random as string, signature as string, text);
      if (!bot) {
        this.registerAttempt(ip);
        answer(401, 'no bot in this conversation verifies the signature');
        return;
      }
      rec.verified = true;
      rec.bot = bot.name;
      if (rec.replyTo !== 0) {
        const parent = this.messages.get(String(rec.replyTo));
        if (!parent || parent.token !== token) {
          answer(400, 'replyTo is not a message of this conversation');
          return;
        }
      }
      if ([...text].length > TALK_MAX_MESSAGE_LENGTH) {
        answer(413, 'message too long');
        return;
      }
      const id = String(this.nextId++);
      const actor = splitActor(talkBotActorId(bot.url));
      this.messages.set(id, {
        id,
        token,
        actorType: actor.type,
        actorId: actor.id,
        actorName: bot.name,
        message: text,
        parameters: {},
        replyTo: rec.replyTo ? String(rec.replyTo) : undefined,
        referenceId: rec.referenceId,
        silent: rec.silent,
        reactions: new Map(),
      });
      rec.messageId = id;
      answer(201, 'created');
      return;
    }

    // reaction
    const reaction = params.reaction === undefined ? '' : String(params.reaction);
    rec.reaction = reaction;
    const bad = this.checkHeaders(random, signature);
    if (bad) {
      answer(400, bad);
      return;
    }
    const bot = this.verify(token, random as string, signature as string, reaction);
    if (!bot) {
      this.registerAttempt(ip);
      answer(401, 'no bot in this conversation verifies the signature');
      return;
    }
    rec.verified = true;
    rec.bot = bot.name;
    const msg = this.messages.get(String(phpInt(targetId)));
    if (!msg || msg.token !== token) {
      answer(404, 'message not found in this conversation');
      return;
    }
    if (phpTrim(reaction) === '') {
      answer(req.method === 'DELETE' ? 404 : 400, 'reaction not supported');
      return;
    }
    const actor = talkBotActorId(bot.url);
    const set = msg.reactions.get(reaction) ?? new Set<string>();
    if (req.method === 'POST') {
      if (set.has(actor)) {
        answer(200, 'reaction already exists');
        return;
      }
      set.add(actor);
      msg.reactions.set(reaction, set);
      answer(201, 'reacted');
      return;
    }
    if (!set.delete(actor)) {
      answer(404, 'reaction not found');
      return;
    }
    if (set.size === 0) msg.reactions.delete(reaction);
    answer(200, 'reaction deleted');
  }

  /** getBotFromHeaders(): random must be >= 32 bytes, a signature must be present. */
  private checkHeaders(random: string | undefined, signature: string | undefined): string | undefined {
    if (!random || random === '0' || Buffer.byteLength(random, 'utf8') < 32)
      return 'invalid random (missing or shorter than 32)';
    if (!signature || signature === '0') return 'missing signature';
    return undefined;
  }

  private verify(token: string, random: string, signature: string, data: string): BotState | undefined {
    for (const bot of this.bots.values()) {
      if (!bot.conversations.has(token) || !bot.features.has('response')) continue;
      if (signatureMatches(hmacSha256Hex(bot.secret, random + data), signature)) return bot;
    }
    return undefined;
  }

  private liveAttempts(ip: string): number[] {
    const cutoff = Date.now() - this.opts.bruteForceWindowMs;
    const list = (this.attempts.get(ip) ?? []).filter((t) => t > cutoff);
    this.attempts.set(ip, list);
    return list;
  }

  private registerAttempt(ip: string): void {
    this.liveAttempts(ip).push(Date.now());
  }

  private record(rec: TalkRecordedReply): void {
    this.replies.push(rec);
    if (this.replies.length > 10_000) this.replies.shift();
    this.replyWaiters.notify(rec);
  }

  /** OCS v2 envelope: meta.statuscode mirrors the HTTP status; message "OK" on success. */
  private ocs(
    req: http.IncomingMessage,
    url: URL,
    res: http.ServerResponse,
    status: number,
    data: unknown,
    message?: string,
    headers: Record<string, string> = {},
  ): void {
    const ok = status >= 200 && status < 300;
    const envelope = {
      ocs: {
        meta: { status: ok ? 'ok' : 'failure', statuscode: status, message: message ?? (ok ? 'OK' : '') },
        data,
      },
    };
    const format = url.searchParams.get('format');
    const accept = headerValue(req, 'accept') ?? '';
    const json = format === 'json' || (format !== 'xml' && accept.includes('application/json'));
    if (json) {
      send(
        res,
        status,
        phpJsonEncode(envelope, { hexTag: true }),
        'application/json; charset=utf-8',
        headers,
      );
    } else {
      send(
        res,
        status,
        `<?xml version="1.0"?>\n${toXml(envelope.ocs, 'ocs', 0)}`,
        'application/xml; charset=utf-8',
        headers,
      );
    }
  }
}
