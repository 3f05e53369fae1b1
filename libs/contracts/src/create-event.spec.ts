import { aggregateTypeOf, createEvent, subjectOfEvent } from './create-event';
import { EventValidationError } from './event-validation.error';
import { isUuidV7 } from './ids';
import { SESSION } from './__fixtures__/sample-events';

const input = () => ({
  type: 'chat.message.received' as const,
  source: 'channels' as const,
  aggregateId: SESSION,
  data: {
    channel: 'talk-main',
    conversation: 'k3x9w2ab',
    sender: 'alice.smith',
    messageId: '1',
    text: 'hi',
    level: 'read-only' as const,
  },
  actor: { type: 'sender' as const, id: 'alice.smith' },
  trust: 'untrusted' as const,
});

describe('createEvent', () => {
  it('fills id, time, dataschema, source and defaults correlationid to its own id', () => {
    const before = Date.now();
    const event = createEvent(input());
    expect(isUuidV7(event.id)).toBe(true);
    expect(event.correlationid).toBe(event.id);
    expect(Date.parse(event.time)).toBeGreaterThanOrEqual(before - 1);
    expect(event.time).toMatch(/Z$/);
    expect(event).toMatchObject({
      specversion: '1.0',
      source: 'palisade/channels',
      type: 'chat.message.received',
      subject: SESSION,
      datacontenttype: 'application/json',
      dataschema: 'palisade:chat.message.received/v1',
      actortype: 'sender',
      actorid: 'alice.smith',
      trust: 'untrusted',
    });
    expect('causationid' in event).toBe(false);
    expect('traceparent' in event).toBe(false);
  });

  it('keeps given correlation, causation and traceparent', () => {
    const correlationId = createEvent(input()).id;
    const event = createEvent({
      ...input(),
      correlationId,
      causationId: correlationId,
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    });
    expect(event.correlationid).toBe(correlationId);
    expect(event.causationid).toBe(correlationId);
    expect(event.traceparent).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
  });

  it('returns plain JSON: optional fields left undefined are dropped, class instances flattened', () => {
    const event = createEvent({ ...input(), data: { ...input().data, senderName: undefined } });
    expect('senderName' in event.data).toBe(false);
    expect(JSON.parse(JSON.stringify(event))).toEqual(event);
  });

  it('validates what it builds', () => {
    expect(() => createEvent({ ...input(), aggregateId: 'alice.smith' })).toThrow(EventValidationError);
    expect(() =>
      createEvent({ ...input(), data: { ...input().data, text: 5 as unknown as string } }),
    ).toThrow(/data\.text/);
    expect(() => createEvent({ ...input(), type: 'no.such.type' as 'chat.message.received' })).toThrow(
      /unknown event type/,
    );
    expect(() =>
      createEvent({ ...input(), data: { ...input().data, text: new Date() as unknown as string } }),
    ).toThrow(EventValidationError);
  });
});

describe('aggregateTypeOf / subjectOfEvent', () => {
  it('maps an event to its aggregate subject', () => {
    expect(aggregateTypeOf('exec.grant.used')).toBe('grant');
    expect(aggregateTypeOf('exec.grant.issued')).toBe('approval');
    expect(subjectOfEvent(createEvent(input()))).toBe(`evt.session.${SESSION}`);
    expect(() => aggregateTypeOf('x.y')).toThrow(EventValidationError);
  });
});
