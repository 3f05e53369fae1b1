import { Inject, Injectable, Logger } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  createEvent,
  type EventActor,
  type EventPayloadOf,
  type EventPayloads,
  type Trust,
  uuidv7,
} from '@palisade/contracts';
import { EventStore } from '@palisade/event-log';
import { NATS_CONNECTION } from '@palisade/nats';

type AuthEventType = 'auth.login.failed' | 'auth.lockout' | 'auth.scope.denied' | 'gateway.origin.rejected';

/** Appends the gateway's security events to the log (source palisade/gateway). */
@Injectable()
export class AuditService {
  private readonly logger = new Logger('Audit');
  readonly events: EventStore;

  constructor(@Inject(NATS_CONNECTION) nc: NatsConnection) {
    this.events = new EventStore(nc);
  }

  /**
   * Records a security event. The decision it documents (deny, lock out) stands whether or not the log
   * is reachable, so a failure here is logged and never turns into a 500 for the caller.
   */
  async record<K extends AuthEventType>(
    type: K,
    data: EventPayloads[K],
    actor: EventActor,
    trust: Trust = 'untrusted',
  ): Promise<void> {
    try {
      await this.events.append(
        createEvent<K>({
          type,
          source: 'gateway',
          aggregateId: uuidv7(),
          data: data as EventPayloadOf<K>,
          actor,
          trust,
        }),
      );
    } catch (error) {
      this.logger.error(`could not record ${type}: ${(error as Error).message}`);
    }
  }
}

export const ANONYMOUS: EventActor = { type: 'system', id: 'anonymous' };
