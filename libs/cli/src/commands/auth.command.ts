// `palisade auth …`: the operator password and API keys, working directly on the gateway's state
// (PostgreSQL schema `gateway` as palisade_gateway, events as the gateway's NATS user) — the same
// code path the gateway's own API uses, so keys made here work on every replica at once.
import { readFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import { Client } from 'pg';
import { readSecretFile } from '@palisade/config';
import type { EventActor } from '@palisade/contracts';
import { EventStore } from '@palisade/event-log';
import { connectNats } from '@palisade/nats';
import {
  createApiKey,
  LabelError,
  revokeApiKey,
} from '../../../../services/gateway/src/auth/core/auth.operations';
import { AuthStore } from '../../../../services/gateway/src/auth/core/auth.store';
import {
  hashPassword,
  OPERATOR_USER,
  PasswordPolicyError,
} from '../../../../services/gateway/src/auth/core/password';
import { SCOPE_HELP, ScopeError } from '../../../../services/gateway/src/auth/core/scopes';
import { parseArgs } from '../args';
import { infraEnv } from '../infra/infra-env';
import { natsSeedFile, pgPasswordFile } from '../paths';

export const CLI_ACTOR: EventActor = { type: 'user', id: 'operator@cli' };

const HELP = `usage: palisade auth <command> [options]
  set-password [--password-file F]    set or change the operator password (Argon2id); read from stdin
                                      or from a mode-600 file; ends every open session
  create-api-key --label L (--scopes a,b | --full-access) [--json]
                                      make an API key; the key is printed once and never again
  list-api-keys [--json]              label, scopes, created, last used, revoked
  revoke-api-key <id> [--reason R]    revoke a key: its next request fails, its WebSockets close

Scopes:
${SCOPE_HELP}`;

export interface GatewayState {
  store: AuthStore;
  events: EventStore;
  close: () => Promise<void>;
}

/**
 * Inside the gateway's container (PALISADE_SERVICE=gateway, e.g. `docker compose exec gateway palisade
 * auth …`) the CLI uses the gateway's own secret files from its environment; elsewhere the ones under
 * $PALISADE_HOME/secrets.
 */
function gatewaySecret(variable: 'PALISADE_PG_PASSWORD_FILE' | 'PALISADE_NATS_SEED_FILE', fallback: string): string {
  return process.env.PALISADE_SERVICE === 'gateway' && process.env[variable] ? (process.env[variable] as string) : fallback;
}

/** PostgreSQL as the gateway's role and NATS as the gateway's user (the CLI acts for the gateway). */
export async function openGatewayState(needNats = true): Promise<GatewayState> {
  const env = infraEnv();
  const db = new Client({
    host: env.pgHost,
    port: env.pgPort,
    database: env.pgDatabase,
    user: 'palisade_gateway',
    password: readFileSync(gatewaySecret('PALISADE_PG_PASSWORD_FILE', pgPasswordFile('palisade_gateway')), 'utf8').trim(),
  });
  await db.connect();
  let nc: NatsConnection | undefined;
  try {
    if (needNats) {
      nc = await connectNats({
        user: 'gateway',
        url: env.natsUrl,
        caFile: env.natsCaFile,
        seed: readFileSync(gatewaySecret('PALISADE_NATS_SEED_FILE', natsSeedFile('gateway')), 'utf8').trim(),
        reconnect: false,
      });
    }
  } catch (error) {
    await db.end();
    throw error;
  }
  return {
    store: new AuthStore(db),
    events: nc ? new EventStore(nc) : (undefined as unknown as EventStore),
    close: async () => {
      await db.end().catch(() => undefined);
      await nc?.close().catch(() => undefined);
    },
  };
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Operator password (input hidden, end with Enter): ');
  const chunks: Buffer[] = [];
  if (process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    return new Promise((resolve) => {
      let text = '';
      process.stdin.on('data', (d: Buffer) => {
        for (const ch of d.toString('utf8')) {
          if (ch === '\r' || ch === '\n' || ch === '\u0004') {
            process.stdin.setRawMode(false);
            process.stdin.pause();
            process.stderr.write('\n');
            return resolve(text);
          }
          if (ch === '\u0003') process.exit(130);
          text = ch === '\u007f' ? text.slice(0, -1) : text + ch;
        }
      });
    });
  }
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

const fmt = (d: Date | null) => (d ? d.toISOString() : '-');

export async function runAuthCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  try {
    switch (sub) {
      case 'set-password': {
        const { flags } = parseArgs(rest, { 'password-file': 'string' });
        const password = flags['password-file']
          ? readSecretFile(String(flags['password-file']), '--password-file')
          : await readStdin();
        const hash = await hashPassword(password);
        const state = await openGatewayState(false);
        try {
          await state.store.setPasswordHash(OPERATOR_USER, hash, false);
          const ended = await state.store.deleteAllSessions();
          console.log(`operator password set (Argon2id)${ended ? `; ${ended} open session(s) ended` : ''}`);
        } finally {
          await state.close();
        }
        return 0;
      }
      case 'create-api-key': {
        const { flags } = parseArgs(rest, {
          label: 'string',
          scopes: 'string',
          'full-access': 'boolean',
          json: 'boolean',
        });
        if (!flags.label) throw new LabelError('--label is required');
        const scopes = flags.scopes ? String(flags.scopes).split(',') : undefined;
        const state = await openGatewayState();
        try {
          const { key, secret } = await createApiKey(state.store, state.events, {
            label: String(flags.label),
            scopes,
            fullAccess: flags['full-access'] === true,
            actor: CLI_ACTOR,
          });
          if (flags.json)
            console.log(JSON.stringify({ id: key.id, label: key.label, scopes: key.scopes, key: secret }));
          else {
            console.log(`API key "${key.label}" (id ${key.id}), scopes: ${key.scopes.join(', ')}`);
            console.log(secret);
            console.log('Store it now: it is shown this once and cannot be recovered.');
          }
          if (flags['full-access']) {
            console.error(
              'warning: this key has FULL ACCESS (operator.admin): it can do everything an operator can, including creating keys and freezing the agent.',
            );
          }
        } finally {
          await state.close();
        }
        return 0;
      }
      case 'list-api-keys': {
        const { flags } = parseArgs(rest, { json: 'boolean' });
        const state = await openGatewayState(false);
        try {
          const keys = await state.store.listApiKeys();
          if (flags.json) console.log(JSON.stringify(keys, null, 2));
          else if (!keys.length) console.log('no API keys');
          else {
            for (const k of keys) {
              console.log(
                `${k.id}  ${k.label}  [${k.scopes.join(',')}]  created ${fmt(k.createdAt)}  last used ${fmt(k.lastUsedAt)}${k.revokedAt ? `  REVOKED ${fmt(k.revokedAt)}` : ''}`,
              );
            }
          }
        } finally {
          await state.close();
        }
        return 0;
      }
      case 'revoke-api-key': {
        const { flags, positional } = parseArgs(rest, { reason: 'string' });
        const id = positional[0];
        if (!id || !/^[0-9a-f-]{36}$/i.test(id))
          throw new Error('give the id of the key to revoke (see list-api-keys)');
        const state = await openGatewayState();
        try {
          const revoked = await revokeApiKey(
            state.store,
            state.events,
            id,
            String(flags.reason ?? 'revoked from the command line'),
            CLI_ACTOR,
          );
          if (revoked) console.log(`revoked ${revoked.id} (${revoked.label})`);
          else {
            const existing = await state.store.getApiKey(id);
            console.log(existing ? `${id} was already revoked` : `no API key ${id}`);
            return existing ? 0 : 1;
          }
        } finally {
          await state.close();
        }
        return 0;
      }
      default:
        console.log(HELP);
        return sub && sub !== '--help' ? 2 : 0;
    }
  } catch (error) {
    if (error instanceof ScopeError || error instanceof LabelError || error instanceof PasswordPolicyError) {
      console.error(`palisade auth ${sub}: ${error.message}`);
      return 2;
    }
    throw error;
  }
}
