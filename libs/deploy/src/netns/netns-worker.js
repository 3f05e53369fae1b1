// Runs inside one network namespace (`ip netns exec <ns> node netns-worker.js <name>`), driven by JSON
// lines on stdin; answers JSON lines on stdout. Used by the network-namespace proof of the layout:
// real TCP/UDP/TLS listeners, real probes, and a real NATS client (for the SOC flow).
'use strict';
const net = require('node:net');
const tls = require('node:tls');
const dgram = require('node:dgram');
const fs = require('node:fs');
const readline = require('node:readline');

const name = process.argv[2] || 'ns';
const servers = [];
const nats = {};
const send = (message) => process.stdout.write(JSON.stringify(message) + '\n');

function listen({ proto, port, host = '0.0.0.0', tls: tlsFiles }) {
  const greeting = `hello from ${name}:${port}\n`;
  return new Promise((resolve, reject) => {
    if (proto === 'udp') {
      const socket = dgram.createSocket('udp4');
      socket.on('message', (_msg, rinfo) => socket.send(greeting, rinfo.port, rinfo.address));
      socket.once('error', reject);
      socket.bind(port, host, () => resolve(servers.push(socket)));
      return;
    }
    const onConnection = (socket) => {
      socket.on('error', () => undefined);
      socket.end(greeting);
    };
    const server = tlsFiles
      ? tls.createServer({ cert: fs.readFileSync(tlsFiles.cert), key: fs.readFileSync(tlsFiles.key) }, onConnection)
      : net.createServer(onConnection);
    server.on('tlsClientError', () => undefined);
    server.once('error', reject);
    server.listen(port, host, () => resolve(servers.push(server)));
  });
}

function probe({ proto, host, port, timeoutMs = 1500, ca, servername, connectOnly }) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok, detail, cleanup) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      cleanup();
      resolve({ ok, detail });
    };
    let cleanup = () => undefined;
    const timer = setTimeout(() => finish(false, 'timeout (no answer: dropped)', () => cleanup()), timeoutMs);
    if (proto === 'udp') {
      const socket = dgram.createSocket('udp4');
      cleanup = () => socket.close();
      socket.on('message', (msg) => finish(true, msg.toString().trim(), cleanup));
      socket.on('error', (error) => finish(false, error.code || error.message, cleanup));
      socket.send('ping', port, host);
      return;
    }
    let data = '';
    const socket = ca
      ? tls.connect({ host, port, ca: fs.readFileSync(ca), servername })
      : net.connect({ host, port });
    cleanup = () => socket.destroy();
    if (connectOnly) socket.on(ca ? 'secureConnect' : 'connect', () => finish(true, ca ? 'TLS verified; connected' : 'connected', cleanup));
    socket.on('data', (chunk) => {
      data += chunk;
      if (data.includes('\n')) finish(true, `${ca ? 'TLS verified; ' : ''}${data.trim()}`, cleanup);
    });
    socket.on('error', (error) => finish(false, error.code || error.message, cleanup));
  });
}

// Speaks the NATS protocol without TLS to a server that requires it: the server must refuse.
function natsPlain({ host, port, timeoutMs = 3000 }) {
  return new Promise((resolve) => {
    let data = '';
    let sent = false;
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => finish(), timeoutMs);
    function finish() {
      clearTimeout(timer);
      socket.destroy();
      const accepted = /\+OK|PONG/.test(data);
      const err = /-ERR[^\r\n]*/.exec(data);
      const required = /"tls_required":true/.test(data) ? 'server announced tls_required; ' : '';
      resolve({ ok: accepted, detail: accepted ? 'plain connection accepted' : `${required}plain CONNECT not accepted (${err ? err[0] : 'connection closed'})` });
    }
    socket.on('data', (chunk) => {
      data += chunk;
      if (!sent && data.includes('\r\n')) {
        sent = true;
        socket.write('CONNECT {"verbose":true,"pedantic":false,"tls_required":false}\r\nPING\r\n');
      }
    });
    socket.on('close', finish);
    socket.on('error', finish);
  });
}

