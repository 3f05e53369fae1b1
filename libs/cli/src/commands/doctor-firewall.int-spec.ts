// `palisade doctor`'s firewall check against real nftables, in network namespaces this test creates (and
// removes): the layout's ruleset loaded passes; a deleted rule, an extra accept, a changed policy or a
// missing table fails, naming the difference and the fix. The CLI is run inside a namespace too, where the
// VM is found by its address.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadLayout, nftRuleset } from '@palisade/deploy';
import { repoRoot } from '@palisade/testing';
import { checkFirewall } from './doctor-firewall';

const run = promisify(execFile);
const prefix = `pzdoc${randomBytes(2).toString('hex')}`;
const created: string[] = [];
let counter = 0;

async function namespace(): Promise<string> {
  const ns = `${prefix}-${++counter}`;
  await run('ip', ['netns', 'add', ns]);
  created.push(ns);
  await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  return ns;
}

async function nft(ns: string, args: string[], input?: string): Promise<string> {
  const child = run('ip', ['netns', 'exec', ns, 'nft', ...args]);
  if (input !== undefined) {
    child.child.stdin!.end(input);
  }
  return (await child).stdout;
}

const loadVm = (ns: string, vm: string) => nft(ns, ['-f', '-'], nftRuleset(loadLayout(), vm));

/** Handle of the rule in `chain` whose text contains `needle`. */
async function handleOf(ns: string, chain: string, needle: string): Promise<string> {
  const line = (await nft(ns, ['-a', 'list', 'chain', 'inet', 'palisade_fw', chain])).split('\n').find((l) => l.includes(needle));
  if (!line) throw new Error(`no rule with ${needle} in ${chain}`);
  return /# handle (\d+)/.exec(line)![1];
}

const agent = { vm: 'agent', reason: 'test' };

describe('palisade doctor: firewall equals the generated ruleset', () => {
  afterAll(async () => {
    for (const ns of created) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    const { stdout } = await run('ip', ['netns', 'list']);
    expect(stdout).not.toContain(prefix);
  });

  test('the generated ruleset loaded: the check passes', async () => {
    const ns = await namespace();
    await loadVm(ns, 'agent');
    // Traffic changes counter values; they must not count as a difference.
    await run('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '1', '127.0.0.1']).catch(() => undefined);
    const result = await checkFirewall({ vm: agent, netns: ns });
    expect(result).toMatchObject({ check: 'firewall', ok: true });
    expect(result.detail).toContain('equals the layout’s ruleset (3 chains');
    expect(result.detail).toContain('VM agent (test)');
  });

  test('one rule deleted: fails and names the missing rule', async () => {
    const ns = await namespace();
    await loadVm(ns, 'agent');
    await nft(ns, ['delete', 'rule', 'inet', 'palisade_fw', 'input', 'handle', await handleOf(ns, 'input', '"soc-nats"')]);
    const result = await checkFirewall({ vm: agent, netns: ns });
    expect(result.ok).toBe(false);
    expect(result.detail).toContain('chain input: missing rule: ip saddr 10.70.30.0/24 tcp dport 4222 counter accept comment "soc-nats"');
    expect(result.detail).not.toContain('extra rule');
    expect(result.fix).toContain('npx palisade layout nft agent | nft -f -');
    expect(result.fix).toContain('nft -f vm-layout/generated/agent.nft');
  });

  test('one extra accept rule: fails and names it with its handle', async () => {
    const ns = await namespace();
    await loadVm(ns, 'agent');
    await nft(ns, ['insert', 'rule', 'inet', 'palisade_fw', 'input', 'tcp', 'dport', '5432', 'accept']);
    const handle = await handleOf(ns, 'input', 'tcp dport 5432 accept');
    const result = await checkFirewall({ vm: agent, netns: ns });
    expect(result.ok).toBe(false);
    expect(result.detail).toContain(`chain input: extra rule: tcp dport 5432 accept (handle ${handle})`);
    expect(result.detail).not.toContain('missing rule');
  });

  test('a changed chain policy and an extra chain: fails and says what changed', async () => {
    const ns = await namespace();
    await loadVm(ns, 'agent');
    await nft(ns, ['-f', '-'], 'table inet palisade_fw {\n  chain output {\n    policy accept;\n  }\n  chain sneaky {\n    tcp dport 6379 accept\n  }\n}\n');
    const result = await checkFirewall({ vm: agent, netns: ns });
    expect(result.ok).toBe(false);
    expect(result.detail).toContain('chain output: policy is accept, expected drop');
    expect(result.detail).toContain('extra chain sneaky (regular chain; 1 rule(s))');
  });

  test('the ruleset of another VM loaded: fails (the input flows differ)', async () => {
    const ns = await namespace();
    await loadVm(ns, 'nextcloud');
    const result = await checkFirewall({ vm: agent, netns: ns });
    expect(result.ok).toBe(false);
    expect(result.detail).toContain('chain input: missing rule: ip saddr 10.70.10.0/24 tcp dport 18443 counter accept comment "operator-gateway"');
    expect(result.detail).toContain('chain input: extra rule: ');
  });

  test('table missing: fails with the fix', async () => {
    const ns = await namespace();
    const result = await checkFirewall({ vm: agent, netns: ns });
    expect(result).toMatchObject({ check: 'firewall', ok: false });
    expect(result.detail).toContain('table inet palisade_fw is not loaded');
    expect(result.fix).toContain('npx palisade layout nft agent | nft -f -');
  });

  test('the CLI inside a VM namespace: the VM is found by its address; its ruleset passes, another fails with exit 1', async () => {
    const ns = await namespace();
    // The ollama VM's address on an interface that is up (a veth pair inside the namespace).
    await run('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1']);
    await run('ip', ['-n', ns, 'addr', 'add', '10.70.1.30/24', 'dev', 'eth0']);
    await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    await run('ip', ['-n', ns, 'link', 'set', 'eth1', 'up']);
    const cli = () =>
      run('ip', ['netns', 'exec', ns, process.execPath, join(repoRoot(), 'bin', 'palisade.js'), 'doctor', '--only', 'firewall', '--json']).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: { code: number; stdout: string }) => error,
      );
    await loadVm(ns, 'ollama');
    const good = await cli();
    expect(good.code).toBe(0);
    const report = JSON.parse(good.stdout) as { checks: { ok: boolean; detail: string }[] };
    expect(report.checks[0].detail).toContain('VM ollama (its address 10.70.1.30 is on a local interface)');
    await loadVm(ns, 'agent');
    const bad = await cli();
    expect(bad.code).toBe(1);
    const failed = JSON.parse(bad.stdout) as { checks: { ok: boolean; detail: string; fix: string }[] };
    expect(failed.checks[0].detail).toContain('chain input: missing rule: ip saddr 10.70.1.20 tcp dport 11434 counter accept comment "agent-ollama"');
    expect(failed.checks[0].fix).toContain('npx palisade layout nft ollama | nft -f -');
  });
});
