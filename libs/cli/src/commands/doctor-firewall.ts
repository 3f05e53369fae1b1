// `palisade doctor`'s firewall check: the LOADED table inet palisade_fw must equal the ruleset the layout
// generates for this VM. Both sides are read back from the kernel the same way (`nft -j list table` for the
// comparison, `nft -a list table` for the rule text in the report): the expected side by loading the
// generated ruleset into a throwaway network namespace (`unshare --net`: the kernel frees it when nft exits,
// so nothing is left behind even if doctor is killed), the actual side from this host's namespace. Both are
// normalised — handles and counter/quota values dropped — and compared chain by chain, rule by rule.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { defaultLayoutFile, loadLayout, nftRuleset, NFT_TABLE } from '@palisade/deploy';
import type { CheckResult } from './doctor.command';

const execFileP = promisify(execFile);
const TEXT_MARKER = '@@palisade-doctor-text@@';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface VmChoice {
  vm: string;
  /** Why this VM: shown in the check's detail. */
  reason: string;
}

/** --vm if given; else the layout VM whose address is on a local interface; else agent. */
export function chooseVm(layoutFile: string, explicit?: string, addresses = localAddresses()): VmChoice {
  if (explicit) return { vm: explicit, reason: '--vm' };
  if (existsSync(layoutFile)) {
    try {
      const vms = (parseYaml(readFileSync(layoutFile, 'utf8')) as { vms?: Record<string, { address?: string }> }).vms ?? {};
      const mine = Object.entries(vms).find(([, vm]) => vm?.address && addresses.includes(vm.address));
      if (mine) return { vm: mine[0], reason: `its address ${mine[1].address} is on a local interface` };
    } catch {
      // An unreadable layout is reported by the checks that need it; the default VM stands.
    }
  }
  return { vm: 'agent', reason: 'default: no layout VM’s address is on a local interface' };
}

function localAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((a) => a.address);
}

/** One rule, normalised for comparison (key) and as nft prints it (text). */
export interface NftRule {
  key: string;
  text: string;
  handle?: number;
}

export interface NftChain {
  /** type/hook/prio/policy (base chains), normalised. */
  attrs: Record<string, Json>;
  rules: NftRule[];
}

export interface NftTable {
  chains: Map<string, NftChain>;
  /** Named objects other than chains and rules (counters, sets, maps, quotas, …), normalised. */
  objects: Map<string, string>;
}

/** Keys whose values change while the ruleset is in use, or are assigned by the kernel. */
const VOLATILE = new Set(['handle', 'packets', 'bytes', 'used', 'expires']);

function normalise(value: Json): Json {
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === 'object') {
    const out: Record<string, Json> = {};
    for (const key of Object.keys(value).sort()) if (!VOLATILE.has(key)) out[key] = normalise(value[key]);
    return out;
  }
  return value;
}

/** Rule text by chain and handle, from `nft -a list table …` (counter values dropped). */
export function ruleTexts(listing: string): Map<string, string> {
  const texts = new Map<string, string>();
  let chain: string | undefined;
  for (const raw of listing.split('\n')) {
    const line = raw.trim();
    const start = /^chain (\S+) \{/.exec(line);
    if (start) {
      chain = start[1];
      continue;
    }
    if (line === '}') {
      chain = undefined;
      continue;
    }
    const rule = /^(.*\S) # handle (\d+)$/.exec(line);
    if (chain && rule) texts.set(`${chain}#${rule[2]}`, rule[1].replace(/counter packets \d+ bytes \d+/g, 'counter'));
  }
  return texts;
}

/** Parse `nft -j list table` (plus the `-a` text listing for the rules' text) into a comparable table. */
export function parseNftTable(json: string, text = ''): NftTable {
  const texts = ruleTexts(text);
  const doc = JSON.parse(json) as { nftables?: Record<string, Record<string, Json>>[] };
  const table: NftTable = { chains: new Map(), objects: new Map() };
  for (const item of doc.nftables ?? []) {
    const [kind] = Object.keys(item);
    const body = item[kind];
    if (kind === 'metainfo') continue;
    if (kind === 'table') {
      const { family: _f, name: _n, ...rest } = body;
      table.objects.set('table flags', JSON.stringify(normalise(rest)));
    } else if (kind === 'chain') {
      const { family: _f, table: _t, name, ...rest } = body;
      table.chains.set(String(name), { attrs: normalise(rest) as Record<string, Json>, rules: [] });
    } else if (kind === 'rule') {
      const chainName = String(body.chain);
      const chain = table.chains.get(chainName) ?? { attrs: {}, rules: [] };
      table.chains.set(chainName, chain);
      const handle = typeof body.handle === 'number' ? body.handle : undefined;
      const key = JSON.stringify(normalise({ expr: body.expr ?? null, comment: body.comment ?? null }));
      chain.rules.push({ key, handle, text: texts.get(`${chainName}#${handle}`) ?? key });
    } else {
      const { family: _f, table: _t, ...rest } = body;
      table.objects.set(`${kind} ${String(body.name)}`, JSON.stringify(normalise(rest)));
    }
  }
  return table;
}

/** Longest common subsequence of two key lists: which indices of each are matched. */
function lcs(a: string[], b: string[]): { inA: boolean[]; inB: boolean[] } {
  const n = a.length;
  const m = b.length;
  const len: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) len[i][j] = a[i] === b[j] ? len[i + 1][j + 1] + 1 : Math.max(len[i + 1][j], len[i][j + 1]);
  const inA = new Array<boolean>(n).fill(false);
  const inB = new Array<boolean>(m).fill(false);
  for (let i = 0, j = 0; i < n && j < m; ) {
    if (a[i] === b[j]) {
      inA[i++] = inB[j++] = true;
    } else if (len[i + 1][j] >= len[i][j + 1]) i++;
    else j++;
  }
  return { inA, inB };
}

