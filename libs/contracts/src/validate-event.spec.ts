import { SAMPLE_PAYLOADS, sampleEvent, SESSION } from './__fixtures__/sample-events';
import { EventValidationError } from './event-validation.error';
import { listEventTypes, type RegisteredEventType } from './events/registry';
import { validateAuditRecord, validateEvent } from './validate-event';

/** The issues validateEvent reports for `event` (fails the test if it does not throw). */
function issuesOf(event: unknown): { path: string; problem: string }[] {
  try {
    validateEvent(event);
  } catch (error) {
    expect(error).toBeInstanceOf(EventValidationError);
    return [...(error as EventValidationError).issues];
  }
  throw new Error('validateEvent accepted an invalid event');
}

const base = () =>
  JSON.parse(JSON.stringify(sampleEvent('chat.message.received'))) as Record<string, unknown> & {
    data: Record<string, unknown>;
  };

describe('validateEvent', () => {
  it('accepts a valid sample of every registered type', () => {
    for (const type of listEventTypes()) {
      const event = sampleEvent(type as RegisteredEventType);
      expect(validateEvent(JSON.parse(JSON.stringify(event)))).toEqual(event);
    }
  });

  it('has a sample for every registered type (keeps this suite complete)', () => {
    expect(Object.keys(SAMPLE_PAYLOADS).sort()).toEqual(listEventTypes());
  });

  it('rejects an unknown event type', () => {
    const event = { ...base(), type: 'chat.message.deleted', dataschema: 'palisade:chat.message.deleted/v1' };
    expect(issuesOf(event)).toEqual([{ path: 'type', problem: 'unknown event type "chat.message.deleted"' }]);
  });

  it.each([
    ['specversion', '0.3'],
    ['id', '0190b0a2-6b3c-4d41-8a1e-3f2b5c6d7e80'], // v4, not v7
    ['id', '0190B0A2-6B3C-7D41-8A1E-3F2B5C6D7E80'], // upper case
    ['source', 'palisade/mailer'],
    ['source', 'gateway'],
    ['subject', 'alice.smith'],
    ['subject', 'a b'],
    ['time', '2024-07-15T12:30:00+02:00'],
    ['time', '2024-02-30T10:00:00Z'],
    ['datacontenttype', 'text/plain'],
    ['dataschema', 'palisade:chat.message.received/v9'],
    ['dataschema', 'palisade:chat.message.sent/v1'],
    ['correlationid', 'abc'],
    ['causationid', 'abc'],
    ['actortype', 'robot'],
    ['actorid', ''],
    ['trust', 'maybe'],
    ['traceparent', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['data', 'hello'],
  ])('rejects a bad %s (%j) and names it', (field, value) => {
    const event = { ...base(), [field]: value };
    const issues = issuesOf(event);
    expect(issues.map((i) => i.path)).toEqual([field]);
  });

  it('rejects missing required attributes, each by name', () => {
    const event = base();
    delete event.actorid;
    delete event.trust;
    expect(issuesOf(event)).toEqual([
      { path: 'actorid', problem: 'is required' },
      { path: 'trust', problem: 'is required' },
    ]);
  });

  it('rejects an unknown top-level attribute (and audit extensions on a plain event)', () => {
    expect(issuesOf({ ...base(), ledgerseq: '1' })).toEqual([
      { path: 'ledgerseq', problem: 'unknown attribute' },
    ]);
  });

  it('rejects an extra payload field, naming it', () => {
    const event = base();
    event.data.secretNote = 'x';
    expect(issuesOf(event)).toEqual([
      { path: 'data.secretNote', problem: 'property secretNote should not exist' },
    ]);
  });

  it('rejects a wrongly typed payload field with a message naming the field', () => {
    const event = base();
    event.data.text = 42;
    const error = (() => {
      try {
        validateEvent(event);
      } catch (e) {
        return e as EventValidationError;
      }
      throw new Error('accepted');
    })();
    expect(new Set(error.issues.map((i) => i.path))).toEqual(new Set(['data.text']));
    expect(error.issues).toContainEqual({ path: 'data.text', problem: 'text must be a string' });
    expect(error.message).toContain('data.text: text must be a string');
    expect(error.eventType).toBe('chat.message.received');
  });

  it('rejects a missing payload field and an out-of-set enum value', () => {
    const event = base();
    delete event.data.messageId;
    event.data.level = 'god';
    const paths = issuesOf(event).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['data.messageId', 'data.level']));
  });

  it('refuses null for an optional field (absent is the only spelling of "not set")', () => {
    const event = base();
    event.data.senderName = null;
    expect(new Set(issuesOf(event).map((i) => i.path))).toEqual(new Set(['data.senderName']));
  });

  it.each(['__proto__', 'constructor'])('rejects a %s key that would slip past the whitelist', (key) => {
    const text = JSON.stringify(base()).replace('"data":{', `"data":{"${key}":{"text":"x"},`);
    expect(issuesOf(JSON.parse(text))).toEqual([{ path: `data.${key}`, problem: 'key is not allowed' }]);
    const nested = JSON.parse(JSON.stringify(sampleEvent('exec.approval.resolved')));
    nested.data.decider = JSON.parse(`{"type":"user","id":"a","${key}":{}}`);
    expect(issuesOf(nested)).toEqual([{ path: `data.decider.${key}`, problem: 'key is not allowed' }]);
  });

  it('validates nested objects, whitelisting inside them too', () => {
    const event = JSON.parse(JSON.stringify(sampleEvent('exec.approval.resolved', undefined, SESSION)));
    event.data.decider = { type: 'user', id: 'admin', extra: 1 };
    expect(issuesOf(event)).toEqual([
      { path: 'data.decider.extra', problem: 'property extra should not exist' },
    ]);
    event.data.decider = { type: 'wizard', id: 'admin' };
    expect(issuesOf(event).map((i) => i.path)).toEqual(['data.decider.type']);
    event.data.decider = 'admin';
    expect(issuesOf(event).map((i) => i.path)).toEqual(['data.decider']);
  });

  it('enforces conditional fields: auto needs a rule, modified needs a command', () => {
    const event = JSON.parse(JSON.stringify(sampleEvent('exec.approval.resolved')));
    event.data.decision = 'auto';
    expect(issuesOf(event).map((i) => i.path)).toContain('data.rule');
    event.data.rule = 'allow: ls';
    expect(validateEvent(event)).toBe(event);
    event.data.decision = 'modified';
    expect(issuesOf(event).map((i) => i.path)).toContain('data.command');
  });

  it('checks array elements and string maps', () => {
    const event = JSON.parse(JSON.stringify(sampleEvent('exec.approval.requested')));
    event.data.reasons = ['ok', 7];
    event.data.env = { 'BAD-NAME': 'x' };
    expect(issuesOf(event).map((i) => i.path)).toEqual(expect.arrayContaining(['data.reasons', 'data.env']));
  });

  it('checks schedule expressions against their kind', () => {
    const event = JSON.parse(JSON.stringify(sampleEvent('cron.job.created')));
    event.data.kind = 'at';
    expect(issuesOf(event).map((i) => i.path)).toEqual(['data.expr']);
    event.data.expr = '2024-08-01T09:00:00Z';
    expect(validateEvent(event)).toBe(event);
    event.data.kind = 'every';
    expect(issuesOf(event).map((i) => i.path)).toEqual(['data.expr']);
  });

  it('rejects values JSON cannot carry, even where the schema does not look', () => {
    // An undefined attribute would vanish on the wire and change the hash: refused.
    expect(issuesOf({ ...base(), causationid: undefined })).toEqual([
      { path: '$', problem: expect.stringContaining('only JSON values') },
    ]);
    expect(issuesOf(null)).toEqual([{ path: '$', problem: 'must be a JSON object' }]);
    expect(issuesOf([])).toEqual([{ path: '$', problem: 'must be a JSON object' }]);
  });
});

describe('validateAuditRecord', () => {
  it('accepts the envelope with ledger extensions and refuses bad ones', () => {
    const record = {
      ...base(),
      data: { text: { sha256: 'x', length: 1 } },
      ledgerseq: '12',
      ledgerhash: 'ab'.repeat(32),
    };
    expect(validateAuditRecord(record)).toBe(record);
    expect(() => validateAuditRecord({ ...record, ledgerseq: 12 })).toThrow(/ledgerseq/);
    expect(() => validateAuditRecord({ ...record, ledgerhash: 'nope' })).toThrow(/ledgerhash/);
    expect(() => validateAuditRecord({ ...record, type: 'x.y' })).toThrow(/unknown event type/);
  });
});
