// `palisade <command>`: the operator's command line. Each command group lives in commands/.
import 'reflect-metadata';
import { runAgentCommand } from './commands/agent.command';
import { runAuditCommand } from './commands/audit.command';
import { runAuthCommand } from './commands/auth.command';
import { runDoctorCommand } from './commands/doctor.command';
import { runInfraCommand } from './commands/infra.command';
import { runLayoutCommand } from './commands/layout.command';

interface CommandGroup {
  summary: string;
  run: (args: string[]) => Promise<number>;
}

export const COMMANDS: Record<string, CommandGroup> = {
  agent: { summary: 'the kill switch: freeze, thaw, status', run: runAgentCommand },
  auth: { summary: 'operator password and API keys: set-password, create-api-key, list-api-keys, revoke-api-key', run: runAuthCommand },
  doctor: { summary: 'check this host against the deployment: sockets, firewall, Docker, TLS, password, NATS, ledger', run: runDoctorCommand },
  audit: { summary: 'the tamper-evident ledger: verify, tail (SOC feed), pubkey', run: runAuditCommand },
  layout: { summary: 'the three-VM layout: check, flows, nft <vm>, generate (nftables rulesets, SECURITY.md flow table)', run: runLayoutCommand },
  infra: { summary: 'local infrastructure: secrets, nats-config, setup (used by scripts/infra.sh)', run: runInfraCommand },
};

export function usage(): string {
  return [
    'usage: palisade <command> [options]',
    '',
    ...Object.entries(COMMANDS).map(([name, group]) => `  ${name.padEnd(10)} ${group.summary}`),
    '',
    'Run `palisade <command> --help` for a command’s options.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const group = COMMANDS[name];
  if (!group) {
    console.error(`palisade: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  return group.run(rest);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`palisade: ${(error as Error)?.message ?? error}`);
      process.exit(1);
    },
  );
}