const describeAttrs = (attrs: Record<string, Json>): string =>
  Object.keys(attrs).length ? Object.entries(attrs).map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') : 'regular chain';

/** Every difference between the expected and the loaded table, one line each; empty when they are equal. */
export function diffTables(expected: NftTable, actual: NftTable): string[] {
  const out: string[] = [];
  for (const [name, want] of expected.chains) {
    const have = actual.chains.get(name);
    if (!have) {
      out.push(`chain ${name} is missing (${describeAttrs(want.attrs)}; ${want.rules.length} rule(s))`);
      continue;
    }
    for (const key of new Set([...Object.keys(want.attrs), ...Object.keys(have.attrs)])) {
      const w = JSON.stringify(want.attrs[key] ?? null);
      const h = JSON.stringify(have.attrs[key] ?? null);
      if (w !== h) out.push(`chain ${name}: ${key} is ${h === 'null' ? 'not set' : h.replace(/^"|"$/g, '')}, expected ${w === 'null' ? 'not set' : w.replace(/^"|"$/g, '')}`);
    }
    const { inA, inB } = lcs(
      want.rules.map((r) => r.key),
      have.rules.map((r) => r.key),
    );
    const missing = want.rules.filter((_, i) => !inA[i]);
    const extra = have.rules.filter((_, i) => !inB[i]);
    const extraKeys = new Set(extra.map((r) => r.key));
    const missingKeys = new Set(missing.map((r) => r.key));
    for (const r of missing) if (!extraKeys.has(r.key)) out.push(`chain ${name}: missing rule: ${r.text}`);
    for (const r of extra)
      out.push(missingKeys.has(r.key) ? `chain ${name}: rule out of order: ${r.text} (handle ${r.handle})` : `chain ${name}: extra rule: ${r.text} (handle ${r.handle})`);
  }
  for (const [name, have] of actual.chains) if (!expected.chains.has(name)) out.push(`extra chain ${name} (${describeAttrs(have.attrs)}; ${have.rules.length} rule(s))`);
  for (const [name, want] of expected.objects) {
    const have = actual.objects.get(name);
    if (have === undefined) out.push(`${name} is missing`);
    else if (have !== want) out.push(`${name} differs: ${have}, expected ${want}`);
  }
  for (const name of actual.objects.keys()) if (!expected.objects.has(name)) out.push(`extra ${name}`);
  return out;
}

