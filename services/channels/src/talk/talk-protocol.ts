// Nextcloud Talk bot protocol (bots-v1): webhook verification, Activity Streams parsing, reply signing
// and splitting. Pure functions; no I/O.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Talk refuses chat messages longer than this (characters, mb_strlen). */
export const TALK_MAX_MESSAGE_CHARS = 32_000;
/** Talk sends 64; Talk itself refuses bot randoms shorter than 32. */
export const TALK_MIN_RANDOM_LENGTH = 32;

export const hmacSha256Hex = (secret: string, data: Buffer | string): string =>
  createHmac('sha256', secret).update(data).digest('hex');

export type WebhookCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks the three Talk headers against the raw body bytes, before anything is parsed. The signature
 * is HMAC-SHA256(secret, random + raw body) in lowercase hex, compared in constant time.
 */
export function verifyTalkWebhook(
  headers: { random?: string; signature?: string; backend?: string },
  rawBody: Buffer,
  channel: { secret: string; baseUrl: string },
): WebhookCheck {
  const { random, signature, backend } = headers;
  if (!random) return { ok: false, reason: 'missing X-Nextcloud-Talk-Random' };
  if (random.length < TALK_MIN_RANDOM_LENGTH || random.length > 1024)
    return { ok: false, reason: 'X-Nextcloud-Talk-Random has an implausible length' };
  if (!signature) return { ok: false, reason: 'missing X-Nextcloud-Talk-Signature' };
  if (!backend) return { ok: false, reason: 'missing X-Nextcloud-Talk-Backend' };
  if (backend.trim().replace(/\/+$/, '').toLowerCase() !== channel.baseUrl.toLowerCase())
    return { ok: false, reason: 'X-Nextcloud-Talk-Backend is not the configured Nextcloud' };
  const expected = createHmac('sha256', channel.secret).update(random, 'utf8').update(rawBody).digest();
  const given = /^[0-9a-fA-F]{64}$/.test(signature) ? Buffer.from(signature, 'hex') : undefined;
  if (!given || !timingSafeEqual(expected, given)) return { ok: false, reason: 'bad signature' };
  return { ok: true };
}

export interface TalkMessage {
  kind: 'message';
  conversation: string;
  conversationName?: string;
  messageId: string;
  /** Talk actor id as sent: `users/<uid>`, `guests/<hash>`, `federated_users/…`. */
  actorId: string;
  actorName?: string;
  text: string;
  /** Id of the message this one answers, when Talk says so. */
  inReplyTo?: string;
}

