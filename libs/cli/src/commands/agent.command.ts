// `palisade agent freeze|thaw|status`: the kill switch from the command line (no API key needed: the
// CLI runs on the gateway machine with its credentials).
import {
  freezeAgent,
  foldFreezeState,
  thawAgent,
} from '../../../../services/gateway/src/auth/core/auth.operations';
import { parseArgs } from '../args';
import { CLI_ACTOR, openGatewayState } from './auth.command';

const HELP = `usage: palisade agent <command> [options]
  freeze [--reason R]   stop the agent at once: appends agent.frozen (turns, approvals, cron and sandbox
                        stop), revokes EVERY API key, refuses operator actions except an admin thaw
  thaw [--reason R]     lift the freeze (revoked keys stay revoked: make new ones)
  status                frozen or not, since when and why`;

export async function runAgentCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'freeze': {
      const { flags } = parseArgs(rest, { reason: 'string' });
      const state = await openGatewayState();
      try {
        const outcome = await freezeAgent(state.store, state.events, {
          reason: String(flags.reason ?? 'frozen from the command line'),
          actor: CLI_ACTOR,
        });
        console.log(`agent frozen (event ${outcome.seq}); ${outcome.revoked.length} API key(s) revoked`);
        for (const k of outcome.revoked) console.log(`  revoked ${k.id} (${k.label})`);
        console.log(
          'Also disable the agent’s Nextcloud account if you suspect its credentials (see SECURITY.md).',
        );
      } finally {
        await state.close();
      }
      return 0;
    }
    case 'thaw': {
      const { flags } = parseArgs(rest, { reason: 'string' });
      const state = await openGatewayState();
      try {
        const seq = await thawAgent(state.events, {
          reason: flags.reason ? String(flags.reason) : undefined,
          actor: CLI_ACTOR,
        });
        console.log(`agent thawed (event ${seq}); keys revoked by the freeze stay revoked`);
      } finally {
        await state.close();
      }
      return 0;
    }
    case 'status': {
      parseArgs(rest, {});
      const state = await openGatewayState();
      try {
        const { state: s } = await foldFreezeState(state.events, { frozen: false, version: 0 }, 1);
        console.log(
          s.frozen
            ? `FROZEN since ${s.since}: ${s.reason}`
            : `running${s.since ? ` (thawed ${s.since})` : ''}`,
        );
      } finally {
        await state.close();
      }
      return 0;
    }
    default:
      console.log(HELP);
      return sub && sub !== '--help' ? 2 : 0;
  }
}
