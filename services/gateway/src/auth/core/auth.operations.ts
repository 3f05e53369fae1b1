// Operations shared by the gateway's API and the `palisade` CLI: key lifecycle and the kill switch.
// PostgreSQL holds the live state (what authenticates a request); every change is also appended to
// the event log (apikey.created / apikey.revoked / agent.frozen / agent.thawed) as the audit record.
import {
  applyFreeze,
  createEvent,
  DEFAULT_AGENT_ID,
  type EventActor,
  NAME_MAX,
  NOT_FROZEN,
  type Scope,
  uuidv7,
} from '@palisade/contracts';
import type { EventStore } from '@palisade/event-log';
import { generateApiKey } from './api-key.crypto';
import { type ApiKeyRecord, AuthStore } from './auth.store';
import { scopesForNewKey } from './scopes';

export class LabelError extends Error {
  override readonly name = 'LabelError';
}

export interface CreatedApiKey {
  key: ApiKeyRecord;
  /** The only time the secret exists outside the caller's hands. */
  secret: string;
}

export async function createApiKey(
  store: AuthStore,
  events: EventStore,
  input: { label: string; scopes?: readonly string[]; fullAccess?: boolean; actor: EventActor },
): Promise<CreatedApiKey> {
  const label = (input.label ?? '').trim();
  if (
    !label ||
    label.length > NAME_MAX ||
    [...label].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)
  ) {
    throw new LabelError(`a key needs a label of 1 to ${NAME_MAX} printable characters`);
  }
  const scopes = scopesForNewKey(input.scopes, input.fullAccess === true);
  const generated = generateApiKey();
  const id = uuidv7();
  const key = await store.insertApiKey({
    id,
    label,
    lookupPrefix: generated.lookupPrefix,
    salt: generated.salt,
    hash: generated.hash,
    scopes,
    createdBy: `${input.actor.type}:${input.actor.id}`,
  });
  try {
    await events.append(
      createEvent({
        type: 'apikey.created',
        source: 'gateway',
        aggregateId: id,
        data: { keyId: id, label, scopes },
        actor: input.actor,
        trust: 'trusted',
      }),
      'none',
    );
  } catch (error) {
    // No key may exist without its audit record.
    await store.deleteApiKey(id);
    throw error;
  }
  return { key, secret: generated.secret };
}

export async function recordRevocation(
  events: EventStore,
  key: ApiKeyRecord,
  reason: string,
  actor: EventActor,
): Promise<void> {
  await events.append(
    createEvent({
      type: 'apikey.revoked',
      source: 'gateway',
      aggregateId: key.id,
      data: { keyId: key.id, label: key.label, scopes: key.scopes, reason },
      actor,
      trust: 'trusted',
    }),
  );
}

/** Revokes at once (PostgreSQL first: the key stops working even if the log is unreachable). */
export async function revokeApiKey(
  store: AuthStore,
  events: EventStore,
  id: string,
  reason: string,
  actor: EventActor,
): Promise<ApiKeyRecord | undefined> {
  const key = await store.revokeApiKey(id, reason);
  if (key) await recordRevocation(events, key, reason, actor);
  return key;
}

export interface FreezeOutcome {
  seq: number;
  revoked: ApiKeyRecord[];
}

/**
 * The kill switch: `agent.frozen` on evt.agent.default first (every service reacts to it), then every
 * API key but the caller's is revoked. Revoked keys stay revoked after a thaw.
 */
export async function freezeAgent(
  store: AuthStore,
  events: EventStore,
  input: { reason: string; actor: EventActor; keepKeyId?: string },
): Promise<FreezeOutcome> {
  const appended = await events.append(
    createEvent({
      type: 'agent.frozen',
      source: 'gateway',
      aggregateId: DEFAULT_AGENT_ID,
      data: { reason: input.reason },
      actor: input.actor,
      trust: 'trusted',
    }),
  );
  const reason = `agent frozen: ${input.reason}`.slice(0, 4096);
  const revoked = await store.revokeAllExcept(input.keepKeyId, reason);
  for (const key of revoked) await recordRevocation(events, key, reason, input.actor);
  return { seq: appended.seq, revoked };
}

export async function thawAgent(
  events: EventStore,
  input: { reason?: string; actor: EventActor },
): Promise<number> {
  const appended = await events.append(
    createEvent({
      type: 'agent.thawed',
      source: 'gateway',
      aggregateId: DEFAULT_AGENT_ID,
      data: input.reason ? { reason: input.reason } : {},
      actor: input.actor,
      trust: 'trusted',
    }),
  );
  return appended.seq;
}

export interface FreezeStatus {
  frozen: boolean;
  /** Subject position of the last agent event folded. */
  version: number;
  reason?: string;
  since?: string;
}

/** Folds the agent aggregate's freeze state from events at or after `from` onto `state`. */
export async function foldFreezeState(
  events: EventStore,
  state: FreezeStatus,
  fromSeq: number,
): Promise<{ state: FreezeStatus; lastSeq: number }> {
  let seq = fromSeq;
  let lastSeq = fromSeq - 1;
  let next = { ...state };
  for (;;) {
    const stored = await events.nextOnSubject(`evt.agent.${DEFAULT_AGENT_ID}`, seq);
    if (!stored) return { state: next, lastSeq };
    next = { ...next, version: next.version + 1 };
    if (stored.event.type === 'agent.frozen' || stored.event.type === 'agent.thawed') {
      // The same fold as every other service that stops while frozen (contracts' applyFreeze).
      const folded = applyFreeze(NOT_FROZEN, stored.event);
      next = {
        ...next,
        frozen: folded.frozen,
        reason: folded.frozen ? folded.reason : undefined,
        since: stored.event.time,
      };
    }
    lastSeq = stored.seq;
    seq = stored.seq + 1;
  }
}

export type { Scope };
