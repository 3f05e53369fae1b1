// Valid sample payloads for every built-in event type, and a helper that wraps one in an event.
// Tests use them to prove each registered schema accepts a realistic payload.
import { createEvent, type EventPayloadOf } from '../create-event';
import type { PalisadeEvent } from '../envelope';
import type { RegisteredEventType, EventPayloads } from '../events/registry';
import type { ServiceName } from '../subjects';

export const SESSION = '0190b0a2-6b3c-7000-8000-00000000a001';
export const APPROVAL = '0190b0a2-6f00-7000-8000-00000000b001';
export const EXEC = '0190b0a2-7a00-7000-8000-00000000c001';
export const GRANT = '0190b0a2-7900-7000-8000-00000000d001';
export const JOB = '0190b0a2-7b00-7000-8000-00000000e001';
export const TURN = '0190b0a2-7c00-7000-8000-00000000f001';
export const KEY = '0190b0a2-7d00-7000-8000-00000000f002';
export const IMAGE = `sha256:${'ab'.repeat(32)}`;
export const HEX = 'cd'.repeat(32);

export const SAMPLE_PAYLOADS: { [K in RegisteredEventType]: EventPayloads[K] } = {
  'chat.message.received': {
    channel: 'talk-main',
    conversation: 'k3x9w2ab',
    sender: 'alice.smith',
    senderName: 'Alice Smith',
    messageId: '4711',
    text: 'hello',
    level: 'admin',
  },
  'chat.message.sent': { channel: 'talk-main', conversation: 'k3x9w2ab', text: 'hi!', inReplyTo: '4711' },
  'agent.turn.started': { turn: TURN, trigger: 'message', inReplyTo: '4711' },
  'agent.turn.completed': { turn: TURN, model: 'llama3.1:8b', route: 'local', durationMs: 1200 },
  'agent.turn.failed': { turn: TURN, reason: 'local model unavailable; untrusted turn fails closed' },
  'agent.identity.updated': {
    changed: ['name', 'instructions'],
    name: 'Palisade',
    instructions: 'Be terse.',
  },
  'agent.frozen': { reason: 'operator request' },
  'agent.thawed': {},
  'exec.approval.requested': {
    approval: APPROVAL,
    session: SESSION,
    command: 'ls -la',
    cwd: '/srv',
    env: { LANG: 'C.UTF-8' },
    image: IMAGE,
    reasons: ['not proven safe'],
    mode: 'smart',
    deadline: '2024-07-15T10:35:00.000Z',
    limits: {
      memoryBytes: 536870912,
      nanoCpus: 1000000000,
      pidsLimit: 256,
      timeoutMs: 30000,
      outputBytes: 204800,
      network: 'none',
    },
    agent: 'default',
  },
  'exec.approval.resolved': {
    approval: APPROVAL,
    decision: 'approved',
    decider: { type: 'user', id: 'admin' },
    reason: 'looks fine',
  },
  'exec.grant.issued': {
    grant: GRANT,
    approval: APPROVAL,
    session: SESSION,
    command: 'ls -la',
    cwd: '/srv',
    image: IMAGE,
    exp: '2024-07-15T10:36:00.000Z',
  },
  'exec.grant.used': { grant: GRANT, approval: APPROVAL, session: SESSION, exec: EXEC },
  'exec.grant.refused': { grant: GRANT, code: 'already_used', reason: 'grant already claimed' },
  'exec.started': { exec: EXEC, session: SESSION, grant: GRANT, image: IMAGE, container: 'f00dfeed' },
  'exec.finished': {
    exec: EXEC,
    exitCode: 0,
    durationMs: 15,
    stdoutBytes: 5,
    stderrBytes: 0,
    truncated: false,
    killed: 'none',
    stdout: 'total',
  },
  'exec.failed': {
    exec: EXEC,
    session: SESSION,
    grant: GRANT,
    code: 'sandbox_unavailable',
    grantSpent: false,
    reason: 'Docker is unreachable; nothing was run',
  },
  'exec.egress.denied': {
    exec: EXEC,
    session: SESSION,
    network: 'palisade-egress',
    via: 'proxy',
    destination: 'example.org:443',
    method: 'CONNECT',
    client: '172.18.0.3',
    reason: 'not_allowlisted',
  },
  'credential.accessed': {
    entry: 'e2c1a7f0-0000-4000-8000-000000000001',
    requester: 'gateway',
    purpose: 'git push',
  },
  'channel.sender.pending': { channel: 'talk-main', sender: 'bob', senderName: 'Bob', conversation: 'k3x9w2ab' },
  'channel.sender.admitted': { channel: 'talk-main', sender: 'bob', level: 'execute' },
  'channel.sender.rejected': { channel: 'talk-main', sender: 'mallory' },
  'channel.webhook.rejected': { channel: 'talk-main', reason: 'bad signature', remote: '203.0.113.9' },
  'channel.reply.failed': { channel: 'talk-main', conversation: 'k3x9w2ab', reason: 'HTTP 503' },
  'cron.job.created': {
    job: JOB,
    kind: 'cron',
    expr: '0 8 * * 1-5',
    tz: 'Europe/Berlin',
    session: SESSION,
    system: false,
    prompt: 'Summarise my inbox',
  },
  'cron.job.updated': { job: JOB, kind: 'every', expr: '15m', session: SESSION, system: false },
  'cron.job.removed': { job: JOB },
  'cron.job.fired': { job: JOB, session: SESSION, scheduledAt: '2024-07-15T08:00:00.000Z', turn: TURN },
  'apikey.created': { keyId: KEY, label: 'ci', scopes: ['operator.read', 'operator.write'] },
  'apikey.revoked': { keyId: KEY, label: 'ci', scopes: ['operator.read'] },
  'auth.login.failed': { user: 'admin', method: 'password', reason: 'bad password', remote: '198.51.100.7' },
  'auth.lockout': { user: 'admin', until: '2024-07-15T10:45:00.000Z', failures: 10 },
  'auth.scope.denied': { required: 'operator.admin', operation: 'POST /api/agent/freeze', keyId: KEY },
  'gateway.origin.rejected': { origin: 'https://evil.example', remote: '203.0.113.9' },
  'nats.permission.violation': { service: 'channels', subject: 'audit.exec.finished', op: 'publish' },
  'ledger.checkpoint.signed': {
    seq: 3,
    hash: HEX,
    time: '2024-07-15T10:31:05.000Z',
    keyid: HEX,
    signature: Buffer.alloc(64, 7).toString('base64'),
  },
  'agent.tool.called': { turn: TURN, call: 'call-1', tool: 'exec', arguments: '{"command":"ls -la"}' },
  'agent.tool.result': { turn: TURN, call: 'call-1', tool: 'exec', content: 'total 0', tainted: true },
  'channel.approval.ignored': {
    channel: 'talk-main',
    conversation: 'room1',
    sender: 'users/mallory',
    approval: APPROVAL,
    reason: 'sender is not admin in this channel',
  },
  'session.taint.cleared': { reason: 'operator reviewed the output' },
};

const SOURCES: Partial<Record<string, ServiceName>> = {
  chat: 'channels',
  agent: 'gateway',
  exec: 'approvals',
  credential: 'credential-broker',
  channel: 'channels',
  cron: 'cron',
  apikey: 'gateway',
  auth: 'gateway',
  gateway: 'gateway',
  session: 'gateway',
  nats: 'ledger',
  ledger: 'ledger',
};

/** A valid event of `type` with the sample payload (or `data`), fixed id/time for reproducibility. */
export function sampleEvent<K extends RegisteredEventType>(
  type: K,
  data: EventPayloadOf<K> = SAMPLE_PAYLOADS[type] as EventPayloadOf<K>,
  aggregateId = SESSION,
): PalisadeEvent<EventPayloadOf<K>> & { type: K } {
  return createEvent({
    type,
    source: SOURCES[type.split('.')[0]] ?? 'gateway',
    aggregateId,
    data,
    actor: { type: 'service', id: 'test' },
    trust: 'trusted',
    time: new Date('2024-07-15T10:30:00.000Z'),
  });
}
