// The egress network's packet filter: what the proxy cannot see. A process that ignores the proxy
// variables (a direct TCP connection, UDP, ICMP, raw DNS to an outside resolver, the host through the
// bridge's gateway or docker0's address, a peer container on the same network) sends packets into
// the egress bridge; Docker drops some of them silently and lets others through (peers, the host).
// This table sees them first and drops every one that is not TCP to the proxy's port or DNS (UDP) to
// the proxy's DNS sink, recording each in a dynamic set that sandbox-exec drains into
// `exec.egress.denied` events.
//
// One nftables table per egress bridge, `inet palisade_egress_<bridge>`, replaced atomically with
// `nft -f` (a delete and add of only that table in one transaction; never `flush ruleset`), with
// chains on the forward and input hooks at priority filter - 10, ahead of Docker's iptables-nft
// chains (priority filter). Packets between two containers on the same bridge are bridged, not
// routed: they reach the inet forward hook only through br_netfilter with
// net.bridge.bridge-nf-call-iptables=1 (and -ip6tables for IPv6); install() checks that and fails
// closed when it cannot be made so.
//
// The sets hold source . destination . protocol . port (port 0 for protocols without one) with a
// packet counter, at most `setSize` entries each; once a set is full the rule's update fails and the
// packet falls to the last rule, which drops it and counts it in the named counter `unrecorded`.
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { SandboxFailedError } from './sandbox.errors';

export const EGRESS_TABLE_PREFIX = 'palisade_egress_';
export const DEFAULT_DENIED_SET_SIZE = 4096;
const BRIDGE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export interface EgressRulesetOptions {
  /** Linux name of the egress network's bridge interface (e.g. br-0123456789ab). */
  bridge: string;
  /** The proxy's IPv4 address on the egress network. */
  proxyAddress: string;
  /** TCP port of the filtering proxy. */
  proxyPort: number;
  /** UDP port of the proxy's DNS sink. */
  dnsPort: number;
  /** Entries per denied set (IPv4 and IPv6 each). */
  setSize?: number;
}

/** One recorded denial: packets from source to destination (port 0: a protocol without ports). */
export interface DeniedFlow {
  source: string;
  destination: string;
  protocol: string;
  port: number;
  packets: number;
}

export interface EgressDrain {
  flows: DeniedFlow[];
  /** Packets dropped while the sets were full. */
  unrecorded: number;
  /** The table was missing (deleted from outside) and has been installed again. */
  restored: boolean;
}