async function natsConnect({ key, url, seed, user, inboxPrefix, caFile }) {
  const { connect, nkeyAuthenticator } = require('@nats-io/transport-node');
  const u = new URL(url.replace(/^tls:/, 'nats:'));
  const nc = await connect({
    servers: `${u.hostname}:${u.port}`,
    authenticator: nkeyAuthenticator(new TextEncoder().encode(fs.readFileSync(seed, 'utf8').trim())),
    inboxPrefix,
    name: `netns-${user}`,
    tls: url.startsWith('tls:') ? { caFile } : undefined,
    maxReconnectAttempts: 0,
    timeout: 3000,
  });
  nats[key] = { nc, messages: [] };
  const info = nc.info || {};
  return { ok: true, detail: `connected as ${user}${info.tls_required ? ' (server requires TLS)' : ''}` };
}

let talkStandin; // the persistent Talk stand-in of this namespace (Nextcloud's VM), once started

// An HTTPS request (the operator calling the gateway's API with a key): status and body.
function httpsRequest({ url, method = 'GET', headers = {}, body, ca, timeoutMs = 10000 }) {
  const https = require('node:https');
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      url,
      {
        method,
        ca: fs.readFileSync(ca),
        timeout: timeoutMs,
        headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ ok: res.statusCode >= 200 && res.statusCode < 300, detail: `HTTP ${res.statusCode} ${text.slice(0, 300)}` }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout (no answer: dropped)')));
    req.on('error', (error) => resolve({ ok: false, detail: error.code || error.message }));
    req.end(payload);
  });
}

