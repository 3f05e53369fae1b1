import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { phpJsonEncode, sha1Hex } from './php-json';
import { TALK_MAX_MESSAGE_LENGTH, TalkStandin, talkBotActorId } from './talk.standin';

const SECRET = 'a-shared-secret-of-at-least-forty-characters-0123456789';
const OCS = '/ocs/v2.php/apps/spreed/api/v1/bot';

const hmac = (secret: string, data: string) => createHmac('sha256', secret).update(data).digest('hex');
const rnd = (n = 64) => 'R'.repeat(n);

interface Received {
  headers: http.IncomingHttpHeaders;
  raw: string;
}

/** A minimal bot: records what Talk POSTs and answers `status` (or never, when status is 0). */
async function startBot(
  status = 200,
): Promise<{ url: string; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') });
      if (status === 0) return; // hang
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
  return {
    url,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

describe('TalkStandin', () => {
  let talk: TalkStandin;
  let bot: Awaited<ReturnType<typeof startBot>>;
  let base: string;

  beforeEach(async () => {
    bot = await startBot();
    talk = new TalkStandin({
      conversations: [
        { token: 'room1', name: 'Room / One' },
        { token: 'room2', name: 'Other' },
      ],
      bots: [{ name: 'palisade', secret: SECRET, url: bot.url, conversations: ['room1', 'room2'] }],
    });
    base = (await talk.start()).url;
  });

  afterEach(async () => {
    await talk.stop();
    await bot.close();
  });

  /** A bot reply as a correct client sends it. */
  function reply(
    token: string,
    body: Record<string, unknown>,
    opts: {
      random?: string;
      signature?: string;
      secret?: string;
      headers?: Record<string, string>;
      signed?: string;
    } = {},
  ) {
    const random = opts.random ?? rnd();
    const signed = opts.signed ?? String(body.message ?? '');
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      'OCS-APIRequest': 'true',
      'X-Nextcloud-Talk-Bot-Random': random,
      'X-Nextcloud-Talk-Bot-Signature': opts.signature ?? hmac(opts.secret ?? SECRET, random + signed),
      ...opts.headers,
    };
    return fetch(`${base}${OCS}/${token}/message`, { method: 'POST', headers, body: JSON.stringify(body) });
  }

  describe('webhooks sent to the bot', () => {
    it('signs the raw PHP-encoded bytes and builds the Activity Streams body like Talk', async () => {
      const r = await talk.sendMessage({
        conversationToken: 'room1',
        actorId: 'users/alice',
        actorName: 'Alice',
        text: 'see https://example.org/ café 😀 <b>',
      });
      expect(r.status).toBe(200);
      expect(r.ok).toBe(true);
      expect(bot.received).toHaveLength(1);
      const { headers, raw } = bot.received[0];

      const random = headers['x-nextcloud-talk-random'] as string;
      expect(random).toMatch(/^[A-Za-z0-9+/]{64}$/);
      expect(headers['x-nextcloud-talk-signature']).toBe(hmac(SECRET, random + raw));
      expect(headers['x-nextcloud-talk-backend']).toBe(`${base}/`);
      expect(headers['ocs-apirequest']).toBe('true');
      expect(headers['content-type']).toBe('application/json');

      // PHP escaping: "\/" and lowercase \uXXXX (surrogate pairs for astral characters), in both layers.
      expect(raw).toContain('"name":"Room \\/ One"');
      expect(raw).toContain('https:\\\\\\/\\\\\\/example.org\\\\\\/');
      expect(raw).toContain('caf\\\\u00e9');
      expect(raw).toContain('\\\\ud83d\\\\ude00');
      expect([...raw].every((c) => c.charCodeAt(0) < 0x80)).toBe(true);
      // Re-serialising the parsed body does not give the signed bytes back.
      expect(JSON.stringify(JSON.parse(raw))).not.toBe(raw);

      const body = JSON.parse(raw);
      expect(body).toEqual({
        type: 'Create',
        actor: { type: 'Person', id: 'users/alice', name: 'Alice', talkParticipantType: '3' },
        object: {
          type: 'Note',
          id: r.messageId,
          name: 'message',
          content: expect.any(String),
          mediaType: 'text/markdown',
        },
        target: { type: 'Collection', id: 'room1', name: 'Room / One' },
      });
      expect(Object.keys(body)).toEqual(['type', 'actor', 'object', 'target']);
      expect(typeof body.object.id).toBe('string');
      expect(body.object.content).toBe(
        phpJsonEncode({ message: 'see https://example.org/ café 😀 <b>', parameters: [] }),
      );
      expect(JSON.parse(body.object.content)).toEqual({
        message: 'see https://example.org/ café 😀 <b>',
        parameters: [],
      });
      expect(r.rawBody).toBe(raw);
    });

    it('phpJson:false sends plain JSON.stringify bytes (still correctly signed); parameters stay an object when set', async () => {
      await talk.sendMessage({
        conversationToken: 'room1',
        text: 'a/b é',
        parameters: { file: { type: 'file', id: '1', name: 'x.txt' } },
        phpJson: false,
      });
      const { headers, raw } = bot.received[0];
      expect(raw).toContain('a/b é');
      expect(headers['x-nextcloud-talk-signature']).toBe(
        hmac(SECRET, headers['x-nextcloud-talk-random'] + raw),
      );
      expect(JSON.parse(JSON.parse(raw).object.content).parameters).toEqual({
        file: { type: 'file', id: '1', name: 'x.txt' },
      });
    });

    it('can send a wrong signature, a replay, an oversize body and honours the 5 s style timeout', async () => {
      const bad = await talk.sendMessage({ conversationToken: 'room1', text: 'x', wrongSignature: true });
      expect(bad.signature).not.toBe(hmac(SECRET, bad.random + bad.rawBody));

      const first = await talk.sendMessage({ conversationToken: 'room1', text: 'pay 100' });
      const again = await talk.resend(first);
      expect(again.status).toBe(200);
      expect(bot.received[2].raw).toBe(bot.received[1].raw);
      expect(bot.received[2].headers['x-nextcloud-talk-random']).toBe(
        bot.received[1].headers['x-nextcloud-talk-random'],
      );
      expect(bot.received[2].headers['x-nextcloud-talk-signature']).toBe(first.signature);

      const big = await talk.sendMessage({ conversationToken: 'room1', text: 'big', oversizeBytes: 200_000 });
      expect(Buffer.byteLength(big.rawBody)).toBeGreaterThanOrEqual(200_000);
      expect(big.signature).toBe(hmac(SECRET, big.random + big.rawBody));

      const hanging = await startBot(0);
      try {
        const t = await talk.sendMessage({
          conversationToken: 'room1',
          botUrl: hanging.url,
          secret: SECRET,
          text: 'hi',
          timeoutMs: 150,
        });
        expect(t.status).toBe(0);
        expect(t.ok).toBe(false);
        expect(t.error).toMatch(/timeout/);
      } finally {
        await hanging.close();
      }
    });

    it('builds replies (inReplyTo), Activity, Join/Leave and Like/Undo like Talk', async () => {
      const parent = await talk.sendMessage({
        conversationToken: 'room1',
        actorId: 'users/bob',
        actorName: 'Bob',
        text: 'parent',
      });
      await talk.sendMessage({ conversationToken: 'room1', text: 'child', inReplyTo: parent.messageId });
      const child = JSON.parse(bot.received[1].raw);
      expect(child.object.inReplyTo).toEqual({
        type: 'Note',
        actor: { type: 'Person', id: 'users/bob', name: 'Bob' },
        object: {
          type: 'Note',
          id: parent.messageId,
          name: 'message',
          content: '{"message":"parent","parameters":[]}',
          mediaType: 'text/markdown',
        },
      });

      await talk.sendMessage({
        conversationToken: 'room1',
        type: 'Activity',
        actorId: 'users/alice',
        text: '{actor} added {user}',
        systemMessage: 'user_added',
      });
      const activity = JSON.parse(bot.received[2].raw);
      expect(activity.type).toBe('Activity');
      expect(activity.object.name).toBe('user_added');
      expect(activity.actor.talkParticipantType).toBeUndefined();

      const join = await talk.joinBot('palisade', 'room2');
      expect(join.status).toBe(200);
      const joinBody = JSON.parse(bot.received[3].raw);
      expect(joinBody).toEqual({
        type: 'Join',
        actor: { type: 'Application', id: `bots/bot-${sha1Hex(bot.url)}`, name: 'palisade' },
        object: { type: 'Collection', id: 'room2', name: 'Other' },
      });

      // The reaction webhook names the *author* of the message, not who reacted.
      await talk.sendMessage({
        conversationToken: 'room1',
        type: 'Like',
        messageId: parent.messageId,
        actorId: 'users/alice',
        reaction: '👍',
      });
      const like = JSON.parse(bot.received[4].raw);
      expect(like.type).toBe('Like');
      expect(like.actor).toEqual({ type: 'Person', id: 'users/bob', name: 'Bob' });
      expect(like.content).toBe('👍');
      expect(bot.received[4].raw).toContain('"content":"\\ud83d\\udc4d"');
      await talk.sendMessage({
        conversationToken: 'room1',
        type: 'Undo',
        messageId: parent.messageId,
        reaction: '👍',
      });
      const undo = JSON.parse(bot.received[5].raw);
      expect(undo.object.type).toBe('Like');
      expect(undo.object.content).toBe('👍');

      await talk.leaveBot('palisade', 'room2');
      expect(JSON.parse(bot.received[6].raw).type).toBe('Leave');
    });
  });

  describe('bot API (replies)', () => {
    it('accepts a correctly signed reply with 201 and an OCS envelope, and records it', async () => {
      const res = await reply('room1', { message: 'Hello from the bot', referenceId: 'ref-1' });
      expect(res.status).toBe(201);
      expect(await res.json()).toEqual({
        ocs: { meta: { status: 'ok', statuscode: 201, message: 'OK' }, data: null },
      });
      const rec = await talk.waitForReply((r) => r.message === 'Hello from the bot', 1000);
      expect(rec).toMatchObject({
        kind: 'message',
        token: 'room1',
        verified: true,
        status: 201,
        bot: 'palisade',
        referenceId: 'ref-1',
      });
      expect(talk.botMessages('room1').map((m) => m.message)).toEqual(['Hello from the bot']);
      expect(talk.getMessage(rec.messageId as string)?.actorId).toBe(
        talkBotActorId(bot.url).slice('bots/'.length),
      );
    });

    it('waitForReply also resolves for a reply that arrives later, and times out with a summary', async () => {
      const waiting = talk.waitForReply((r) => r.verified && r.message === 'later', 2000);
      await reply('room1', { message: 'later' });
      await expect(waiting).resolves.toMatchObject({ status: 201 });
      await expect(talk.waitForReply((r) => r.message === 'never', 50)).rejects.toThrow(
        /timed out after 50 ms; received 1/,
      );
    });

    it('answers 401 to a bad signature (and to a signature over the JSON body instead of the message)', async () => {
      const res = await reply('room1', { message: 'hi' }, { secret: 'wrong-secret' });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        ocs: { meta: { status: 'failure', statuscode: 401, message: '' }, data: null },
      });
      const body = { message: 'hi' };
      const overBody = await reply('room1', body, { signed: JSON.stringify(body) });
      expect(overBody.status).toBe(401);
      expect(talk.replies.map((r) => [r.status, r.verified])).toEqual([
        [401, false],
        [401, false],
      ]);
      expect(talk.bruteForceAttempts()).toBe(2);
    });

    it('answers 401 when the bot is not enabled in that conversation', async () => {
      talk.disableBot('palisade', 'room2');
      expect((await reply('room2', { message: 'hi' })).status).toBe(401);
    });

    it('after 10 failed attempts from an IP every bot request, valid ones too, gets 429', async () => {
      for (let i = 0; i < 10; i++)
        expect((await reply('room1', { message: `bad ${i}` }, { secret: 'wrong' })).status).toBe(401);
      const good = await reply('room1', { message: 'valid' });
      expect(good.status).toBe(429);
      expect(await good.json()).toEqual({
        ocs: { meta: { status: 'failure', statuscode: 429, message: 'Reached maximum delay' }, data: [] },
      });
      const reaction = await fetch(`${base}${OCS}/room1/reaction/1`, {
        method: 'POST',
        headers: { 'OCS-APIRequest': 'true', 'Content-Type': 'application/json' },
        body: '{"reaction":"👍"}',
      });
      expect(reaction.status).toBe(429);

      talk.resetBruteForce();
      expect((await reply('room1', { message: 'valid' })).status).toBe(201);
    });

    it('can be scripted per test: the next N matching requests get a fixed status and Retry-After', async () => {
      talk.scriptReply({ status: 429, retryAfter: 7, token: 'room2' });
      talk.scriptReply({ status: 503, count: 2, kind: 'message' });
      const limited = await reply('room2', { message: 'first' });
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('7');
      expect((await reply('room1', { message: 'a' })).status).toBe(503);
      expect((await reply('room1', { message: 'b' })).status).toBe(503);
      expect((await reply('room1', { message: 'c' })).status).toBe(201);
      expect(talk.replies.map((r) => [r.status, r.message])).toEqual([
        [429, 'first'],
        [503, 'a'],
        [503, 'b'],
        [201, 'c'],
      ]);
      // A scripted answer is no brute-force attempt and leaves Talk's own checks to later requests.
      expect(talk.bruteForceAttempts()).toBe(0);
    });

    it('counts attempts per caller IP (X-Forwarded-For when trusted)', async () => {
      const t2 = new TalkStandin({
        trustForwardedFor: true,
        bruteForceMaxAttempts: 2,
        bots: [{ name: 'b', secret: SECRET, url: bot.url, conversations: ['r'] }],
      });
      const { url } = await t2.start();
      try {
        const post = (ip: string, secret: string) => {
          const random = rnd();
          return fetch(`${url}${OCS}/r/message`, {
            method: 'POST',
            headers: {
              'Content-Type': 'application/json',
              'OCS-APIRequest': 'true',
              'X-Forwarded-For': ip,
              'X-Nextcloud-Talk-Bot-Random': random,
              'X-Nextcloud-Talk-Bot-Signature': hmac(secret, random + 'm'),
            },
            body: '{"message":"m"}',
          });
        };
        expect((await post('10.0.0.1', 'x')).status).toBe(401);
        expect((await post('10.0.0.1', 'x')).status).toBe(401);
        expect((await post('10.0.0.1', SECRET)).status).toBe(429);
        expect((await post('10.0.0.2', SECRET)).status).toBe(201);
      } finally {
        await t2.stop();
      }
    });

    it('answers 400 to a short or missing random and a missing signature', async () => {
      expect((await reply('room1', { message: 'hi' }, { random: rnd(31) })).status).toBe(400);
      expect((await reply('room1', { message: 'hi' }, { random: rnd(32) })).status).toBe(201);
      expect(
        (await reply('room1', { message: 'hi' }, { headers: { 'X-Nextcloud-Talk-Bot-Random': '' } })).status,
      ).toBe(400);
      expect((await reply('room1', { message: 'hi' }, { signature: '' })).status).toBe(400);
      expect(talk.bruteForceAttempts()).toBe(0);
    });

    it('answers 413 over 32000 characters (counted as characters, not bytes)', async () => {
      expect((await reply('room1', { message: 'x'.repeat(TALK_MAX_MESSAGE_LENGTH + 1) })).status).toBe(413);
      expect((await reply('room1', { message: 'é'.repeat(TALK_MAX_MESSAGE_LENGTH) })).status).toBe(201);
      // The signature is checked first: an oversize message with a bad signature is a 401.
      expect((await reply('room1', { message: 'x'.repeat(32001) }, { secret: 'nope' })).status).toBe(401);
    });

    it('answers 400 to an empty message and to a replyTo that is unknown or from another room', async () => {
      expect((await reply('room1', { message: '  \n' })).status).toBe(400);
      expect((await reply('room1', { message: 'r', replyTo: 999_999 })).status).toBe(400);
      const other = talk.registerMessage({ token: 'room2', text: 'elsewhere' });
      expect((await reply('room1', { message: 'r', replyTo: Number(other.id) })).status).toBe(400);
      const sent = await talk.sendMessage({ conversationToken: 'room1', text: 'question' });
      expect(
        (await reply('room1', { message: 'answer', replyTo: Number(sent.messageId), silent: true })).status,
      ).toBe(201);
      expect(talk.replies.at(-1)).toMatchObject({
        replyTo: Number(sent.messageId),
        silent: true,
        verified: true,
      });
    });

    it('refuses a request without OCS-APIRequest (412 CSRF) and renders XML unless JSON is asked for', async () => {
      const csrf = await reply('room1', { message: 'hi' }, { headers: { 'OCS-APIRequest': '' } });
      expect(csrf.status).toBe(412);
      expect(await csrf.json()).toEqual({ message: 'CSRF check failed' });

      const xml = await reply('room1', { message: 'hi' }, { headers: { Accept: '*/*' } });
      expect(xml.status).toBe(201);
      expect(xml.headers.get('content-type')).toMatch(/application\/xml/);
      expect(await xml.text()).toBe(
        '<?xml version="1.0"?>\n<ocs>\n <meta>\n  <status>ok</status>\n  <statuscode>201</statuscode>\n  <message>OK</message>\n </meta>\n <data/>\n</ocs>\n',
      );
    });

    it('never crashes on bad input: malformed JSON, missing message, unknown routes, oversize bodies', async () => {
      const random = rnd();
      const bad = await fetch(`${base}${OCS}/room1/message`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'OCS-APIRequest': 'true',
          Accept: 'application/json',
          'X-Nextcloud-Talk-Bot-Random': random,
          'X-Nextcloud-Talk-Bot-Signature': 'x',
        },
        body: '{not json',
      });
      expect(bad.status).toBe(400);
      expect((await reply('room1', { text: 'no message field' })).status).toBe(400);
      const unknown = await fetch(`${base}/ocs/v2.php/apps/spreed/api/v1/nothing`, {
        headers: { Accept: 'application/json' },
      });
      expect(unknown.status).toBe(404);

      const small = new TalkStandin({
        maxBodyBytes: 1024,
        bots: [{ name: 'b', secret: SECRET, url: bot.url, conversations: ['r'] }],
      });
      const { url } = await small.start();
      try {
        const big = await fetch(`${url}${OCS}/r/message`, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'OCS-APIRequest': 'true',
            Accept: 'application/json',
          },
          body: JSON.stringify({ message: 'x'.repeat(5000) }),
        });
        expect(big.status).toBe(413);
      } finally {
        await small.stop();
      }
      expect((await reply('room1', { message: 'still alive' })).status).toBe(201);
    });

    it('handles signed reactions: 201 added, 200 already there, 200 deleted, 404 gone, 401 bad signature', async () => {
      const target = await talk.sendMessage({ conversationToken: 'room1', text: 'approve?' });
      const react = (method: string, reaction: string, secret = SECRET, id = target.messageId) => {
        const random = rnd();
        return fetch(`${base}${OCS}/room1/reaction/${id}`, {
          method,
          headers: {
            'Content-Type': 'application/json',
            Accept: 'application/json',
            'OCS-APIRequest': 'true',
            'X-Nextcloud-Talk-Bot-Random': random,
            'X-Nextcloud-Talk-Bot-Signature': hmac(secret, random + reaction),
          },
          body: JSON.stringify({ reaction }),
        });
      };
      expect((await react('POST', '👍')).status).toBe(201);
      expect((await react('POST', '👍')).status).toBe(200);
      expect([...(talk.getMessage(target.messageId as string)?.reactions.keys() ?? [])]).toEqual(['👍']);
      expect((await react('DELETE', '👍')).status).toBe(200);
      expect((await react('DELETE', '👍')).status).toBe(404);
      expect((await react('POST', '👍', 'wrong')).status).toBe(401);
      expect((await react('POST', '👍', SECRET, '424242')).status).toBe(404);
      expect(talk.replies.filter((r) => r.kind === 'reaction').map((r) => r.status)).toEqual([
        201, 200, 200, 404, 401, 404,
      ]);
    });
  });
});

