// `palisade doctor`: checks a running agent host against what the deployment promises, prints each
// check with OK or FAIL and, for a failure, the fix; exit code 1 when anything is off; --json for tools.
//   listening       every TCP socket listening, and every bound unconnected UDP socket, on a non-loopback
//                   address is on a port the layout allows for that protocol
//   firewall        the loaded nftables table inet palisade_fw equals the layout's ruleset for this VM
//                   (rule by rule, per chain, with policies and hooks; see doctor-firewall.ts)
//   docker-tcp      the Docker engine does not listen on TCP (2375/2376, or tcp:// in daemon.json)
//   docker-socket   no container has the Docker socket mounted, except sandbox-exec
//   gateway-tls     the gateway answers TLS, and plain HTTP gets no API answer
//   operator-password  the operator password is set
//   nats-auth       NATS refuses a connection without credentials; a service user may not publish audit.>
//   ledger          the ledger chain and its checkpoints verify (as `palisade audit verify`)
//   image-pins      the third-party images of this VM's Compose profile (nextcloud, ollama) are pinned by digest
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import Docker from 'dockerode';
import { connect as natsConnect } from '@nats-io/transport-node';
import { checkImagePins, describeProblem, parseEnvFile, type ThirdPartyProfile } from '@palisade/deploy';
import { Client } from 'pg';
import { EventStore } from '@palisade/event-log';
import { connectNats } from '@palisade/nats';
import { defaultLayoutFile } from '@palisade/deploy';
import { parseArgs } from '../args';
import { verifyLedger } from '../audit/ledger-verifier';
import { infraEnv } from '../infra/infra-env';
import { natsSeedFile, pgPasswordFile, publicKeyFile, repoRoot } from '../paths';
import { openGatewayState } from './auth.command';
import { checkFirewall, chooseVm } from './doctor-firewall';

/** Fallback when no layout file is found: the agent VM of vm-layout (ssh, gateway, channels, NATS for SOC). */
export const AGENT_ALLOWED_PORTS = [22, 18443, 18788, 4222];

/**
 * Ports a VM of the layout (vm-layout/layout.yaml) may listen on off-host for one protocol: every `runs`
 * entry with a port of that protocol (tcp when not given) whose bind is not loopback or none.
 */
export function allowedPortsFromLayout(file: string, vm: string, protocol: Protocol = 'tcp'): number[] {
  const layout = parseYaml(readFileSync(file, 'utf8')) as { vms?: Record<string, { runs?: { port?: number; protocol?: string; bind?: string }[] }> };
  const entry = layout.vms?.[vm];
  if (!entry) throw new Error(`${file} has no VM named ${vm} (VMs: ${Object.keys(layout.vms ?? {}).join(', ')})`);
  return [
    ...new Set(
      (entry.runs ?? [])
        .filter((r) => typeof r.port === 'number' && (r.protocol ?? 'tcp') === protocol && r.bind !== 'loopback' && r.bind !== 'none')
        .map((r) => r.port as number),
    ),
  ].sort((a, b) => a - b);
}

export const CHECKS = ['listening', 'firewall', 'docker-tcp', 'docker-socket', 'gateway-tls', 'operator-password', 'nats-auth', 'ledger', 'image-pins'] as const;
export type CheckName = (typeof CHECKS)[number];

export interface CheckResult {
  check: CheckName;
  ok: boolean;
  detail: string;
  fix?: string;
}

const HELP = `usage: palisade doctor [options]
  --layout FILE --vm NAME the layout and the VM this host is (default vm-layout/layout.yaml; the VM whose
                          address is on a local interface, else agent): ports its services listen on
                          off-host are the allowed ones, and its generated ruleset is what the loaded
                          table inet palisade_fw must equal
  --allow-ports P,P,...   ports that may listen on non-loopback addresses, instead of the layout's
                          (P or P/tcp: TCP, P/udp: UDP)
                          (also $PALISADE_DOCTOR_ALLOWED_PORTS; without a layout: ${AGENT_ALLOWED_PORTS.join(',')})
  --gateway URL           the gateway (default https://127.0.0.1:$PALISADE_GATEWAY_PORT, port 18443)
  --only a,b / --skip a,b which checks to run (${CHECKS.join(', ')})
  --json                  one JSON document instead of lines
Exit code 0 when every check passes, 1 otherwise.`;

export type Protocol = 'tcp' | 'udp';

