import { Inject, Injectable, Logger } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  createEvent,
  RpcError,
  RpcErrorCode,
  SERVICE_NAMES,
  type BrokerFetchReply,
  type BrokerFetchRequest,
} from '@palisade/contracts';
import { EventStore } from '@palisade/event-log';
import { NATS_CONNECTION, SERVICE_GRANTS } from '@palisade/nats';
import { PasswordsRepository } from '../passwords/passwords.repository';
import { PASSWORDS_SETTINGS, type PasswordsSettings } from '../passwords/passwords.settings';

/**
 * Who can have asked: NATS lets only the services granted `calls: credential-broker` publish on
 * cmd.broker.> (today llm-router alone), so the manifest names the requester.
 */
export const BROKER_CALLERS = SERVICE_NAMES.filter((s) =>
  SERVICE_GRANTS[s].calls.includes('credential-broker'),
).join(',');

@Injectable()
export class CredentialBrokerService {
  private readonly logger = new Logger('CredentialBroker');
  private readonly store: EventStore;

  constructor(
    @Inject(PASSWORDS_SETTINGS) private readonly settings: PasswordsSettings,
    @Inject(NATS_CONNECTION) nc: NatsConnection,
    private readonly passwords: PasswordsRepository,
  ) {
    this.store = new EventStore(nc);
  }

  /** Reads the configured entry now, records the access, hands the value back once. Keeps nothing. */
  async fetch(request: BrokerFetchRequest): Promise<BrokerFetchReply> {
    const entry = this.settings.entries.get(request.name);
    if (!entry) {
      this.logger.warn({
        message: 'refused an unknown credential name',
        name: request.name,
        session: request.session,
      });
      throw new RpcError(
        RpcErrorCode.Forbidden,
        `unknown credential name "${request.name}": the broker serves only the names configured in PALISADE_BROKER_ENTRIES`,
      );
    }
    let value: string;
    try {
      value = await this.passwords.show(entry);
    } catch (error) {
      const e = RpcError.from(error);
      this.logger.warn({
        message: 'credential fetch failed',
        name: request.name,
        entry,
        code: e.code,
        error: e.message,
      });
      throw e;
    }
    // Recorded before release: no audit record, no secret.
    const event = createEvent({
      type: 'credential.accessed',
      source: 'credential-broker',
      aggregateId: entry,
      data: {
        entry,
        requester: BROKER_CALLERS,
        purpose: request.purpose,
        ...(request.session ? { session: request.session } : {}),
      },
      correlationId: request.correlationId,
      actor: { type: 'service', id: BROKER_CALLERS },
      // Only trusted, clean turns are routed to a model that needs a fetched key.
      trust: 'trusted',
    });
    try {
      await this.store.append(event, 'any');
    } catch (error) {
      this.logger.error({
        message: 'could not record credential.accessed; secret withheld',
        entry,
        error: (error as Error).message,
      });
      throw new RpcError(
        RpcErrorCode.Unavailable,
        'the access could not be recorded in the event log, so the credential was not released',
      );
    }
    this.logger.log({
      message: 'credential released',
      name: request.name,
      entry,
      requester: BROKER_CALLERS,
      session: request.session,
    });
    return { value, entry };
  }

  async health() {
    const entries = this.settings.entries;
    return {
      passwords: await this.passwords.health(),
      entries: {
        ok: true,
        detail: entries.size
          ? [...entries.keys()].join(', ')
          : 'none configured (set PALISADE_BROKER_ENTRIES=name=<entry uuid>,…)',
      },
    };
  }
}
