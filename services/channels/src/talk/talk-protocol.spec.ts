import { createHmac } from 'node:crypto';
import { AuditLimiter } from '../audit-limiter';
import {
  parseApprovalCommand,
  parseTalkActivity,
  renderParameters,
  signReply,
  splitMessage,
  talkReplyTo,
  verifyTalkWebhook,
} from './talk-protocol';

const SECRET = 'a-shared-secret-of-at-least-forty-characters-0123456789';
const channel = { secret: SECRET, baseUrl: 'https://cloud.example' };
const random = 'R'.repeat(64);
const sign = (body: string | Buffer, r = random, secret = SECRET) =>
  createHmac('sha256', secret).update(r).update(body).digest('hex');

// Bytes as PHP's json_encode sends them: "\/" and "\u00e9"; re-serialising would change them.
const PHP_BODY =
  '{"type":"Create","actor":{"type":"Person","id":"users\\/alice","name":"Alic\\u00e9","talkParticipantType":"3"},' +
  '"object":{"type":"Note","id":"1234","name":"message","content":"{\\"message\\":\\"hi \\\\\\/ there\\",\\"parameters\\":[]}","mediaType":"text\\/markdown"},' +
  '"target":{"type":"Collection","id":"room1","name":"Room"}}';

describe('verifyTalkWebhook', () => {
  const raw = Buffer.from(PHP_BODY, 'utf8');
  const headers = { random, signature: sign(raw), backend: 'https://cloud.example/' };

  it('accepts the signature over the raw PHP-escaped bytes, any hex case, backend with a trailing slash', () => {
    expect(verifyTalkWebhook(headers, raw, channel)).toEqual({ ok: true });
    expect(
      verifyTalkWebhook({ ...headers, signature: headers.signature.toUpperCase() }, raw, channel).ok,
    ).toBe(true);
    expect(JSON.stringify(JSON.parse(PHP_BODY))).not.toBe(PHP_BODY);
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(PHP_BODY)));
    expect(verifyTalkWebhook(headers, reserialised, channel).ok).toBe(false);
  });

  it.each([
    ['missing random', { ...headers, random: undefined }, /Random/],
    ['short random', { ...headers, random: 'x'.repeat(31), signature: sign(raw, 'x'.repeat(31)) }, /length/],
    ['missing signature', { ...headers, signature: undefined }, /Signature/],
    ['missing backend', { ...headers, backend: undefined }, /Backend/],
    ['other backend', { ...headers, backend: 'https://evil.example/' }, /configured Nextcloud/],
    ['wrong secret', { ...headers, signature: sign(raw, random, 'other') }, /bad signature/],
    ['non-hex signature', { ...headers, signature: 'z'.repeat(64) }, /bad signature/],
    ['truncated signature', { ...headers, signature: headers.signature.slice(2) }, /bad signature/],
  ])('refuses %s', (_name, h, reason) => {
    const result = verifyTalkWebhook(h, raw, channel);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(reason);
  });
});