describe('TalkStandin over HTTPS (Nextcloud is reached on 443 in a deployment)', () => {
  it('serves the bot API with the given certificate; a client trusting the CA gets its signed reply recorded', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const https = await import('node:https');
    const { createTestCa } = await import('../tls/test-ca');
    const dir = mkdtempSync(join(tmpdir(), 'talk-tls-'));
    const ca = await createTestCa(join(dir, 'ca'));
    const talk = new TalkStandin({ tls: { cert: ca.cert, key: ca.key }, bots: [{ name: 'palisade', secret: SECRET, url: 'https://127.0.0.1:9/bot', conversations: ['room1'] }], conversations: [{ token: 'room1' }] });
    try {
      const { url } = await talk.start();
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const random = rnd();
      const body = JSON.stringify({ message: 'reply over TLS' });
      const post = (ca?: string) =>
        new Promise<number>((resolve, reject) => {
          const req = https.request(
            `${url}${OCS}/room1/message`,
            {
              method: 'POST',
              ...(ca ? { ca } : {}),
              headers: { 'Content-Type': 'application/json', 'OCS-APIRequest': 'true', 'X-Nextcloud-Talk-Bot-Random': random, 'X-Nextcloud-Talk-Bot-Signature': hmac(SECRET, random + 'reply over TLS') },
            },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on('error', reject);
          req.end(body);
        });
      await expect(post()).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
      expect(await post(ca.caCert)).toBe(201);
      expect(await talk.waitForReply((r) => r.message === 'reply over TLS', 1000)).toMatchObject({ verified: true, status: 201 });
      // Plain HTTP to the TLS port is not served.
      await expect(fetch(url.replace('https:', 'http:') + `${OCS}/room1/message`, { method: 'POST', body })).rejects.toThrow();
    } finally {
      await talk.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
