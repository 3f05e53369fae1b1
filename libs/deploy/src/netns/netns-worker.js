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
    case 'talk-webhook': {
      // Nextcloud Talk (the stand-in) sends one signed bot webhook, the way Talk does.
      const { TalkStandin } = require(require('node:path').join(process.cwd(), 'dist', 'libs', 'testing', 'src', 'standins', 'talk.standin.js'));
      const talk = new TalkStandin({
        backendUrl: command.backendUrl,
        bots: [{ name: 'palisade', secret: command.secret, url: command.url, conversations: [command.token] }],
        conversations: [{ token: command.token }],
        webhookCa: fs.readFileSync(command.ca),
      });
      const result = await talk.sendMessage({ conversationToken: command.token, bot: 'palisade', text: command.text, wrongSignature: !!command.wrongSignature });
      return { ok: result.ok, detail: `HTTP ${result.status} ${result.body || result.error || ''}`.trim() };
    }
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
        const found = entry.messages.find((m) => m.subject === command.subject);
        if (found) return { ok: true, detail: found.data };
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
