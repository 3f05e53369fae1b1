import { createHash } from 'node:crypto';
import { contentDigest, toAuditRecord } from './audit-record';
import { EventValidationError } from './event-validation.error';
import { listEventTypes, type RegisteredEventType } from './events/registry';
import { uuidv7 } from './ids';
import { validateAuditRecord } from './validate-event';
import { SAMPLE_PAYLOADS, sampleEvent } from './__fixtures__/sample-events';

const HASH = 'ef'.repeat(32);

describe('toAuditRecord', () => {
  it('never carries chat text: the marker appears nowhere in the record', () => {
    const marker = `MARKER-${uuidv7()}`;
    const text = `please remember ${marker} — it's private 🤫`;
    const event = sampleEvent('chat.message.received', { ...SAMPLE_PAYLOADS['chat.message.received'], text });
    expect(JSON.stringify(event)).toContain(marker); // the event itself does carry it
    const record = toAuditRecord(event, 42, HASH);
    expect(JSON.stringify(record)).not.toContain(marker);
    expect(JSON.stringify(record)).not.toContain('private');
    expect(record.data.text).toEqual({
      sha256: createHash('sha256').update(text, 'utf8').digest('hex'),
      length: Buffer.byteLength(text, 'utf8'),
    });
  });

  it('keeps the envelope and adds ledgerseq / ledgerhash as strings', () => {
    const event = sampleEvent('chat.message.sent');
    const record = toAuditRecord(event, 7n, HASH);
    const { data: _data, ...envelope } = event;
    expect(record).toMatchObject({ ...envelope, ledgerseq: '7', ledgerhash: HASH });
    expect(validateAuditRecord(JSON.parse(JSON.stringify(record)))).toBeTruthy();
    expect(event.data.text).toBe('hi!'); // the input event is not modified
  });

  it('digests every content field of every type, and nothing else', () => {
    for (const type of listEventTypes() as RegisteredEventType[]) {
      const record = toAuditRecord(sampleEvent(type), 1, HASH);
      const sample = SAMPLE_PAYLOADS[type] as Record<string, unknown>;
      for (const [key, value] of Object.entries(record.data)) {
        if (
          key === 'text' ||
          key === 'stdout' ||
          key === 'stderr' ||
          key === 'prompt' ||
          key === 'instructions' ||
          key === 'arguments' ||
          key === 'content'
        ) {
          expect(value).toEqual(contentDigest(sample[key]));
        } else {
          expect(value).toEqual(sample[key]);
        }
      }
    }
  });

  it('keeps a command visible but replaces secrets in it by their digest', () => {
    const event = sampleEvent('exec.approval.requested', {
      ...SAMPLE_PAYLOADS['exec.approval.requested'],
      command:
        'curl -u admin:x https://api -H "Authorization: Bearer abcdefghijklmnop123456" --data password=hunter2xyz',
      env: { LANG: 'C', GITHUB_TOKEN: 'plain-value-1' },
    });
    const record = toAuditRecord(event, 3, HASH);
    const command = record.data.command as string;
    expect(command).toContain('curl -u admin:x https://api');
    expect(command).not.toContain('abcdefghijklmnop123456');
    expect(command).not.toContain('hunter2xyz');
    const digest = createHash('sha256').update('hunter2xyz').digest('hex').slice(0, 16);
    expect(command).toContain(`password=[REDACTED:secret_assignment:sha256:${digest}]`);
    expect(JSON.stringify(record)).not.toContain('plain-value-1');
    expect((record.data.env as Record<string, string>).LANG).toBe('C');
  });

  it('redacts caller-known secrets in any encoding', () => {
    const secret = 'broker-released-value';
    const event = sampleEvent('exec.approval.requested', {
      ...SAMPLE_PAYLOADS['exec.approval.requested'],
      command: `echo ${Buffer.from(`x${secret}`).toString('base64')} | base64 -d`,
    });
    const record = toAuditRecord(event, 3, HASH, { knownSecrets: [secret] });
    expect(record.data.command).toMatch(
      /^echo [A-Za-z0-9+/]*\[REDACTED:known_secret:sha256:[0-9a-f]{16}\][A-Za-z0-9+/=]* \| base64 -d$/,
    );
  });

  it('refuses unknown types and invalid events (their content fields cannot be known)', () => {
    const event = sampleEvent('chat.message.received');
    expect(() => toAuditRecord({ ...event, type: 'chat.message.edited' }, 1, HASH)).toThrow(
      EventValidationError,
    );
    const smuggled = { ...event, data: { ...event.data, body: 'hidden chat text' } };
    expect(() => toAuditRecord(smuggled, 1, HASH)).toThrow(/data\.body/);
    expect(() => toAuditRecord(event, 0, HASH)).toThrow(RangeError);
    expect(() => toAuditRecord(event, 1, 'abc')).toThrow(TypeError);
  });
});
