// Deterministic aggregate ids for things named by humans. A session is named by
// `<channel>:<conversation>:<sender>` and a channel sender by `<channel>:<sender>`; those names may
// contain dots, spaces or colons, so they never go into a subject. Hashing them gives a subject-safe,
// opaque token that every service derives on its own: no lookup table, and no race when two webhooks
// from the same new sender arrive at once (both derive the same id and the log's expected-sequence
// check lets only one of them create the aggregate).
import { createHash } from 'node:crypto';

const digest = (kind: string, parts: readonly string[]): string =>
  createHash('sha256')
    .update(JSON.stringify([kind, ...parts]))
    .digest('hex')
    .slice(0, 40);

/** The human session key; kept in event payloads, never in subjects. */
export function sessionKeyOf(channel: string, conversation: string, sender: string): string {
  return `${channel}:${conversation}:${sender}`;
}

/** `ses_<40 hex>` — the session aggregate id for a channel conversation with one sender. */
export function sessionIdOf(channel: string, conversation: string, sender: string): string {
  return `ses_${digest('session', [channel, conversation, sender])}`;
}

/** `snd_<40 hex>` — the sender aggregate id (admission state) of one sender in one channel. */
export function senderIdOf(channel: string, sender: string): string {
  return `snd_${digest('sender', [channel, sender])}`;
}

/** `chn_<40 hex>` — the channel aggregate id of a configured integration instance. */
export function channelIdOf(channel: string): string {
  return `chn_${digest('channel', [channel])}`;
}

/**
 * The agent aggregate id (`evt.agent.default`): identity, freeze and thaw. One agent per
 * installation for now; the id leaves room for more.
 */
export const DEFAULT_AGENT_ID = 'default';
