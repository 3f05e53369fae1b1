import { ROOT_CONTEXT } from '@opentelemetry/api';
import { clearRegisteredSecrets, MASK, registerSecret } from './masking';
import { JsonLogger, parseLogLevel } from './json-logger';
import { startTelemetry, type TelemetryHandle } from './sdk';
import { contextFromTraceparent, SpanKind, withSpan } from './trace-context';

function capture(options: ConstructorParameters<typeof JsonLogger>[0] = {}) {
  const lines: string[] = [];
  const logger = new JsonLogger({
    service: 'ledger',
    level: 'verbose',
    write: (l) => lines.push(l),
    ...options,
  });
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, records };
}

afterEach(() => clearRegisteredSecrets());

describe('JsonLogger', () => {
  it('writes one JSON object per line with the fixed keys first', () => {
    const { logger, lines, records } = capture({ context: 'Boot' });
    logger.log('started', { port: 14222 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    const [rec] = records();
    expect(Object.keys(rec).slice(0, 5)).toEqual(['time', 'level', 'service', 'context', 'msg']);
    expect(rec).toMatchObject({
      level: 'info',
      service: 'ledger',
      context: 'Boot',
      msg: 'started',
      port: 14222,
    });
    expect(new Date(rec.time as string).toISOString()).toBe(rec.time);
  });

  it('follows the NestJS calling conventions (context last, stack before it for error)', () => {
    const { logger, records } = capture();
    logger.log('a', 'Ctx');
    logger.warn('b', { n: 1 }, 'Ctx');
    logger.error('c', undefined, 'Ctx'); // Logger('Ctx').error('c')
    logger.error('d', 'Error: d\n    at fn (/app/x.js:1:2)', 'Ctx');
    logger.error('e', 'Error: e\n    at fn (/app/x.js:1:2)');
    logger.fatal('f', new Error('boom'), 'Ctx');
    logger.debug('g', 7, 'Ctx');
    const r = records();
    expect(r.map((x) => [x.level, x.context, x.msg])).toEqual([
      ['info', 'Ctx', 'a'],
      ['warn', 'Ctx', 'b'],
      ['error', 'Ctx', 'c'],
      ['error', 'Ctx', 'd'],
      ['error', undefined, 'e'],
      ['fatal', 'Ctx', 'f'],
      ['debug', 'Ctx', 'g'],
    ]);
    expect(r[1].n).toBe(1);
    expect(r[2].stack).toBeUndefined();
    expect(r[3].stack).toContain('at fn');
    expect(r[4].stack).toContain('at fn');
    expect(r[5].err).toMatchObject({ name: 'Error', message: 'boom' });
    expect(r[6].args).toEqual([7]);
  });

  it('masks sensitive fields, registered secrets and secret-shaped text everywhere', () => {
    registerSecret('nats-seed-from-file-0001');
    const { logger, lines } = capture();
    logger.log('connecting with nats-seed-from-file-0001 as Bearer abc123def456', {
      user: 'ledger',
      password: 'hunter2',
      nested: { authorization: 'Basic dXNlcjpwYXNz', url: 'postgres://u:pw123456@h/db' },
    });
    logger.error(new Error('login failed: token=tok_987654321'), 'Auth');
    logger.warn({ msg: 'object message', apiKey: 'sk_live_51HxYzAbCdEf0123456789' });
    const text = lines.join('\n');
    for (const secret of [
      'nats-seed-from-file-0001',
      'abc123def456',
      'hunter2',
      'dXNlcjpwYXNz',
      'pw123456',
      'tok_987654321',
      'sk_live',
    ]) {
      expect(text).not.toContain(secret);
    }
    const [a, b, c] = lines.map((l) => JSON.parse(l));
    expect(a.msg).toBe(`connecting with ${MASK} as Bearer ${MASK}`);
    expect(a.password).toBe(MASK);
    expect(a.nested).toEqual({ authorization: MASK, url: `postgres://u:${MASK}@h/db` });
    expect(b).toMatchObject({ level: 'error', context: 'Auth', msg: `login failed: token=${MASK}` });
    expect(b.err.message).toBe(`login failed: token=${MASK}`);
    expect(c).toMatchObject({ msg: 'object message', apiKey: MASK });
  });

  it('does not let fields overwrite the fixed keys', () => {
    const { logger, records } = capture({ context: 'X' });
    logger.log('m', { level: 'fatal', service: 'evil', trace_id: 'forged' });
    const [rec] = records();
    expect(rec).toMatchObject({
      level: 'info',
      service: 'ledger',
      'field.level': 'fatal',
      'field.service': 'evil',
    });
    expect(rec.trace_id).toBeUndefined();
    expect(rec['field.trace_id']).toBe('forged');
  });

  it('filters by level: option, PALISADE_LOG_LEVEL, setLogLevels from NestJS, silent', () => {
    const warnOnly = capture({ level: 'warn' });
    warnOnly.logger.log('no');
    warnOnly.logger.debug('no');
    warnOnly.logger.warn('yes');
    warnOnly.logger.error('yes');
    expect(warnOnly.records().map((r) => r.level)).toEqual(['warn', 'error']);

    const prev = process.env.PALISADE_LOG_LEVEL;
    process.env.PALISADE_LOG_LEVEL = 'debug';
    try {
      const lines: string[] = [];
      const fromEnv = new JsonLogger({ write: (l) => lines.push(l) });
      fromEnv.verbose('no');
      fromEnv.debug('yes');
      expect(lines).toHaveLength(1);
    } finally {
      if (prev === undefined) delete process.env.PALISADE_LOG_LEVEL;
      else process.env.PALISADE_LOG_LEVEL = prev;
    }

    const nest = capture();
    nest.logger.setLogLevels(['error', 'log']);
    nest.logger.warn('no');
    nest.logger.log('yes');
    expect(nest.records().map((r) => r.level)).toEqual(['info']);

    const silent = capture({ level: 'silent' });
    silent.logger.fatal('no');
    expect(silent.lines).toEqual([]);

    expect(parseLogLevel('LOG')).toBe('info');
    expect(parseLogLevel('nonsense')).toBe('info');
    expect(parseLogLevel(undefined)).toBe('info');
    expect(parseLogLevel('trace')).toBe('verbose');
  });

  it('child loggers share sink and level but have their own context', () => {
    const { logger, records } = capture({ level: 'info', context: 'Root' });
    const child = logger.child('Child');
    child.debug('hidden');
    child.log('shown');
    logger.log('root');
    expect(records().map((r) => r.context)).toEqual(['Child', 'Root']);
  });

  it('never throws, even on hostile input', () => {
    const { logger, records } = capture();
    const hostile = {
      get boom() {
        throw new Error('getter');
      },
    };
    expect(() => logger.log('x', hostile)).not.toThrow();
    expect(records()[0].msg).toBe('[unserialisable log record]');
  });

  describe('with telemetry started', () => {
    let handle: TelemetryHandle;
    beforeAll(() => {
      handle = startTelemetry({ serviceName: 'from-telemetry', otlpEndpoint: '', http: false });
    });
    afterAll(() => handle.shutdown());

    it('adds trace_id and span_id of the active span, and defaults service to the telemetry service name', async () => {
      const lines: string[] = [];
      const logger = new JsonLogger({ write: (l) => lines.push(l) });
      logger.log('outside');
      const parent = contextFromTraceparent(
        '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        null,
        ROOT_CONTEXT,
      );
      const spanId = await withSpan(
        'handle',
        SpanKind.SERVER,
        async (span) => {
          await new Promise((r) => setImmediate(r));
          logger.log('inside');
          return span.spanContext().spanId;
        },
        { parent },
      );
      const [outside, inside] = lines.map((l) => JSON.parse(l));
      expect(outside.service).toBe('from-telemetry');
      expect(outside.trace_id).toBeUndefined();
      expect(inside).toMatchObject({ trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: spanId });
    });
  });
});
