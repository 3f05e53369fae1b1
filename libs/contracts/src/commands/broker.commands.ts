/**
 * cmd.broker.fetch — the credential broker reads one configured entry from Nextcloud Passwords at
 * the moment of use. Only llm-router may call it (NATS permissions). `name` is a logical name from
 * the broker's own configuration (e.g. `llm-cloud`), mapped there to a Passwords entry id: callers
 * cannot ask for arbitrary entries.
 */
export const BROKER_FETCH = 'cmd.broker.fetch';

export interface BrokerFetchRequest {
  name: string;
  /** Why it is needed (recorded in credential.accessed). */
  purpose: string;
  session?: string;
  /** Correlation id of the turn that needs it (credential.accessed carries it). */
  correlationId?: string;
}

export interface BrokerFetchReply {
  /** The secret. Never logged, never stored, never put in an event. */
  value: string;
  /** The Passwords entry id it came from. */
  entry: string;
}
