/**
 * What the layout's host firewall costs: the operator → gateway path of vm-layout (operator network →
 * agent VM → a Docker-published port, DNAT to a container) between real network namespaces, measured
 * with and without the agent's generated nftables ruleset (inet palisade_fw) in the same run.
 *
 *   npm run build && node dist/bench/firewall.bench.js [connections] [megabytes] [rounds]     (root)
 *
 * - new connections: TCP connect → one-line answer → close, one after another (every connection is a
 *   conntrack NEW packet through the input/forward chains; the rest of the packets take the
 *   "established" fast path);
 * - bulk: one connection carrying N MB from the operator to the container (established path only).
 * The baseline is the same topology with Docker's DNAT only and no palisade table.
 */
import { spawn } from 'node:child_process';
import { loadLayout, nftRuleset } from '../libs/deploy/src';
import { NetnsLab } from '../libs/deploy/src/netns/netns-lab';

const CONNECTIONS = Math.max(100, Number(process.argv[2] ?? 2000));
const MEGABYTES = Math.max(8, Number(process.argv[3] ?? 256));
const ROUNDS = Math.max(1, Number(process.argv[4] ?? 3));
const CONTAINER = '10.99.0.2';
const PORT = 18443; // the operator → gateway flow of the layout

// A tiny server in the "container": 'g' → a greeting and close; 's' → swallow until end, then the count.
const SERVER = `
const net = require('node:net');
net.createServer((socket) => {
  let mode = '', bytes = 0;
  socket.on('error', () => {});
  socket.on('data', (chunk) => {
    if (!mode) { mode = String.fromCharCode(chunk[0]); chunk = chunk.subarray(1); if (mode === 'g') return socket.end('hello\\n'); }
    bytes += chunk.length;
  });
  socket.on('end', () => { if (mode === 's') socket.end(String(bytes)); });
}).listen(${PORT}, '0.0.0.0', () => console.log('listening'));
`;