export interface Listener {
  address: string;
  port: number;
  /** tcp when absent. */
  protocol?: Protocol;
}

function procSockets(procNet: string, files: [string, boolean][], state: string): { address: string; port: number }[] {
  const out: { address: string; port: number }[] = [];
  for (const [file, v6] of files) {
    const path = `${procNet}/${file}`;
    if (!existsSync(path)) continue;
    for (const line of readFileSync(path, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== state) continue;
      const [hexAddr, hexPort] = cols[1].split(':');
      const port = parseInt(hexPort, 16);
      if (port) out.push({ address: v6 ? ipv6(hexAddr) : ipv4(hexAddr), port });
    }
  }
  return out;
}

/** TCP sockets in LISTEN state from /proc/net/tcp and tcp6 (this host's network namespace). */
export function tcpListeners(procNet = '/proc/net'): Listener[] {
  return procSockets(
    procNet,
    [
      ['tcp', false],
      ['tcp6', true],
    ],
    '0A', // LISTEN
  );
}

/** UDP sockets bound to a port and not connected (they receive from anyone) from /proc/net/udp and udp6. */
export function udpListeners(procNet = '/proc/net'): Listener[] {
  return procSockets(
    procNet,
    [
      ['udp', false],
      ['udp6', true],
    ],
    '07', // unconnected (TCP_CLOSE); a connected UDP socket (01) only talks to its peer
  ).map((l) => ({ ...l, protocol: 'udp' as const }));
}

function ipv4(hex: string): string {
  // Little-endian 32-bit word.
  return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
}

function ipv6(hex: string): string {
  // Four little-endian 32-bit words.
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) for (const i of [3, 2, 1, 0]) bytes.push(parseInt(hex.slice(w * 8 + i * 2, w * 8 + i * 2 + 2), 16));
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

export const isLoopback = (address: string): boolean => address.startsWith('127.') || address === '::1' || address === '0:0:0:0:0:0:0:1';

/**
 * DHCP clients (dhclient on 68, DHCPv6 on 546) hold bound UDP sockets on every cloud VM; they only receive
 * answers to their own requests (the firewall lets in nothing else), so they are not services to report.
 */
export const UDP_CLIENT_PORTS = [68, 546];

export function checkListening(listeners: Listener[], allowed: number[], allowedUdp: number[] = []): CheckResult {
  const exposed = listeners.filter((l) => !isLoopback(l.address) && !(l.protocol === 'udp' && UDP_CLIENT_PORTS.includes(l.port)));
  const isUdp = (l: Listener) => l.protocol === 'udp';
  const bad = [
    ...new Set(exposed.filter((l) => !(isUdp(l) ? allowedUdp : allowed).includes(l.port)).map((l) => `${isUdp(l) ? 'udp ' : ''}${l.address}:${l.port}`)),
  ].sort();
  const allowedText = `allowed: ${allowed.join(', ') || 'none'}; udp: ${allowedUdp.join(', ') || 'none'}`;
  return bad.length
    ? {
        check: 'listening',
        ok: false,
        detail: `listening on ports the layout does not allow: ${bad.join(', ')} (${allowedText})`,
        fix: 'stop the process or bind it to 127.0.0.1 (find it with: ss -ltunp), or add the flow to vm-layout/ with its reason',
      }
    : { check: 'listening', ok: true, detail: `${exposed.length} non-loopback listener(s) (TCP and UDP), all on allowed ports (${allowedText})` };
}

async function checkDockerTcp(listeners: Listener[]): Promise<CheckResult> {
  const problems: string[] = [];
  for (const l of listeners) if (l.protocol !== 'udp' && (l.port === 2375 || l.port === 2376)) problems.push(`something listens on ${l.address}:${l.port} (Docker API port)`);
  for (const file of ['/etc/docker/daemon.json']) {
    if (!existsSync(file)) continue;
    try {
      const hosts: unknown = JSON.parse(readFileSync(file, 'utf8')).hosts;
      if (Array.isArray(hosts)) for (const h of hosts) if (/^tcp:/.test(String(h))) problems.push(`${file} has hosts entry ${h}`);
    } catch {
      problems.push(`${file} is not valid JSON`);
    }
  }
  const docker = new Docker();
  try {
    const info = (await docker.info()) as { Hosts?: string[] };
    for (const h of info.Hosts ?? []) if (/^tcp:/.test(h)) problems.push(`the engine reports host ${h}`);
  } catch {
    // Engine not reachable through the socket: nothing more to learn here.
  }
  return problems.length
    ? { check: 'docker-tcp', ok: false, detail: problems.join('; '), fix: 'remove -H tcp://… from dockerd and "hosts" with tcp:// from /etc/docker/daemon.json; use the Unix socket only' }
    : { check: 'docker-tcp', ok: true, detail: 'the Docker engine is not exposed over TCP' };
}