// A client of the sandbox egress proxy: CONNECT host:port, then TLS to the destination through the tunnel.
function proxyConnect({ proxyHost, proxyPort, target, ca, timeoutMs = 15000 }) {
  return new Promise((resolve) => {
    let done = false;
    const socket = net.connect({ host: proxyHost, port: proxyPort });
    const finish = (ok, detail) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok, detail });
    };
    const timer = setTimeout(() => finish(false, 'timeout'), timeoutMs);
    let head = '';
    socket.on('error', (error) => finish(false, error.code || error.message));
    socket.on('connect', () => socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`));
    const onData = (chunk) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.removeListener('data', onData);
      const status = head.split('\r\n')[0];
      if (!/^HTTP\/1\.[01] 200/.test(status)) return finish(false, `proxy answered ${status}${head.slice(end + 4).trim() ? `: ${head.slice(end + 4).trim()}` : ''}`);
      const secure = tls.connect({ socket, ca: fs.readFileSync(ca), host: target.split(':')[0] });
      let data = '';
      secure.on('data', (d) => {
        data += d;
        if (data.includes('\n')) finish(true, `proxy answered ${status}; TLS verified; ${data.trim()}`);
      });
      secure.on('error', (error) => finish(false, `after ${status}: ${error.code || error.message}`));
    };
    socket.on('data', onData);
  });
}

async function handle(command) {
  switch (command.op) {
    case 'listen':
      await listen(command);
      return { ok: true };
    case 'probe':
      return probe(command);
    case 'nats-plain':
      return natsPlain(command);
    case 'nats-connect':
      return natsConnect(command);
    case 'nats-subscribe': {
      const entry = nats[command.key];
      const sub = entry.nc.subscribe(command.subject);
      (async () => {
        for await (const msg of sub) entry.messages.push({ subject: msg.subject, data: new TextDecoder().decode(msg.data) });
      })();
      await entry.nc.flush();
      return { ok: true };
    }
    case 'nats-request': {
      const entry = nats[command.key];
      try {
        const reply = await entry.nc.request(command.subject, new TextEncoder().encode(command.data), { timeout: command.timeoutMs || 5000 });
        return { ok: true, detail: new TextDecoder().decode(reply.data) };
      } catch (error) {
        return { ok: false, detail: error.message };
      }
    }
    case 'https-request':
      return httpsRequest(command);
    case 'proxy-connect':
      return proxyConnect(command);
    case 'talk-standin': {
      // Nextcloud Talk on this VM: HTTPS on 443 with a certificate from the local CA; one bot (Palisade).
      const { TalkStandin } = require(require('node:path').join(process.cwd(), 'dist', 'libs', 'testing', 'src', 'standins', 'talk.standin.js'));
      talkStandin = new TalkStandin({
        port: command.port,
        host: command.host,
        backendUrl: command.backendUrl,
        tls: { cert: fs.readFileSync(command.tls.cert), key: fs.readFileSync(command.tls.key) },
        bots: [{ name: 'palisade', secret: command.secret, url: command.url, conversations: [command.token] }],
        conversations: [{ token: command.token }],
        webhookCa: fs.readFileSync(command.ca),
      });
      const address = await talkStandin.start();
      servers.push({ close: () => talkStandin.stop() });
      return { ok: true, detail: address.url };
    }
    case 'talk-send': {
      const result = await talkStandin.sendMessage({ conversationToken: command.token, bot: 'palisade', actorId: command.actorId, text: command.text, wrongSignature: !!command.wrongSignature });
      return { ok: result.ok, detail: `HTTP ${result.status} ${result.body || result.error || ''}`.trim() };
    }
    case 'talk-wait-reply': {
      // The next bot reply in this conversation after `after` replies, as Talk recorded it (signature checked).
      try {
        const reply = await talkStandin.waitForReply((r) => r.token === command.token && talkStandin.replies.indexOf(r) >= (command.after || 0), command.timeoutMs || 20000);
        return { ok: reply.verified && reply.status === 201, detail: JSON.stringify({ status: reply.status, verified: reply.verified, ip: reply.ip, message: reply.message }) };
      } catch (error) {
        return { ok: false, detail: error.message };
      }
    }
    case 'talk-reply-count':
      return { ok: true, detail: String(talkStandin.replies.length) };
    case 'ollama-standin': {
      const { OllamaStandin } = require(require('node:path').join(process.cwd(), 'dist', 'libs', 'testing', 'src', 'standins', 'ollama.standin.js'));
      const standin = new OllamaStandin({ port: command.port, host: command.host, models: command.models });
      await standin.start();
      servers.push({ close: () => standin.setDown(true) });
      return { ok: true };
    }
    case 'nats-publish': {
      const entry = nats[command.key];
      entry.nc.publish(command.subject, new TextEncoder().encode(command.data));
      await entry.nc.flush();
      return { ok: true };
    }
    case 'nats-wait': {
      const entry = nats[command.key];
      const until = Date.now() + (command.timeoutMs || 3000);
      while (Date.now() < until) {
        const found = entry.messages.find((m) => (command.subjectPrefix ? m.subject.startsWith(command.subjectPrefix) : m.subject === command.subject));
        if (found) return { ok: true, detail: command.subjectPrefix ? `${found.subject} ${found.data.slice(0, 200)}` : found.data };
        await new Promise((r) => setTimeout(r, 20));
      }
      return { ok: false, detail: 'no message' };
    }
    case 'exit':
      for (const s of servers) s.close();
      for (const entry of Object.values(nats)) await entry.nc.close().catch(() => undefined);
      setImmediate(() => process.exit(0));
      return { ok: true };
    default:
      throw new Error(`unknown op ${command.op}`);
  }
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line);
  handle(command).then(
    (result) => send({ id: command.id, ...result }),
    (error) => send({ id: command.id, ok: false, detail: error && error.message ? error.message : String(error) }),
  );
});
process.stdin.on('end', () => process.exit(0));
send({ ready: true, name });
