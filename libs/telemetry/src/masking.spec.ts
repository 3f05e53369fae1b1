import {
  clearRegisteredSecrets,
  isSensitiveKey,
  MASK,
  maskString,
  redact,
  registerSecret,
  serializeError,
  unregisterSecret,
} from './masking';

// Test fixtures only; shaped like the real thing so that the patterns are exercised.
const NKEY_SEED = 'SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU';
const PEM = [
  '-----BEGIN PRIVATE KEY-----',
  'MC4CAQAwBQYDK2VwBCIEIOyq1z0yP4kq1Yv7n0mA8mW1JkH8t2Gm2v7bQm3n4p5q',
  '-----END PRIVATE KEY-----',
].join('\n');
const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

afterEach(() => clearRegisteredSecrets());

describe('isSensitiveKey', () => {
  it.each([
    'password',
    'dbPassword',
    'PALISADE_DB_PASSWORD',
    'passwd',
    'pass',
    'secret',
    'clientSecret',
    'client_secret',
    'token',
    'accessToken',
    'refresh_token',
    'key',
    'apiKey',
    'api_key',
    'x-api-key',
    'signingKey',
    'privateKey',
    'seed',
    'nkeySeed',
    'nkey',
    'authorization',
    'Authorization',
    'proxy-authorization',
    'auth',
    'cookie',
    'set-cookie',
    'Cookie',
    'credentials',
    'jwt',
    'pin',
  ])('%s is sensitive', (key) => expect(isSensitiveKey(key)).toBe(true));

  it.each([
    'user',
    'username',
    'message',
    'subject',
    'monkey',
    'keyboard',
    'author',
    'authorId',
    'publicKey',
    'keyId',
    'idempotencyKey',
    'promptTokens',
    'completion_tokens',
    'max_tokens',
    'tokenCount',
    'total_tokens',
    'traceId',
    'service',
  ])('%s is not sensitive', (key) => expect(isSensitiveKey(key)).toBe(false));
});