/** The table's name for a bridge: identifiers allow letters, digits and `_` only. */
export function egressTableName(bridge: string): string {
  if (!BRIDGE_NAME.test(bridge)) throw new Error(`not a bridge interface name: ${JSON.stringify(bridge)}`);
  return `${EGRESS_TABLE_PREFIX}${bridge.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** The nft script that replaces (only) this bridge's table in one transaction. */
export function egressRuleset(options: EgressRulesetOptions): string {
  const { bridge, proxyAddress, proxyPort, dnsPort } = options;
  const size = options.setSize ?? DEFAULT_DENIED_SET_SIZE;
  const table = egressTableName(bridge);
  if (!IPV4.test(proxyAddress)) throw new Error(`not an IPv4 address: ${JSON.stringify(proxyAddress)}`);
  for (const port of [proxyPort, dnsPort])
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port ${port}`);
  if (!Number.isInteger(size) || size < 1 || size > 1_000_000) throw new Error(`bad set size ${size}`);
  const set = (name: string, addr: string): string =>
    `  set ${name} { type ${addr} . ${addr} . inet_proto . inet_service; size ${size}; flags dynamic; counter; }`;
  const guard = (hook: 'forward' | 'input'): string =>
    `  chain ${hook} { type filter hook ${hook} priority filter - 10; policy accept; iifname "${bridge}" jump guard; }`;
  return [
    `table inet ${table}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    '  counter unrecorded { }',
    set('denied4', 'ipv4_addr'),
    set('denied6', 'ipv6_addr'),
    '  chain guard {',
    '    ct state established,related accept',
    `    ip daddr ${proxyAddress} tcp dport ${proxyPort} accept`,
    `    ip daddr ${proxyAddress} udp dport ${dnsPort} accept`,
    '    meta l4proto { tcp, udp } update @denied4 { ip saddr . ip daddr . meta l4proto . th dport } drop',
    '    meta nfproto ipv4 update @denied4 { ip saddr . ip daddr . meta l4proto . 0 } drop',
    '    meta l4proto { tcp, udp } update @denied6 { ip6 saddr . ip6 daddr . meta l4proto . th dport } drop',
    '    meta nfproto ipv6 update @denied6 { ip6 saddr . ip6 daddr . meta l4proto . 0 } drop',
    '    counter name "unrecorded" drop',
    '  }',
    guard('forward'),
    guard('input'),
    '}',
    '',
  ].join('\n');
}

const PROTOCOLS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'ipv6-icmp', 132: 'sctp' };

interface NftElem {
  elem?: { val?: { concat?: unknown[] }; counter?: { packets?: number } };
}

/**
 * The denied flows in `nft -j list table` output, and the `delete element` lines that remove exactly
 * those (a packet that arrives between listing and deleting is counted in the listed flow's total
 * only if it came before the listing: the loss is bounded to that window, never a whole flow).
 */
export function parseDeniedTable(json: string): {
  flows: DeniedFlow[];
  unrecorded: number;
  deletes: string[];
} {
  const doc = JSON.parse(json) as { nftables?: Array<Record<string, unknown>> };
  const flows: DeniedFlow[] = [];
  const deletes: string[] = [];
  let unrecorded = 0;
  for (const item of doc.nftables ?? []) {
    const counter = item.counter as { name?: string; packets?: number } | undefined;
    if (counter?.name === 'unrecorded') unrecorded = Number(counter.packets) || 0;
    const set = item.set as
      { name?: string; table?: string; family?: string; elem?: Array<NftElem | unknown[]> } | undefined;
    if (!set || (set.name !== 'denied4' && set.name !== 'denied6')) continue;
    const keys: string[] = [];
    for (const raw of set.elem ?? []) {
      const elem = (raw as NftElem).elem;
      const concat = elem?.val?.concat;
      if (!Array.isArray(concat) || concat.length !== 4) continue;
      const [source, destination, proto, port] = concat;
      if (typeof source !== 'string' || typeof destination !== 'string') continue;
      const protoNumber = typeof proto === 'number' ? proto : undefined;
      const protocol = typeof proto === 'string' ? proto : (PROTOCOLS[protoNumber ?? -1] ?? String(proto));
      const portNumber = typeof port === 'number' ? port : Number(port);
      flows.push({
        source,
        destination,
        protocol,
        port: Number.isFinite(portNumber) ? portNumber : 0,
        packets: Number(elem?.counter?.packets) || 0,
      });
      keys.push(
        `${source} . ${destination} . ${typeof proto === 'number' ? proto : protocol} . ${portNumber}`,
      );
    }
    if (keys.length > 0) deletes.push(`delete element inet ${set.table} ${set.name} { ${keys.join(', ')} }`);
  }
  return { flows, unrecorded, deletes };
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  missing: boolean;
}

function runNft(nft: string, args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(nft, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '' },
    });
    let stdout = '';
    let stderr = '';
    let missing = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', (error: NodeJS.ErrnoException) => {
      missing = error.code === 'ENOENT' || error.code === 'EACCES';
      stderr += error.message;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr: stderr.slice(0, 2000), missing }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

export interface NftEgressFirewallOptions extends EgressRulesetOptions {
  /** The nft binary (a name looked up on PATH, or a path). */
  nft?: string;
}

/** Installs, checks, drains and removes one egress bridge's table (the caller serializes calls). */
export class NftEgressFirewall {
  readonly table: string;
  private readonly nft: string;

  constructor(private readonly options: NftEgressFirewallOptions) {
    this.table = egressTableName(options.bridge);
    this.nft = options.nft ?? 'nft';
    egressRuleset(options); // validates the options now rather than at the first install
  }

  get bridge(): string {
    return this.options.bridge;
  }

  /** Makes bridged traffic visible to the inet hooks, then installs (or replaces) the table. */
  async install(): Promise<void> {
    await ensureBridgeNetfilter(this.nft);
    const result = await runNft(this.nft, ['-f', '-'], egressRuleset(this.options));
    if (result.missing)
      throw new SandboxFailedError(
        `nft (${this.nft}) is not available; egress runs are refused until the egress firewall can be installed`,
      );
    if (result.code !== 0)
      throw new SandboxFailedError(`could not install nftables table ${this.table}: ${result.stderr.trim()}`);
  }

  /**
   * Reads the recorded denials and removes what it read. A missing table (deleted from outside) is
   * installed again — `restored` says so; if that fails, this throws (the caller fails closed).
   */
  async drain(): Promise<EgressDrain> {
    const listed = await runNft(this.nft, ['-j', 'list', 'table', 'inet', this.table]);
    if (listed.missing) throw new SandboxFailedError(`nft (${this.nft}) is not available`);
    if (listed.code !== 0) {
      await this.install();
      return { flows: [], unrecorded: 0, restored: true };
    }
    let parsed: ReturnType<typeof parseDeniedTable>;
    try {
      parsed = parseDeniedTable(listed.stdout);
    } catch (error) {
      throw new SandboxFailedError(`unreadable nft output for ${this.table}: ${(error as Error).message}`);
    }
    let unrecorded = 0;
    if (parsed.unrecorded > 0) {
      // `reset` prints the values it clears: read and reset in one step.
      const reset = await runNft(this.nft, ['-j', 'reset', 'counter', 'inet', this.table, 'unrecorded']);
      if (reset.code === 0) unrecorded = parseDeniedTable(reset.stdout).unrecorded;
    }
    if (parsed.deletes.length > 0) {
      const deleted = await runNft(this.nft, ['-f', '-'], parsed.deletes.join('\n') + '\n');
      if (deleted.code !== 0)
        throw new SandboxFailedError(`could not clear ${this.table}'s denied sets: ${deleted.stderr.trim()}`);
    }
    return { flows: parsed.flows, unrecorded, restored: false };
  }

  /** Removes the table (when the egress network goes away). */
  async remove(): Promise<void> {
    await runNft(this.nft, ['delete', 'table', 'inet', this.table]);
  }
}