describe('parseTalkActivity', () => {
  const create = (over: Record<string, unknown> = {}) => ({
    type: 'Create',
    actor: { type: 'Person', id: 'users/alice', name: 'Alice' },
    object: {
      type: 'Note',
      id: '42',
      name: 'message',
      content: JSON.stringify({ message: 'hello', parameters: [] }),
    },
    target: { type: 'Collection', id: 'room1', name: 'Room' },
    ...over,
  });

  it('reads a message (parameters [] or an object) and its inReplyTo', () => {
    expect(parseTalkActivity(JSON.parse(PHP_BODY))).toMatchObject({
      kind: 'message',
      actorId: 'users/alice',
      actorName: 'Alicé',
      text: 'hi / there',
      messageId: '1234',
      conversation: 'room1',
    });
    const mention = create({
      object: {
        type: 'Note',
        id: '43',
        content: JSON.stringify({
          message: 'hi {mention-user1}',
          parameters: { 'mention-user1': { type: 'user', id: 'bob', name: 'Bob' } },
        }),
        inReplyTo: { type: 'Note', actor: {}, object: { type: 'Note', id: '42' } },
      },
    });
    expect(parseTalkActivity(mention)).toMatchObject({ text: 'hi @Bob', inReplyTo: '42' });
    expect(
      parseTalkActivity(create({ actor: { type: 'Person', id: 'guests/abc123', name: 'Guest' } })),
    ).toMatchObject({
      kind: 'message',
      actorId: 'guests/abc123',
    });
  });

  it.each([
    ['Activity (system message)', { type: 'Activity' }],
    ['Join', { type: 'Join', actor: { type: 'Application', id: 'bots/bot-1' } }],
    ['Leave', { type: 'Leave' }],
    ['Like', { type: 'Like' }],
    ['Undo', { type: 'Undo' }],
    ['a bot actor', { actor: { type: 'Person', id: 'bots/bot-abc', name: 'Bot' } }],
    ['an Application actor', { actor: { type: 'Application', id: 'users/x', name: 'x' } }],
    ['content that is not JSON', { object: { type: 'Note', id: '1', content: 'nope' } }],
  ])('never makes a message of %s', (_name, over) => {
    expect(parseTalkActivity(create(over)).kind).toBe('ignored');
  });
});

describe('replies', () => {
  it('signs random + message text', () => {
    const { random: r, signature } = signReply(SECRET, 'hello');
    expect(r).toMatch(/^[0-9a-f]{64}$/);
    expect(signature).toBe(sign('hello', r));
  });

  it('splits over 32,000 characters by code points, at line breaks when possible', () => {
    expect(splitMessage('short')).toEqual(['short']);
    const long = `${'a'.repeat(20_000)}\n${'b'.repeat(20_000)}`;
    const parts = splitMessage(long);
    expect(parts).toHaveLength(2);
    expect(parts.join('')).toBe(long);
    const emoji = '😀'.repeat(32_001);
    const e = splitMessage(emoji);
    expect(e.map((p) => [...p].length)).toEqual([32_000, 1]);
    expect(e.join('')).toBe(emoji);
  });

  it('passes only integer message ids as replyTo', () => {
    expect(talkReplyTo('4711')).toBe(4711);
    expect(talkReplyTo('0')).toBeUndefined();
    expect(talkReplyTo('abc')).toBeUndefined();
    expect(talkReplyTo(undefined)).toBeUndefined();
  });

  it('renders parameters only when they are an object', () => {
    expect(renderParameters('{file}', [])).toBe('{file}');
    expect(renderParameters('see {file}', { file: { type: 'file', name: 'a.txt' } })).toBe('see a.txt');
  });
});

describe('approval commands and the audit limiter', () => {
  it('recognises approve/deny <id> only on their own', () => {
    expect(parseApprovalCommand(' Approve 0190abcd-ef ')).toEqual({
      decision: 'approve',
      approval: '0190abcd-ef',
    });
    expect(parseApprovalCommand('deny x1')).toEqual({ decision: 'deny', approval: 'x1' });
    expect(parseApprovalCommand('please approve x1')).toBeUndefined();
    expect(parseApprovalCommand('approve')).toBeUndefined();
  });

  it('lets N per minute through and reports the suppressed ones with the next', () => {
    let t = 0;
    const limiter = new AuditLimiter(2, () => t);
    expect(limiter.take('c')).toEqual({ suppressedBefore: 0 });
    expect(limiter.take('c')).toEqual({ suppressedBefore: 0 });
    expect(limiter.take('c')).toBeUndefined();
    expect(limiter.take('c')).toBeUndefined();
    expect(limiter.take('other')).toEqual({ suppressedBefore: 0 });
    t = 60_000;
    expect(limiter.take('c')).toEqual({ suppressedBefore: 2 });
    expect(limiter.take('c')).toEqual({ suppressedBefore: 0 });
  });
});