// The client on the operator network: sequential new connections, then one bulk transfer. Prints JSON.
const CLIENT = (host: string) => `
const net = require('node:net');
const connections = ${CONNECTIONS}, megabytes = ${MEGABYTES};
const once = () => new Promise((resolve, reject) => {
  const t0 = process.hrtime.bigint();
  const s = net.connect({ host: '${host}', port: ${PORT} }, () => s.write('g'));
  s.on('data', () => {});
  s.on('end', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
  s.on('error', reject);
  s.setTimeout(5000, () => s.destroy(new Error('timeout')));
});
(async () => {
  for (let i = 0; i < 50; i++) await once();
  const samples = [];
  const start = process.hrtime.bigint();
  for (let i = 0; i < connections; i++) samples.push(await once());
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const chunk = Buffer.alloc(1 << 20, 7);
  const t0 = process.hrtime.bigint();
  const received = await new Promise((resolve, reject) => {
    const s = net.connect({ host: '${host}', port: ${PORT} }, async () => {
      s.write('s');
      for (let i = 0; i < megabytes; i++) if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
      s.end();
    });
    let answer = '';
    s.on('data', (d) => (answer += d));
    s.on('end', () => resolve(Number(answer)));
    s.on('error', reject);
  });
  const bulkSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({ samples, seconds, received, bulkSeconds }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

function runIn(lab: NetnsLab, name: string, code: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', lab.hosts.get(name)!.ns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (c) => (c === 0 ? resolve(out) : reject(new Error(`client in ${name} exited ${c}: ${err}`))));
  });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];

interface Figures {
  p50: number;
  p99: number;
  perSecond: number;
  mbPerSecond: number;
}

async function measure(lab: NetnsLab, host: string): Promise<Figures> {
  const result = JSON.parse(await runIn(lab, 'operator', CLIENT(host))) as { samples: number[]; seconds: number; received: number; bulkSeconds: number };
  if (result.received !== MEGABYTES * (1 << 20)) throw new Error(`bulk transfer lost bytes: ${result.received}`);
  const sorted = [...result.samples].sort((a, b) => a - b);
  return { p50: pct(sorted, 50), p99: pct(sorted, 99), perSecond: CONNECTIONS / result.seconds, mbPerSecond: MEGABYTES / result.bulkSeconds };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (network namespaces, nftables)');
  const layout = loadLayout();
  const lab = new NetnsLab();
  try {
    const [base, bits] = layout.private_network.cidr.split('/');
    const routerAddress = base.replace(/\.0$/, '.1');
    await lab.createRouter(`${routerAddress}/${bits}`);
    await lab.addBridged('agent', `${layout.vms.agent.address}/${bits}`, routerAddress);
    const operatorNet = layout.networks.operator.cidrs[0].split('/')[0].split('.').slice(0, 3).join('.');
    await lab.addRouted('operator', `${operatorNet}.10/24`, `${operatorNet}.1/24`);
    await lab.addContainer('container', 'agent', 'docker0', '10.99.0.1/24', `${CONTAINER}/24`);
    await lab.nft(
      'agent',
      [
        'table ip dockersim {',
        '  chain prerouting { type nat hook prerouting priority dstnat; policy accept;',
        `    iifname != "docker0" tcp dport ${PORT} dnat to ${CONTAINER}:${PORT}`,
        '  }',
        '  chain postrouting { type nat hook postrouting priority srcnat; policy accept;',
        '    ip saddr 10.99.0.0/24 oifname != "docker0" masquerade',
        '  }',
        '}',
      ].join('\n'),
    );
    const server = lab.spawnIn('container', process.execPath, ['-e', SERVER]);
    await new Promise<void>((resolve, reject) => {
      server.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
      server.once('exit', (c) => reject(new Error(`server exited ${c}`)));
    });

    const agent = layout.vms.agent.address;
    console.log(`firewall bench: operator (${operatorNet}.10) → agent ${agent}:${PORT} (DNAT to a container), ${CONNECTIONS} sequential new connections + ${MEGABYTES} MB on one connection; ${ROUNDS} rounds, baseline and ruleset alternating`);
    const baseline: Figures[] = [];
    const firewalled: Figures[] = [];
    const drops: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      baseline.push(await measure(lab, agent));
      await lab.nft('agent', nftRuleset(layout, 'agent'));
      const before = await lab.dropCount('agent');
      firewalled.push(await measure(lab, agent));
      drops.push((await lab.dropCount('agent')) - before);
      await lab.nft('agent', 'delete table inet palisade_fw');
    }
    const median = (list: Figures[], key: keyof Figures) => [...list.map((f) => f[key])].sort((a, b) => a - b)[Math.floor(list.length / 2)];
    const summary = (list: Figures[]): Figures => ({ p50: median(list, 'p50'), p99: median(list, 'p99'), perSecond: median(list, 'perSecond'), mbPerSecond: median(list, 'mbPerSecond') });
    const b = summary(baseline);
    const f = summary(firewalled);
    const rows: Array<[string, Figures]> = [
      ['baseline: Docker DNAT only, no palisade_fw', b],
      ['with the generated agent ruleset (inet palisade_fw)', f],
    ];
    console.log('path (median of the rounds)                           | connect+answer p50 ms | p99 ms | connections/s | bulk MB/s');
    for (const [name, x] of rows) {
      console.log(`${name.padEnd(53)} | ${x.p50.toFixed(3).padStart(21)} | ${x.p99.toFixed(3).padStart(6)} | ${x.perSecond.toFixed(0).padStart(13)} | ${x.mbPerSecond.toFixed(0).padStart(9)}`);
    }
    const change = (a: number, z: number) => `${z >= a ? '+' : ''}${(((z - a) / a) * 100).toFixed(1)} %`;
    console.log(`ruleset vs baseline: p50 ${change(b.p50, f.p50)}, p99 ${change(b.p99, f.p99)}, connections/s ${change(b.perSecond, f.perSecond)}, bulk ${change(b.mbPerSecond, f.mbPerSecond)}`);
    console.log(`per round (baseline / ruleset connections/s): ${baseline.map((x, i) => `${x.perSecond.toFixed(0)}/${firewalled[i].perSecond.toFixed(0)}`).join(', ')}`);
    console.log(`packets counted as dropped while the allowed flow ran: ${drops.join(', ')} per round`);
  } finally {
    await lab.destroy();
  }
  console.log(`namespaces left: ${(await lab.leftovers()).length}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