/**
 * Deletes `palisade_egress_*` tables whose bridge interface no longer exists (left by a crashed
 * instance whose network was removed since). Tables of live bridges are another instance's business.
 */
export async function removeStaleEgressTables(nft = 'nft'): Promise<string[]> {
  const listed = await runNft(nft, ['-j', 'list', 'tables', 'inet']);
  if (listed.code !== 0) return [];
  const removed: string[] = [];
  const doc = JSON.parse(listed.stdout) as { nftables?: Array<{ table?: { name?: string } }> };
  for (const item of doc.nftables ?? []) {
    const name = item.table?.name;
    if (!name?.startsWith(EGRESS_TABLE_PREFIX)) continue;
    // Only tables of Docker's own bridge names (br-<12 hex>, '-' became '_'): others are not ours to judge.
    const match = /^br_([0-9a-f]{12})$/.exec(name.slice(EGRESS_TABLE_PREFIX.length));
    if (!match || existsSync(`/sys/class/net/br-${match[1]}`)) continue;
    const result = await runNft(nft, ['delete', 'table', 'inet', name]);
    if (result.code === 0) removed.push(name);
  }
  return removed;
}

const BRIDGE_NF = '/proc/sys/net/bridge/bridge-nf-call-iptables';
const BRIDGE_NF6 = '/proc/sys/net/bridge/bridge-nf-call-ip6tables';

/** Bridged IPv4/IPv6 packets must traverse the inet hooks, or peers on the bridge go unfiltered. */
async function ensureBridgeNetfilter(nft: string): Promise<void> {
  if (!existsSync(BRIDGE_NF))
    await new Promise<void>((resolve) => execFile('modprobe', ['br_netfilter'], () => resolve()));
  for (const path of [BRIDGE_NF, BRIDGE_NF6]) {
    let value: string;
    try {
      value = readFileSync(path, 'utf8').trim();
    } catch {
      throw new SandboxFailedError(
        `br_netfilter is not loaded (${path} missing) and modprobe br_netfilter failed; traffic between containers on the egress bridge could not be filtered (nft ${nft})`,
      );
    }
    if (value === '1') continue;
    try {
      writeFileSync(path, '1');
    } catch (error) {
      throw new SandboxFailedError(`could not set ${path} to 1: ${(error as Error).message}`);
    }
  }
}