/** Run a command (inside `netns` when given) with `input` on stdin; rejects with stderr on failure. */
function runCommand(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(Object.assign(new Error(`${cmd} exited with ${code ?? signal}`), { stderr: stderr.trim() || `${cmd} exited with ${code ?? signal}` }));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

const inNetns = (netns: string | undefined, cmd: string, args: string[]): [string, string[]] => (netns ? ['ip', ['netns', 'exec', netns, cmd, ...args]] : [cmd, args]);

/** The loaded table: JSON and `-a` text, or undefined when it does not exist. */
async function listLoaded(netns?: string): Promise<{ json: string; text: string } | undefined> {
  const list = async (flag: string) => {
    const [cmd, args] = inNetns(netns, 'nft', [flag, 'list', 'table', 'inet', NFT_TABLE]);
    return (await execFileP(cmd, args, { timeout: 20_000, maxBuffer: 64 * 1024 * 1024 })).stdout;
  };
  try {
    const json = await list('-j');
    return { json, text: await list('-a') };
  } catch (error) {
    if (/No such file or directory/.test(String((error as { stderr?: string }).stderr ?? ''))) return undefined;
    throw error;
  }
}

/** The generated ruleset, loaded into a namespace of its own and listed back: JSON and `-a` text. */
export async function listGenerated(ruleset: string): Promise<{ json: string; text: string }> {
  const script = `nft -f - >&2 && nft -j list table inet ${NFT_TABLE} && echo '${TEXT_MARKER}' && nft -a list table inet ${NFT_TABLE}`;
  const out = await runCommand('unshare', ['--net', '--', 'sh', '-c', script], ruleset);
  const at = out.indexOf(TEXT_MARKER);
  if (at < 0) throw new Error('unexpected output listing the generated ruleset');
  return { json: out.slice(0, at), text: out.slice(at + TEXT_MARKER.length) };
}

function errorText(error: unknown): string {
  const e = error as { stderr?: string; message?: string };
  return String(e?.stderr || e?.message || error)
    .split('\n')
    .filter(Boolean)
    .join(' ')
    .trim();
}

function privilegeProblem(error: unknown): string | undefined {
  const e = error as { code?: string; path?: string; syscall?: string };
  if (e?.code === 'ENOENT') return `${String(e.path ?? 'nft').replace(/^.*\//, '')} is not installed`;
  if (/Operation not permitted|Permission denied|EPERM/i.test(errorText(error))) return 'not permitted (doctor needs root for nftables)';
  return undefined;
}

export interface FirewallCheckOptions {
  layoutFile?: string;
  vm: VmChoice;
  /** Read the loaded table from this network namespace (`ip netns exec`) instead of doctor's own: for tests. */
  netns?: string;
}

/** The firewall check: the loaded table inet palisade_fw equals the layout's ruleset for the VM. */
export async function checkFirewall(options: FirewallCheckOptions): Promise<CheckResult> {
  const layoutFile = options.layoutFile ?? defaultLayoutFile();
  const { vm, reason } = options.vm;
  const custom = layoutFile !== defaultLayoutFile();
  const fix = `load this VM’s generated ruleset, as root: npx palisade layout nft ${vm}${custom ? ` --file ${layoutFile}` : ''} | nft -f -${custom ? '' : ` (or: nft -f vm-layout/generated/${vm}.nft, after npx palisade layout generate --check)`}`;
  const fail = (detail: string, fixText = fix): CheckResult => ({ check: 'firewall', ok: false, detail: `VM ${vm} (${reason}): ${detail}`, fix: fixText });
  let ruleset: string;
  try {
    ruleset = nftRuleset(loadLayout(layoutFile), vm);
  } catch (error) {
    return fail(`cannot generate the ruleset from ${layoutFile}: ${errorText(error)}`, 'fix the layout (npx palisade layout check), or name this host’s VM with --vm / the layout with --layout');
  }
  let loaded: { json: string; text: string } | undefined;
  try {
    loaded = await listLoaded(options.netns);
  } catch (error) {
    const problem = privilegeProblem(error);
    return problem
      ? fail(`cannot read the loaded ruleset: ${problem}`, 'run doctor as root on the VM, with nftables installed (apt-get install nftables)')
      : fail(`cannot read the loaded ruleset: ${errorText(error)}`);
  }
  if (!loaded) return fail(`table inet ${NFT_TABLE} is not loaded: every flow of the layout is unenforced`);
  let generated: { json: string; text: string };
  try {
    generated = await listGenerated(ruleset);
  } catch (error) {
    const problem = privilegeProblem(error);
    return fail(
      `cannot load the generated ruleset into a throwaway network namespace to compare: ${problem ?? errorText(error)}`,
      'run doctor as root on the VM, with nftables and util-linux (unshare) installed',
    );
  }
  const differences = diffTables(parseNftTable(generated.json, generated.text), parseNftTable(loaded.json, loaded.text));
  if (differences.length) return fail(`table inet ${NFT_TABLE} differs from the layout’s ruleset: ${differences.join('; ')}`);
  const expected = parseNftTable(generated.json);
  const rules = [...expected.chains.values()].reduce((n, c) => n + c.rules.length, 0);
  return {
    check: 'firewall',
    ok: true,
    detail: `VM ${vm} (${reason}): table inet ${NFT_TABLE} equals the layout’s ruleset (${expected.chains.size} chains, ${rules} rules, policies and hooks)`,
  };
}
