// The one place that says which NATS subjects each principal may publish and subscribe to.
// The nats-server authorization config is generated from it (nats-config.renderer.ts) and the
// permission tests read it, so the manifest, the server and the tests cannot drift apart.
//
// Why allow lists: anything not listed is denied by the server. The explicit deny lists repeat the
// most dangerous subjects so that a later, too-broad allow entry cannot open them by accident.

import {
  AggregateType,
  AUDIT_STREAM,
  EVENTS_STREAM,
  SERVICE_COMMAND_TOKENS,
  SERVICE_NAMES,
  ServiceName,
} from '@palisade/contracts';

// Names come from the contracts so the manifest cannot invent a service, token or aggregate.
export { AUDIT_STREAM, EVENTS_STREAM, SERVICE_NAMES };
export type { ServiceName };
export const SOC_CONSUMER = 'soc';
export const COMMAND_TOKEN: Record<ServiceName, string> = SERVICE_COMMAND_TOKENS;

interface ServiceGrant {
  /** Aggregate types whose events this service appends (`evt.<type>.>`). */
  appends: AggregateType[];
  /** Services whose commands this service may call. */
  calls: ServiceName[];
  /** Extra publish subjects (rare; each needs a reason in a comment). */
  extraPublish?: string[];
}

export const SERVICE_GRANTS: Record<ServiceName, ServiceGrant> = {
  // The front door and the conversation loop: operator actions, identity, keys, agent replies.
  gateway: {
    appends: ['session', 'agent', 'apikey', 'auth'],
    calls: ['approvals', 'sandbox-exec', 'channels', 'cron', 'llm-router', 'ledger'],
    // The gateway's health endpoint aggregates every service's health.
    extraPublish: ['health.*'],
  },
  approvals: { appends: ['approval'], calls: [] },
  // sandbox-exec claims grants (evt.grant.<id>, expected sequence 0) and records executions.
  'sandbox-exec': { appends: ['exec', 'grant'], calls: [] },
  channels: { appends: ['session', 'sender', 'channel'], calls: ['gateway', 'approvals'] },
  cron: { appends: ['cronjob'], calls: ['gateway'] },
  'credential-broker': { appends: ['credential'], calls: [] },
  // Routes completions; it records nothing of its own (the gateway records the turn).
  'llm-router': { appends: [], calls: ['credential-broker'] },
  ledger: {
    appends: ['ledger'],
    calls: [],
    // Only the ledger publishes the SOC feed (contracts: audit.> published only by ledger), and it
    // reads the AUDIT stream's tail to resume the feed exactly where it stopped.
    extraPublish: ['audit.>', `$JS.API.STREAM.MSG.GET.${AUDIT_STREAM}`],
  },
};

/** JetStream API subjects that destroy or rewrite history: denied to everyone but admin. */
export const DESTRUCTIVE_JS_SUBJECTS = [
  '$JS.API.STREAM.DELETE.>',
  '$JS.API.STREAM.PURGE.>',
  '$JS.API.STREAM.UPDATE.>',
  '$JS.API.STREAM.MSG.DELETE.>',
  '$JS.API.STREAM.CREATE.>',
  '$JS.API.STREAM.RESTORE.>',
  '$JS.API.CONSUMER.CREATE.>',
  '$JS.API.CONSUMER.DURABLE.CREATE.>',
  '$JS.API.CONSUMER.DELETE.>',
];

export interface SubjectPermissions {
  allow: string[];
  deny: string[];
}

export interface PrincipalPermissions {
  user: string;
  inboxPrefix: string;
  publish: SubjectPermissions;
  subscribe: SubjectPermissions;
  /** May publish to the reply subject of a request it received (a responder). */
  allowResponses: boolean;
}

export const inboxPrefixFor = (user: string): string => `_INBOX.${user}`;

/** The durable consumer on EVENTS that setup creates for a service (services cannot create their own). */
export const durableFor = (service: ServiceName): string => service;

function servicePermissions(service: ServiceName): PrincipalPermissions {
  const grant = SERVICE_GRANTS[service];
  const durable = durableFor(service);
  const publish = [
    ...grant.appends.map((aggregate) => `evt.${aggregate}.>`),
    ...grant.calls.map((target) => `cmd.${COMMAND_TOKEN[target]}.>`),
    // Reading one aggregate's history: stream message get by subject and sequence (read-only).
    `$JS.API.STREAM.MSG.GET.${EVENTS_STREAM}`,
    `$JS.API.STREAM.INFO.${EVENTS_STREAM}`,
    // Its own pre-created durable consumer: info, pull, ack. Nothing else of the consumer API.
    `$JS.API.CONSUMER.INFO.${EVENTS_STREAM}.${durable}`,
    `$JS.API.CONSUMER.MSG.NEXT.${EVENTS_STREAM}.${durable}`,
    `$JS.ACK.${EVENTS_STREAM}.${durable}.>`,
    ...(grant.extraPublish ?? []),
  ];
  const deny = [...DESTRUCTIVE_JS_SUBJECTS];
  if (!publish.includes('audit.>')) deny.push('audit.>');
  return {
    user: service,
    inboxPrefix: inboxPrefixFor(service),
    publish: { allow: publish, deny },
    subscribe: {
      allow: [`cmd.${COMMAND_TOKEN[service]}.>`, `health.${service}`, `${inboxPrefixFor(service)}.>`],
      // Nobody but the SOC user listens to the audit feed, and no service reads another's inbox.
      deny: ['audit.>'],
    },
    allowResponses: true,
  };
}

/** The read-only SOC principal: live audit feed plus replay through its one pre-created durable. */
function socPermissions(): PrincipalPermissions {
  return {
    user: 'soc',
    inboxPrefix: inboxPrefixFor('soc'),
    publish: {
      allow: [
        `$JS.API.CONSUMER.INFO.${AUDIT_STREAM}.${SOC_CONSUMER}`,
        `$JS.API.CONSUMER.MSG.NEXT.${AUDIT_STREAM}.${SOC_CONSUMER}`,
        `$JS.ACK.${AUDIT_STREAM}.${SOC_CONSUMER}.>`,
      ],
      deny: [...DESTRUCTIVE_JS_SUBJECTS, 'audit.>', 'evt.>', 'cmd.>'],
    },
    subscribe: { allow: ['audit.>', `${inboxPrefixFor('soc')}.>`], deny: [] },
    allowResponses: false,
  };
}

/** Setup only (streams, consumers, projection rebuilds). Never given to a running service. */
function adminPermissions(): PrincipalPermissions {
  return {
    user: 'admin',
    inboxPrefix: inboxPrefixFor('admin'),
    publish: { allow: ['>'], deny: [] },
    subscribe: { allow: ['>'], deny: [] },
    allowResponses: true,
  };
}

export const NATS_PRINCIPALS: readonly string[] = ['admin', 'soc', ...SERVICE_NAMES];

export function permissionsFor(user: string): PrincipalPermissions {
  if (user === 'admin') return adminPermissions();
  if (user === 'soc') return socPermissions();
  if ((SERVICE_NAMES as readonly string[]).includes(user)) return servicePermissions(user as ServiceName);
  throw new Error(`unknown NATS principal "${user}"`);
}