export interface TalkIgnored {
  kind: 'ignored';
  reason: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;

/** Actor types and id prefixes that are never people: they never start a turn. */
const NON_PERSON_ACTOR_TYPES = new Set(['application', 'service']);
const NON_PERSON_ID_PREFIXES = ['bots/', 'bridged/', 'changelog/', 'cli/', 'system/', 'deleted_users/'];

/**
 * Reads a verified webhook body. Only a `Create` of a `Note` by a person is a message; system messages
 * (`Activity`), Join/Leave, reactions (Like/Undo: their actor is the message author, not the reactor)
 * and bots never are.
 */
export function parseTalkActivity(body: unknown): TalkMessage | TalkIgnored {
  if (!isObject(body)) return { kind: 'ignored', reason: 'body is not an object' };
  const type = str(body.type);
  if (type !== 'Create') return { kind: 'ignored', reason: `activity type ${type ?? '(none)'}` };
  const actor = body.actor;
  const object = body.object;
  const target = body.target;
  if (!isObject(actor) || !isObject(object) || !isObject(target))
    return { kind: 'ignored', reason: 'Create without actor, object or target' };
  if (str(object.type) !== 'Note')
    return { kind: 'ignored', reason: `object type ${str(object.type) ?? '(none)'}` };
  const actorId = str(actor.id);
  const actorType = (str(actor.type) ?? '').toLowerCase();
  if (!actorId || !actorId.includes('/')) return { kind: 'ignored', reason: 'actor without an id' };
  if (NON_PERSON_ACTOR_TYPES.has(actorType) || NON_PERSON_ID_PREFIXES.some((p) => actorId.startsWith(p)))
    return { kind: 'ignored', reason: `actor ${actorType || actorId.split('/')[0]} is not a person` };
  const conversation = str(target.id);
  const messageId = str(object.id);
  if (!conversation || !messageId)
    return { kind: 'ignored', reason: 'Create without conversation or message id' };
  const content = str(object.content);
  if (content === undefined) return { kind: 'ignored', reason: 'Note without content' };
  let text: string;
  try {
    const parsed: unknown = JSON.parse(content);
    if (!isObject(parsed) || typeof parsed.message !== 'string')
      return { kind: 'ignored', reason: 'content without message' };
    text = renderParameters(parsed.message, parsed.parameters);
  } catch {
    return { kind: 'ignored', reason: 'content is not JSON' };
  }
  let inReplyTo: string | undefined;
  if (isObject(object.inReplyTo)) {
    const parent = object.inReplyTo;
    inReplyTo = str(isObject(parent.object) ? parent.object.id : parent.id);
  }
  return {
    kind: 'message',
    conversation,
    conversationName: str(target.name),
    messageId,
    actorId,
    actorName: str(actor.name),
    text,
    inReplyTo,
  };
}

/** Replaces `{mention-user1}`-style placeholders by the rich object's name; `[]` means none. */
export function renderParameters(message: string, parameters: unknown): string {
  if (!isObject(parameters)) return message;
  return message.replace(/\{([A-Za-z0-9_-]+)\}/g, (whole, key: string) => {
    const p = parameters[key];
    if (!isObject(p)) return whole;
    const name = str(p.name);
    if (!name) return whole;
    return str(p.type) === 'user' || key.startsWith('mention') ? `@${name}` : name;
  });
}

export type ApprovalCommand = { decision: 'approve' | 'deny'; approval: string };

/** `approve <id>` / `deny <id>` on its own (case-insensitive, surrounding whitespace ignored). */
export function parseApprovalCommand(text: string): ApprovalCommand | undefined {
  const m = /^\s*(approve|deny)\s+([A-Za-z0-9][A-Za-z0-9_-]{0,127})\s*$/i.exec(text);
  return m ? { decision: m[1].toLowerCase() as 'approve' | 'deny', approval: m[2] } : undefined;
}

/** A random for X-Nextcloud-Talk-Bot-Random: 64 hex characters. */
export const replyRandom = (): string => randomBytes(32).toString('hex');

export function signReply(secret: string, message: string): { random: string; signature: string } {
  const random = replyRandom();
  return { random, signature: hmacSha256Hex(secret, random + message) };
}

/**
 * Splits a message into parts of at most `max` characters (code points, as Talk counts), preferring
 * paragraph, then line, then word boundaries, never splitting a surrogate pair.
 */
export function splitMessage(text: string, max = TALK_MAX_MESSAGE_CHARS): string[] {
  const chars = [...text];
  if (chars.length <= max) return [text];
  const parts: string[] = [];
  let start = 0;
  while (chars.length - start > max) {
    const window = chars.slice(start, start + max).join('');
    let cut = -1;
    for (const sep of ['\n\n', '\n', ' ']) {
      const at = window.lastIndexOf(sep);
      if (at > max / 2) {
        cut = [...window.slice(0, at + sep.length)].length;
        break;
      }
    }
    if (cut <= 0) cut = max;
    parts.push(chars.slice(start, start + cut).join(''));
    start += cut;
  }
  parts.push(chars.slice(start).join(''));
  return parts.filter((p) => p.trim() !== '');
}

/** Talk message ids are integers; replyTo takes only those. */
export function talkReplyTo(inReplyTo: string | undefined): number | undefined {
  if (!inReplyTo || !/^[1-9]\d{0,15}$/.test(inReplyTo)) return undefined;
  return Number(inReplyTo);
}