/** Containers with the Docker socket mounted; only a sandbox-exec container may have it. */
export async function checkDockerSocket(docker = new Docker()): Promise<CheckResult> {
  let containers: Docker.ContainerInfo[];
  try {
    containers = await docker.listContainers({ all: false });
  } catch (error) {
    return { check: 'docker-socket', ok: false, detail: `cannot list containers: ${firstLine(error)}`, fix: 'start the Docker engine, run doctor as root' };
  }
  const bad = containers
    .filter((c) => (c.Mounts ?? []).some((m) => /(^|\/)docker\.sock$/.test(m.Source ?? '') || /(^|\/)docker\.sock$/.test(m.Destination ?? '')))
    .filter((c) => c.Labels?.['com.docker.compose.service'] !== 'sandbox-exec')
    .map((c) => (c.Names?.[0] ?? c.Id).replace(/^\//, ''));
  return bad.length
    ? { check: 'docker-socket', ok: false, detail: `the Docker socket is mounted into: ${bad.join(', ')}`, fix: 'remove the docker.sock volume from these containers (it is root on this host); only sandbox-exec needs it' }
    : { check: 'docker-socket', ok: true, detail: `no container but sandbox-exec has the Docker socket (${containers.length} running)` };
}

/** TLS handshake with the gateway, and a plain-HTTP request to the same port that must not get an API answer. */
export async function checkGatewayTls(url: string): Promise<CheckResult> {
  const u = new URL(url);
  const port = Number(u.port || 443);
  const host = u.hostname;
  const fix = 'serve the gateway over HTTPS (do not set PALISADE_GATEWAY_INSECURE_HTTP), or point --gateway at it';
  if (u.protocol !== 'https:') return { check: 'gateway-tls', ok: false, detail: `${url} is not an https URL`, fix };
  const tls = await new Promise<string | undefined>((resolve) => {
    const socket = tlsConnect({ host, port, servername: host === '127.0.0.1' ? 'localhost' : host, rejectUnauthorized: false, timeout: 5_000 }, () => {
      const protocol = socket.getProtocol() ?? 'TLS';
      socket.end();
      resolve(protocol);
    });
    socket.on('error', () => resolve(undefined));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(undefined);
    });
  });
  if (!tls) {
    const plain = await plainHttpStatus(host, port);
    return {
      check: 'gateway-tls',
      ok: false,
      detail: plain ? `${host}:${port} answers plain HTTP (status ${plain}), not TLS` : `no TLS answer from ${host}:${port}`,
      fix,
    };
  }
  const plain = await plainHttpStatus(host, port);
  if (plain && plain < 400) return { check: 'gateway-tls', ok: false, detail: `${host}:${port} speaks ${tls} but also answers plain HTTP with ${plain}`, fix };
  return { check: 'gateway-tls', ok: true, detail: `${host}:${port} speaks ${tls}; plain HTTP gets no API answer` };
}

function plainHttpStatus(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = httpRequest({ host, port, path: '/healthz', method: 'GET', timeout: 5_000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => {
      req.destroy();
      resolve(undefined);
    });
    req.end();
  });
}

async function checkOperatorPassword(): Promise<CheckResult> {
  const fix = 'set it: palisade auth set-password (in Compose: docker compose exec gateway palisade auth set-password --password-file F)';
  try {
    const state = await openGatewayState(false);
    try {
      const hash = await state.store.passwordHash();
      return hash ? { check: 'operator-password', ok: true, detail: 'the operator password is set (Argon2id)' } : { check: 'operator-password', ok: false, detail: 'no operator password: the gateway refuses everything but onboarding', fix };
    } finally {
      await state.close();
    }
  } catch (error) {
    return { check: 'operator-password', ok: false, detail: `cannot read the gateway's state: ${firstLine(error)}`, fix: 'run doctor where the gateway’s secrets and infra.env are (PALISADE_HOME)' };
  }
}

