import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedFiles, loadLayout, nftRuleset, renderFlowTable, type Layout } from './index';

const root = join(__dirname, '..', '..', '..');
const layout = loadLayout();
const chainOf = (ruleset: string, name: string): string => {
  const start = ruleset.indexOf(`  chain ${name} {`);
  return ruleset.slice(start, ruleset.indexOf('\n  }', start));
};
const acceptRules = (chain: string): string[] => chain.split('\n').filter((l) => /\baccept\b/.test(l)).map((l) => l.trim());

describe('nftables rulesets generated from the layout', () => {
  it('the committed generated files and the SECURITY.md flow table are up to date (run `npx palisade layout generate`)', () => {
    for (const [path, content] of Object.entries(generatedFiles(layout, root))) {
      expect({ path, content: readFileSync(join(root, path), 'utf8') }).toEqual({ path, content });
    }
  });

  it('replaces only its own table, atomically, and never flushes the ruleset', () => {
    for (const vm of Object.keys(layout.vms)) {
      const ruleset = nftRuleset(layout, vm);
      expect(ruleset).not.toMatch(/flush ruleset/);
      expect(ruleset).toMatch(/^table inet palisade_fw \{\}\ndelete table inet palisade_fw\n\ntable inet palisade_fw \{$/m);
      expect(ruleset.match(/^table /gm)).toHaveLength(2);
      for (const chain of ['input', 'forward', 'output']) {
        expect(chainOf(ruleset, chain)).toContain('policy drop;');
        expect(chainOf(ruleset, chain)).toContain(`counter name "dropped_${chain}"`);
        expect(chainOf(ruleset, chain)).toContain('log prefix "palisade-drop "');
      }
    }
  });

  it('Ollama: reachable only from the agent (11434) and admin (22), starts nothing', () => {
    const ruleset = nftRuleset(layout, 'ollama');
    expect(acceptRules(chainOf(ruleset, 'input')).filter((r) => r.includes('dport'))).toEqual([
      'ip saddr 10.70.1.20 tcp dport 11434 counter accept comment "agent-ollama"',
      'ip saddr 10.70.20.0/24 tcp dport 22 counter accept comment "admin-ssh-ollama"',
    ]);
    expect(acceptRules(chainOf(ruleset, 'output'))).toEqual([
      'oif "lo" accept',
      'ct state established,related accept',
      'oifname { "docker0", "br-*" } accept',
      'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept',
    ]);
    expect(chainOf(ruleset, 'forward')).not.toMatch(/iifname \{ "docker0", "br-\*" \} ip daddr/);
  });

  it('agent: NATS only from the SOC network, PostgreSQL and the NATS monitor from nowhere; published ports filtered by their original port', () => {
    const ruleset = nftRuleset(layout, 'agent');
    const input = chainOf(ruleset, 'input');
    expect(input).toContain('ip saddr 10.70.30.0/24 tcp dport 4222 counter accept');
    expect(input).not.toMatch(/dport (5432|8222)\b/);
    expect(input).not.toMatch(/ip saddr 10\.70\.1\.10 tcp dport (4222|18443)/);
    const forward = chainOf(ruleset, 'forward');
    expect(forward).toContain('ct status dnat ip saddr 10.70.1.10 meta l4proto tcp ct original proto-dst 18788 counter accept');
    expect(forward).not.toMatch(/proto-dst (5432|8222)\b/);
    // No cloud endpoint configured: no 443 to the internet.
    expect(chainOf(ruleset, 'output')).not.toMatch(/tcp dport 443 counter accept comment "agent-cloud-models"/);
  });

  it('agent: 443 to the internet only to the configured cloud endpoint addresses', () => {
    const withCloud: Layout = { ...layout, cloud_endpoints: [{ name: 'anthropic', host: 'api.anthropic.com', cidrs: ['203.0.113.7/32', '203.0.113.64/26'] }] };
    const output = chainOf(nftRuleset(withCloud, 'agent'), 'output');
    expect(output).toContain('ip daddr { 203.0.113.7/32, 203.0.113.64/26 } tcp dport 443 counter accept comment "agent-cloud-models"');
  });

  it('the flow table lists every flow with its reason', () => {
    const table = renderFlowTable(layout);
    for (const flow of layout.flows) expect(table).toContain(`| \`${flow.id}\` | ${flow.from} |`);
    expect(table).toContain('| ollama | 10.70.1.30 | **none** |');
  });

  it('refuses an unknown VM', () => {
    expect(() => nftRuleset(layout, 'mailserver')).toThrow(/no VM "mailserver"/);
  });
});
