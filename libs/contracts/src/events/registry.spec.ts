import { IsString } from 'class-validator';
import { createEvent } from '../create-event';
import { validateEvent } from '../validate-event';
import '../events';
import {
  dataschemaOf,
  EventRegistryError,
  getEventDefinition,
  listEventDefinitions,
  listEventTypes,
  parseDataschema,
  registerEvent,
} from './registry';

class WidgetMovedV1 {
  @IsString() widget: string;
}
class WidgetMovedV2 {
  @IsString() widget: string;
  @IsString() to: string;
}

describe('event registry', () => {
  it('holds every event type the contracts name', () => {
    const required = [
      'chat.message.received',
      'chat.message.sent',
      'agent.turn.started',
      'agent.turn.completed',
      'agent.turn.failed',
      'agent.identity.updated',
      'agent.frozen',
      'agent.thawed',
      'exec.approval.requested',
      'exec.approval.resolved',
      'exec.grant.issued',
      'exec.grant.used',
      'exec.grant.refused',
      'exec.started',
      'exec.finished',
      'credential.accessed',
      'channel.sender.pending',
      'channel.sender.admitted',
      'channel.sender.rejected',
      'channel.webhook.rejected',
      'channel.reply.failed',
      'cron.job.created',
      'cron.job.updated',
      'cron.job.removed',
      'cron.job.fired',
      'apikey.created',
      'apikey.revoked',
      'auth.login.failed',
      'auth.lockout',
      'auth.scope.denied',
      'gateway.origin.rejected',
      'ledger.checkpoint.signed',
      'nats.permission.violation',
    ];
    expect(listEventTypes()).toEqual(expect.arrayContaining(required));
    for (const def of listEventDefinitions()) expect(def.version).toBe(1);
  });

  it('marks free-text content fields', () => {
    expect(getEventDefinition('chat.message.received')!.contentFields).toEqual(['text']);
    expect(getEventDefinition('chat.message.sent')!.contentFields).toEqual(['text']);
    expect(getEventDefinition('exec.finished')!.contentFields).toEqual(['stdout', 'stderr']);
    expect(getEventDefinition('cron.job.created')!.contentFields).toEqual(['prompt']);
    // Commands stay visible to the SOC (secrets are redacted instead).
    expect(getEventDefinition('exec.approval.requested')!.contentFields).toEqual([]);
  });

  it('puts grant issuance on the approval, so the claim is the first event on the grant subject', () => {
    expect(getEventDefinition('exec.grant.issued')!.aggregateType).toBe('approval');
    expect(getEventDefinition('exec.grant.used')!.aggregateType).toBe('grant');
  });

  it('registers new types and versions; old versions keep validating', () => {
    registerEvent({
      type: 'widget.moved',
      version: 1,
      aggregateType: 'agent',
      payload: WidgetMovedV1,
      contentFields: [],
      description: 'test',
    });
    registerEvent({
      type: 'widget.moved',
      version: 2,
      aggregateType: 'agent',
      payload: WidgetMovedV2,
      contentFields: [],
      description: 'test',
    });
    expect(getEventDefinition('widget.moved')!.version).toBe(2);
    expect(getEventDefinition('widget.moved', 1)!.payload).toBe(WidgetMovedV1);
    const v2 = createEvent({
      type: 'widget.moved',
      source: 'gateway',
      aggregateId: 'w1',
      data: { widget: 'w1', to: 'shelf' },
      actor: { type: 'system', id: 'system' },
      trust: 'trusted',
    });
    expect(v2.dataschema).toBe('palisade:widget.moved/v2');
    const v1 = { ...v2, dataschema: 'palisade:widget.moved/v1', data: { widget: 'w1' } };
    expect(validateEvent(v1)).toBe(v1);
    expect(() => validateEvent({ ...v1, data: { widget: 'w1', to: 'x' } })).toThrow(/data\.to/);
  });

  it('refuses bad or duplicate registrations', () => {
    const def = {
      version: 1,
      aggregateType: 'agent' as const,
      payload: WidgetMovedV1,
      contentFields: [],
      description: '',
    };
    expect(() => registerEvent({ ...def, type: 'chat.message.received' })).toThrow(EventRegistryError);
    expect(() => registerEvent({ ...def, type: 'NoDots' })).toThrow(/dotted/);
    expect(() => registerEvent({ ...def, type: 'a.b', version: 0 })).toThrow(/version/);
    expect(() => registerEvent({ ...def, type: 'a.b', aggregateType: 'nope' as 'agent' })).toThrow(
      /aggregate/,
    );
    expect(() => registerEvent({ ...def, type: 'a.b', contentFields: ['a..b'] })).toThrow(/content field/);
    expect(() => registerEvent({ ...def, type: 'chat.message.received', version: 2 })).toThrow(
      /aggregate type session/,
    );
  });

  it('builds and parses dataschema', () => {
    expect(dataschemaOf({ type: 'exec.started', version: 3 })).toBe('palisade:exec.started/v3');
    expect(parseDataschema('palisade:exec.started/v3')).toEqual({ type: 'exec.started', version: 3 });
    expect(parseDataschema('palisade:exec.started/3')).toBeUndefined();
    expect(parseDataschema('https://x/exec.started/v3')).toBeUndefined();
  });
});