/** NATS must require credentials, and a service user must be denied publish on audit.> (only ledger may). */
export async function checkNatsAuth(natsUrl: string, seedFile?: string): Promise<CheckResult> {
  const fix = 'run nats-server with the generated config (palisade infra nats-config): authorization with one nkey user per service';
  const url = new URL(natsUrl.replace(/^tls:/, 'nats:'));
  try {
    const anonymous = await natsConnect({ servers: `${url.hostname}:${url.port}`, reconnect: false, timeout: 5_000 });
    await anonymous.close();
    return { check: 'nats-auth', ok: false, detail: `${url.host} accepts connections without credentials`, fix };
  } catch (error) {
    if (!/authorization|authentication|permissions/i.test(String((error as Error)?.message ?? error)))
      return { check: 'nats-auth', ok: false, detail: `cannot reach NATS at ${url.host}: ${firstLine(error)}`, fix: 'start NATS, or point PALISADE_NATS_URL at it' };
  }
  if (!seedFile || !existsSync(seedFile)) return { check: 'nats-auth', ok: true, detail: `${url.host} refuses anonymous connections (no service seed here to test permissions)` };
  const nc = await connectNats({ user: 'gateway', url: natsUrl, seed: readFileSync(seedFile, 'utf8').trim(), reconnect: false });
  try {
    const denied = new Promise<boolean>((resolve) => {
      void (async () => {
        for await (const s of nc.status()) if (s.type === 'error' && /permissions violation/i.test(String(s.error?.message ?? ''))) return resolve(true);
      })();
      setTimeout(() => resolve(false), 3_000).unref();
    });
    nc.publish('audit.doctor-probe', 'forged');
    await nc.flush();
    return (await denied)
      ? { check: 'nats-auth', ok: true, detail: `${url.host} refuses anonymous connections; the gateway user is denied publish on audit.>` }
      : { check: 'nats-auth', ok: false, detail: 'the gateway user may publish on audit.> (only ledger may)', fix };
  } finally {
    await nc.close();
  }
}

async function checkLedger(natsUrl: string, pg: { host: string; port: number; database: string }): Promise<CheckResult> {
  const fix = 'run `palisade audit verify` for the details; a divergence means the ledger or EVENTS was altered: treat it as an incident (SECURITY.md)';
  try {
    const nc = await connectNats({ user: 'admin', url: natsUrl, seed: readFileSync(natsSeedFile('admin'), 'utf8').trim(), reconnect: false });
    const db = new Client({ ...pg, user: 'palisade_auditor', password: readFileSync(pgPasswordFile('palisade_auditor'), 'utf8').trim() });
    try {
      await db.connect();
      const report = await verifyLedger({ db, store: new EventStore(nc), publicKey: createPublicKey(readFileSync(publicKeyFile('ledger-checkpoint'), 'utf8')), externalCheckpoints: [] });
      return report.ok
        ? { check: 'ledger', ok: true, detail: `${report.entries} entries verify, ${report.checkpointsVerified} checkpoint(s)` }
        : { check: 'ledger', ok: false, detail: `diverges at sequence ${report.firstDivergence?.seq}: ${report.firstDivergence?.what}`, fix };
    } finally {
      await db.end().catch(() => undefined);
      await nc.close().catch(() => undefined);
    }
  } catch (error) {
    return { check: 'ledger', ok: false, detail: `cannot verify: ${firstLine(error)}`, fix: 'run doctor where the admin seed and auditor password are (PALISADE_HOME)' };
  }
}

/**
 * The nextcloud and ollama VMs run pulled images: pinned by digest (the environment, else `.env` beside
 * docker-compose.yml, else the tag default — as Compose resolves them). The agent VM runs only images built here.
 */
export function checkImagePinsOnVm(vm: string, env: NodeJS.ProcessEnv = process.env, envFile = join(repoRoot(), '.env')): CheckResult {
  if (vm !== 'nextcloud' && vm !== 'ollama') return { check: 'image-pins', ok: true, detail: `the ${vm} VM pulls no third-party image (Palisade's images are built here)` };
  const report = checkImagePins([vm as ThirdPartyProfile], env, existsSync(envFile) ? parseEnvFile(readFileSync(envFile, 'utf8')) : {});
  if (!report.problems.length) return { check: 'image-pins', ok: true, detail: `pinned by digest: ${Object.entries(report.refs).map(([k, v]) => `${k}=${v}`).join(', ')}` };
  const detail = report.problems.map(describeProblem).join('; ');
  return report.ok ? { check: 'image-pins', ok: true, detail: `WARNING ${report.warning}: ${detail}` } : { check: 'image-pins', ok: false, detail, fix: report.fix };
}