describe('maskString', () => {
  it('masks registered secrets wherever they appear, longest first', () => {
    registerSecret('correct-horse-battery');
    registerSecret('correct-horse');
    expect(maskString('login with correct-horse-battery failed; also correct-horse')).toBe(
      `login with ${MASK} failed; also ${MASK}`,
    );
  });

  it('registers the trimmed value of a secret file too, ignores tiny values, can unregister', () => {
    registerSecret('s3cr3t-from-file\n');
    registerSecret('abc');
    expect(maskString('value s3cr3t-from-file here, abc stays')).toBe(`value ${MASK} here, abc stays`);
    unregisterSecret('s3cr3t-from-file\n');
    unregisterSecret('s3cr3t-from-file');
    expect(maskString('s3cr3t-from-file')).toBe('s3cr3t-from-file');
  });

  it.each([
    ['Authorization: Bearer abc.def-123', 'Authorization: ***'],
    ['sent bearer eyJabc123456789 to upstream', 'sent bearer *** to upstream'],
    ['header Basic dXNlcjpwYXNzd29yZA== rejected', 'header Basic *** rejected'],
    ['key sk_live_51HxYzAbCdEf0123456789 leaked', 'key *** leaked'],
    ['key sk-proj-AbC123dEf456GhI789jKl leaked', 'key *** leaked'],
    ['pk_test_TYooMQauvdEDq54NiTphI7jx', '***'],
    [`seed ${NKEY_SEED} in file`, 'seed *** in file'],
    [`jwt ${JWT}`, 'jwt ***'],
    ['postgres://palisade:hunter2@127.0.0.1:15432/db', 'postgres://palisade:***@127.0.0.1:15432/db'],
    ['GET /cb?code=x&access_token=abc123&x=1', 'GET /cb?code=x&access_token=***&x=1'],
    ['body {"user":"bob","password":"hunter2"} rejected', 'body {"user":"bob","password":"***"} rejected'],
    ['app password AbCdE-fGhIj-KlMnO-pQrSt-UvWxY ok', 'app password *** ok'],
    ['github ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'github ***'],
  ])('%s', (input, expected) => expect(maskString(input)).toBe(expected));

  it('masks PEM private keys, also truncated ones', () => {
    expect(maskString(`key:\n${PEM}\nend`)).toBe(`key:\n${MASK}\nend`);
    expect(maskString(`-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA`)).toBe(MASK);
    expect(maskString(PEM.replace(/PRIVATE/g, 'EC PRIVATE'))).toBe(MASK);
  });

  it('leaves ordinary text, ids and public material alone', () => {
    const plain = [
      'Basic authentication failed for user bob',
      'Bearer token missing',
      'constraint pk_events_stream_seq violated',
      'task_runner_identifier started',
      'uuid 6f1c2b8e-3d4a-4f5b-9c8d-7e6f5a4b3c2d',
      'user key UAXWZ3DXSZ3KRZGZB6SOAHRGXTXC5RFDSCAC5Y35XGNEA7D6JWGHMHVE',
      'cmd.ledger.append took 12 ms',
      'GET /api?page=2&max_tokens=512&sort=asc',
      '{"prompt_tokens":"12","subject":"cmd.llm.chat"}',
      'https://cloud.example.org/ocs/v2.php/apps/spreed/api/v1/chat/abc',
    ];
    for (const text of plain) expect(maskString(text)).toBe(text);
  });

  it('stays linear on hostile input (no catastrophic backtracking)', () => {
    const hostile = [
      'a.'.repeat(50_000),
      'ab-'.repeat(30_000),
      'password.'.repeat(10_000),
      'http://a:b'.repeat(10_000),
      'sk-'.repeat(30_000),
      '"k":"'.repeat(20_000),
      'SU' + 'A'.repeat(100_000) + 'a',
      'Bearer '.repeat(20_000),
      Buffer.alloc(150_000, 7).toString('base64'),
    ];
    const started = Date.now();
    for (const text of hostile) maskString(text);
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe('redact', () => {
  it('masks sensitive keys at any depth, keeps null/boolean, masks secret-shaped values elsewhere', () => {
    registerSecret('known-secret-value');
    const input = {
      user: 'bob',
      password: 'hunter2',
      nested: { apiKey: 12345, headers: { Authorization: 'Bearer xyz', 'content-type': 'json' } },
      list: [{ token: 'abc' }, 'the known-secret-value inside', `seed=${NKEY_SEED}`],
      privateKey: null,
      hasPassword: true,
      credentials: { user: 'x', pass: 'y' },
      usage: { prompt_tokens: 12, completion_tokens: 30 },
    };
    expect(redact(input)).toEqual({
      user: 'bob',
      password: MASK,
      nested: { apiKey: MASK, headers: { Authorization: MASK, 'content-type': 'json' } },
      list: [{ token: MASK }, `the ${MASK} inside`, `seed=${MASK}`],
      privateKey: null,
      hasPassword: true,
      credentials: MASK,
      usage: { prompt_tokens: 12, completion_tokens: 30 },
    });
    expect(input.password).toBe('hunter2'); // a copy, not a mutation
  });

  it('handles cycles, buffers, maps, sets, dates, bigint, depth', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    const deep: Record<string, unknown> = {};
    let cur = deep;
    for (let i = 0; i < 20; i++) cur = cur.next = {} as Record<string, unknown>;
    const out = redact({
      a,
      buf: Buffer.from('secret bytes'),
      map: new Map<string, unknown>([
        ['secret', 'x'],
        ['plain', 'y'],
      ]),
      set: new Set(['v']),
      when: new Date(0),
      big: 10n,
      fn: function named() {},
      deep,
    }) as Record<string, unknown>;
    expect(out.a).toEqual({ name: 'a', self: '[Circular]' });
    expect(out.buf).toBe('[Binary 12 bytes]');
    expect(out.map).toEqual({ secret: MASK, plain: 'y' });
    expect(out.set).toEqual(['v']);
    expect(out.when).toBe('1970-01-01T00:00:00.000Z');
    expect(out.big).toBe('10');
    expect(out.fn).toBe('[Function named]');
    expect(JSON.stringify(out.deep)).toContain('[Truncated]');
  });

  it('does not mistake a shared (non-cyclic) reference for a cycle', () => {
    const shared = { v: 1 };
    expect(redact({ x: shared, y: shared })).toEqual({ x: { v: 1 }, y: { v: 1 } });
  });
});

describe('serializeError', () => {
  it('serialises name, message, stack, code, cause and own fields without leaking secrets', () => {
    registerSecret('pg-role-password-1');
    const cause = new Error('connect failed for postgres://ledger:pg-role-password-1@db/ledger');
    const err = Object.assign(new Error('query failed, password=pg-role-password-1', { cause }), {
      code: 'ECONNREFUSED',
      detail: 'token abc',
      config: { headers: { authorization: 'Bearer abcdef123456' } },
    });
    const json = serializeError(err);
    const text = JSON.stringify(json);
    expect(text).not.toContain('pg-role-password-1');
    expect(text).not.toContain('abcdef123456');
    expect(json).toMatchObject({
      name: 'Error',
      message: `query failed, password=${MASK}`,
      code: 'ECONNREFUSED',
      detail: 'token abc',
      config: { headers: { authorization: MASK } },
      cause: { name: 'Error', message: `connect failed for postgres://ledger:${MASK}@db/ledger` },
    });
    expect(json.stack).toContain('query failed, password=***');
  });

  it('handles AggregateError and non-errors', () => {
    const agg = new AggregateError([new Error('one'), 'two'], 'many');
    expect(serializeError(agg)).toMatchObject({
      name: 'AggregateError',
      message: 'many',
      errors: [{ message: 'one' }, 'two'],
    });
    expect(serializeError('Bearer abc123def456')).toEqual({ name: 'NonError', message: `Bearer ${MASK}` });
    expect(serializeError({ password: 'x' })).toEqual({
      name: 'NonError',
      message: `{"password":"${MASK}"}`,
    });
  });
});
