import {
  AGGREGATE_TYPES,
  auditSubject,
  cmdSubject,
  commandTokenOf,
  eventSubject,
  healthSubject,
  parseEventSubject,
  SERVICE_COMMAND_TOKENS,
  SERVICE_NAMES,
  SubjectError,
} from './subjects';

describe('subjects', () => {
  it('builds and parses event subjects', () => {
    const id = '0190b0a2-6b3c-7000-8000-00000000a001';
    expect(eventSubject('session', id)).toBe(`evt.session.${id}`);
    expect(parseEventSubject(`evt.grant.${id}`)).toEqual({ aggregateType: 'grant', aggregateId: id });
    for (const type of AGGREGATE_TYPES) {
      expect(parseEventSubject(eventSubject(type, 'abc_DEF-1'))).toEqual({
        aggregateType: type,
        aggregateId: 'abc_DEF-1',
      });
    }
  });

  it.each(['alice.smith', 'a b', '*', '>', '', 'x'.repeat(129), 'ümlaut'])(
    'refuses aggregate id %j',
    (id) => {
      expect(() => eventSubject('session', id)).toThrow(SubjectError);
    },
  );

  it('refuses unknown aggregate types and malformed event subjects', () => {
    expect(() => eventSubject('Session' as 'session', 'x')).toThrow(/aggregate type/);
    for (const s of ['evt.session', 'evt.session.a.b', 'cmd.session.a', 'evt.nope.a', 'evt.session.*']) {
      expect(() => parseEventSubject(s)).toThrow(SubjectError);
    }
  });

  it('builds audit, command and health subjects', () => {
    expect(auditSubject('exec.approval.requested')).toBe('audit.exec.approval.requested');
    expect(() => auditSubject('exec.>')).toThrow(SubjectError);
    expect(cmdSubject('sandbox', 'run')).toBe('cmd.sandbox.run');
    expect(cmdSubject('gateway', 'session.list')).toBe('cmd.gateway.session.list');
    expect(() => cmdSubject('sandbox-exec' as 'sandbox', 'run')).toThrow(/command token/);
    expect(() => cmdSubject('sandbox', 'run.*')).toThrow(/verb/);
    expect(healthSubject('credential-broker')).toBe('health.credential-broker');
    expect(() => healthSubject('broker' as 'ledger')).toThrow(SubjectError);
  });

  it('maps every service to its command token', () => {
    expect(SERVICE_NAMES.map(commandTokenOf)).toEqual([
      'gateway',
      'approvals',
      'sandbox',
      'channels',
      'cron',
      'broker',
      'llm',
      'ledger',
    ]);
    expect(Object.keys(SERVICE_COMMAND_TOKENS)).toEqual([...SERVICE_NAMES]);
  });
});