function firstLine(error: unknown): string {
  const e = error as { stderr?: string; message?: string };
  return String(e?.stderr || e?.message || error).split('\n')[0].trim();
}

const list = (value: unknown): string[] =>
  String(value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export async function runDoctor(flags: Record<string, string | boolean>): Promise<CheckResult[]> {
  const layoutFile = flags.layout ? resolve(String(flags.layout)) : defaultLayoutFile();
  const vm = chooseVm(layoutFile, flags.vm ? String(flags.vm) : undefined);
  const explicit = flags['allow-ports'] ?? process.env.PALISADE_DOCTOR_ALLOWED_PORTS;
  const portsOf = (protocol: Protocol) =>
    list(explicit)
      .filter((p) => (/\/udp$/i.test(p) ? 'udp' : 'tcp') === protocol)
      .map((p) => Number(p.replace(/\/(tcp|udp)$/i, '')));
  const [allowed, allowedUdp] = explicit
    ? [portsOf('tcp'), portsOf('udp')]
    : existsSync(layoutFile)
      ? [allowedPortsFromLayout(layoutFile, vm.vm), allowedPortsFromLayout(layoutFile, vm.vm, 'udp')]
      : [AGENT_ALLOWED_PORTS, []];
  const only = flags.only ? list(flags.only) : [...CHECKS];
  const skip = list(flags.skip);
  for (const name of [...only, ...skip]) if (!(CHECKS as readonly string[]).includes(name)) throw new Error(`unknown check ${name} (checks: ${CHECKS.join(', ')})`);
  const wanted = (name: CheckName) => only.includes(name) && !skip.includes(name);
  const gateway = String(flags.gateway ?? `https://127.0.0.1:${process.env.PALISADE_GATEWAY_PORT || 18443}`);
  const listeners = [...tcpListeners(), ...udpListeners()];
  const results: CheckResult[] = [];
  if (wanted('listening')) results.push(checkListening(listeners, allowed, allowedUdp));
  if (wanted('firewall')) results.push(await checkFirewall({ layoutFile, vm }));
  if (wanted('docker-tcp')) results.push(await checkDockerTcp(listeners));
  if (wanted('docker-socket')) results.push(await checkDockerSocket());
  if (wanted('gateway-tls')) results.push(await checkGatewayTls(gateway));
  if (wanted('operator-password')) results.push(await checkOperatorPassword());
  if (wanted('image-pins')) results.push(checkImagePinsOnVm(String(flags.vm ?? 'agent')));
  if (wanted('nats-auth') || wanted('ledger')) {
    let env: ReturnType<typeof infraEnv> | undefined;
    try {
      env = infraEnv();
    } catch (error) {
      for (const check of ['nats-auth', 'ledger'] as const)
        if (wanted(check)) results.push({ check, ok: false, detail: firstLine(error), fix: 'set PALISADE_HOME to the installation (infra.env) or PALISADE_NATS_URL/PALISADE_PG_*' });
    }
    if (env) {
      if (wanted('nats-auth')) results.push(await checkNatsAuth(env.natsUrl, natsSeedFile('gateway')).catch((e: unknown) => ({ check: 'nats-auth' as const, ok: false, detail: firstLine(e) })));
      if (wanted('ledger')) results.push(await checkLedger(env.natsUrl, { host: env.pgHost, port: env.pgPort, database: env.pgDatabase }));
    }
  }
  return results;
}

export async function runDoctorCommand(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(HELP);
    return 0;
  }
  const { flags } = parseArgs(args, { layout: 'string', vm: 'string', 'allow-ports': 'string', gateway: 'string', only: 'string', skip: 'string', json: 'boolean' });
  const results = await runDoctor(flags);
  const ok = results.every((r) => r.ok);
  if (flags.json) console.log(JSON.stringify({ ok, checks: results }, null, 2));
  else {
    for (const r of results) {
      console.log(`${r.ok ? 'OK  ' : 'FAIL'} ${r.check.padEnd(18)} ${r.detail}`);
      if (!r.ok && r.fix) console.log(`     ${''.padEnd(18)} fix: ${r.fix}`);
    }
    console.log(ok ? 'doctor: everything checked is in order' : `doctor: ${results.filter((r) => !r.ok).length} problem(s)`);
  }
  return ok ? 0 : 1;
}
