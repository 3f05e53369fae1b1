// `palisade layout check|flows|nft <vm>|generate`: the three-VM layout (vm-layout/layout.yaml) and
// what is generated from it (nftables rulesets, the flow table in SECURITY.md).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { defaultLayoutFile, flows, generatedFiles, loadLayout, nftRuleset, sandboxAllowlistOf, sandboxAllowlistProblems } from '@palisade/deploy';
import { parseArgs } from '../args';
import { repoRoot } from '../paths';

const HELP = `usage: palisade layout <command> [--file vm-layout/layout.yaml]
  check              validate the layout (schema + cross-references); prints every problem with its path
  flows [--json]     list every allowed flow: id, from, to, port, why
  nft <vm>           print the nftables ruleset of one VM (load with: nft -f FILE)
  sandbox-allowlist [--check LIST]
                     print PALISADE_SANDBOX_EGRESS_ALLOWLIST as the layout's sandbox_egress implies;
                     --check: compare a configured allowlist with the layout, exit 1 on any mismatch
  generate [--check] write vm-layout/generated/* and the flow table in SECURITY.md;
                     --check: write nothing, exit 1 when a generated file is out of date`;

export async function runLayoutCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h') {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  const { flags, positional } = parseArgs(rest, { file: 'string', json: 'boolean', check: sub === 'sandbox-allowlist' ? 'string' : 'boolean' });
  const file = flags.file ? resolve(String(flags.file)) : defaultLayoutFile();
  const layout = loadLayout(file);
  switch (sub) {
    case 'check': {
      const all = flows(layout);
      console.log(`${file}: valid — ${Object.keys(layout.vms).length} VMs, ${Object.keys(layout.networks).length} networks, ${all.length} flows (${all.filter((f) => f.active).length} active)`);
      return 0;
    }
    case 'flows': {
      const all = flows(layout);
      if (flags.json) {
        console.log(JSON.stringify(all, null, 2));
        return 0;
      }
      for (const f of all) {
        const to = f.service ? `${f.to}:${f.service}` : f.to;
        console.log(`${f.active ? 'allow   ' : 'inactive'} ${f.id.padEnd(22)} ${f.from.padEnd(9)} → ${to.padEnd(20)} ${`${f.protocol}/${f.port}`.padEnd(9)} ${f.why}`);
      }
      console.log('everything else: dropped, logged ("palisade-drop ") and counted');
      return 0;
    }
    case 'nft': {
      const vm = positional[0];
      if (!vm) throw new Error(`name a VM: ${Object.keys(layout.vms).join(', ')}`);
      process.stdout.write(nftRuleset(layout, vm));
      return 0;
    }
    case 'sandbox-allowlist': {
      if (flags.check === undefined) {
        console.log(sandboxAllowlistOf(layout));
        return 0;
      }
      const problems = sandboxAllowlistProblems(layout, String(flags.check));
      if (problems.length) {
        console.error(`sandbox egress allowlist and layout disagree:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
        return 1;
      }
      console.log('sandbox egress allowlist matches the layout');
      return 0;
    }
    case 'generate': {
      const root = repoRoot();
      const stale: string[] = [];
      for (const [path, content] of Object.entries(generatedFiles(layout, root))) {
        const target = join(root, path);
        const current = existsSync(target) ? readFileSync(target, 'utf8') : undefined;
        if (current === content) continue;
        stale.push(path);
        if (!flags.check) {
          mkdirSync(dirname(target), { recursive: true });
          writeFileSync(target, content);
        }
      }
      if (flags.check) {
        if (stale.length) console.error(`out of date (run: npx palisade layout generate): ${stale.join(', ')}`);
        else console.log('generated files are up to date');
        return stale.length ? 1 : 0;
      }
      console.log(stale.length ? `wrote ${stale.join(', ')}` : 'generated files were already up to date');
      return 0;
    }
    default:
      console.error(`palisade layout: unknown command "${sub}"\n${HELP}`);
      return 2;
  }
}
