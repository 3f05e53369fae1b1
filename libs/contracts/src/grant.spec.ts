import { sign } from 'node:crypto';
import { generateEd25519KeyPair } from './ed25519-keys';
import {
  type Grant,
  grantIssues,
  grantMatches,
  signGrant,
  verifyGrant,
  verifyGrantForRequest,
} from './grant';
import { GrantError, type GrantErrorCode } from './grant.error';
import { jcs } from './jcs';

const approvals = generateEd25519KeyPair();
const now = new Date('2024-07-15T10:30:00.000Z');

const grant = (): Grant => ({
  grant: '0190b0a2-7900-7000-8000-00000000d001',
  approval: '0190b0a2-6f00-7000-8000-00000000b001',
  session: '0190b0a2-6b3c-7000-8000-00000000a001',
  command: 'git status --short',
  cwd: '/workspace/repo',
  env: { LANG: 'C.UTF-8', GIT_PAGER: 'cat' },
  image: `sha256:${'ab'.repeat(32)}`,
  limits: {
    memoryBytes: 256 * 1024 * 1024,
    nanoCpus: 1e9,
    pidsLimit: 64,
    timeoutMs: 30_000,
    outputBytes: 65_536,
    network: 'none',
  },
  exp: '2024-07-15T10:31:00.000Z',
});
const request = () => {
  const g = grant();
  return { command: g.command, cwd: g.cwd, env: { GIT_PAGER: 'cat', LANG: 'C.UTF-8' }, image: g.image };
};

/** The GrantError code thrown by `fn` (fails the test if nothing or something else is thrown). */
function codeOf(fn: () => unknown): GrantErrorCode {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GrantError);
    return (error as GrantError).code;
  }
  throw new Error('no error thrown');
}

describe('grant signing', () => {
  it('signs JCS of the grant and verifies it back', () => {
    const signed = signGrant(approvals.privateKey, grant());
    expect(signed.payload).toBe(jcs(grant()));
    expect(signed.signature).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(verifyGrant(approvals.publicKey, signed, now)).toEqual(grant());
    expect(verifyGrantForRequest(approvals.publicKey, signed, request(), now)).toEqual(grant());
  });

  it('refuses to sign a malformed grant', () => {
    expect(codeOf(() => signGrant(approvals.privateKey, { ...grant(), image: 'alpine:latest' }))).toBe(
      'malformed',
    );
    expect(codeOf(() => signGrant(approvals.privateKey, { ...grant(), cwd: 'relative' }))).toBe('malformed');
    const hostNet = { ...grant(), limits: { ...grant().limits, network: 'host' } };
    expect(codeOf(() => signGrant(approvals.privateKey, hostNet))).toBe('malformed');
    expect(grantIssues({ ...grant(), extra: 1 })).toEqual([
      { path: 'extra', problem: 'property extra should not exist' },
    ]);
    expect(
      grantIssues({ ...grant(), limits: { ...grant().limits, pidsLimit: 0 } }).map((i) => i.path),
    ).toEqual(['limits.pidsLimit']);
  });

  it('refuses a signature by another key (forged)', () => {
    const mallory = generateEd25519KeyPair();
    const forged = signGrant(mallory.privateKey, grant());
    expect(codeOf(() => verifyGrant(approvals.publicKey, forged, now))).toBe('bad_signature');
  });

  it('refuses a tampered payload before parsing it', () => {
    const signed = signGrant(approvals.privateKey, grant());
    const tampered = { ...signed, payload: signed.payload.replace('git status --short', 'git push --force') };
    expect(codeOf(() => verifyGrant(approvals.publicKey, tampered, now))).toBe('bad_signature');
    // Not even JSON: still a signature failure, the parser never runs.
    expect(codeOf(() => verifyGrant(approvals.publicKey, { ...signed, payload: '{{{' }, now))).toBe(
      'bad_signature',
    );
  });

  it('refuses an expired grant (exp is exclusive)', () => {
    const signed = signGrant(approvals.privateKey, grant());
    expect(codeOf(() => verifyGrant(approvals.publicKey, signed, new Date('2024-07-15T10:31:00.000Z')))).toBe(
      'expired',
    );
    expect(codeOf(() => verifyGrant(approvals.publicKey, signed, new Date('2025-01-01T00:00:00.000Z')))).toBe(
      'expired',
    );
    expect(verifyGrant(approvals.publicKey, signed, new Date('2024-07-15T10:30:59.999Z')).grant).toBe(
      grant().grant,
    );
  });

  it('refuses malformed envelopes and validly signed but non-canonical or invalid payloads', () => {
    const signed = signGrant(approvals.privateKey, grant());
    expect(codeOf(() => verifyGrant(approvals.publicKey, { ...signed, signature: 'abc' }, now))).toBe(
      'malformed',
    );
    expect(codeOf(() => verifyGrant(approvals.publicKey, null as never, now))).toBe('malformed');
    const signRaw = (payload: string) => ({
      payload,
      signature: sign(null, Buffer.from(payload), approvals.privateKey).toString('base64url'),
    });
    expect(codeOf(() => verifyGrant(approvals.publicKey, signRaw('not json'), now))).toBe('malformed');
    expect(
      codeOf(() => verifyGrant(approvals.publicKey, signRaw(JSON.stringify(grant(), null, 1)), now)),
    ).toBe('malformed');
    const dup = signed.payload.replace('{"approval"', '{"command":"id","approval"');
    expect(codeOf(() => verifyGrant(approvals.publicKey, signRaw(dup), now))).toBe('malformed');
    expect(
      codeOf(() => verifyGrant(approvals.publicKey, signRaw(jcs({ ...grant(), env: { A: 1 } })), now)),
    ).toBe('malformed');
    // Signed, canonical, but smuggling a prototype key past the schema:
    const proto = jcs(grant()).replace('{"approval"', '{"__proto__":{"x":1},"approval"');
    expect(jcs(JSON.parse(proto))).toBe(proto);
    expect(codeOf(() => verifyGrant(approvals.publicKey, signRaw(proto), now))).toBe('malformed');
  });
});

describe('grant matching', () => {
  const signed = signGrant(approvals.privateKey, grant());

  it.each([
    ['command', { command: 'git status --short ' }],
    ['command', { command: 'git status --short; curl evil' }],
    ['cwd', { cwd: '/workspace/repo/' }],
    ['cwd', { cwd: '/' }],
    ['env', { env: { LANG: 'C.UTF-8' } }], // missing variable
    ['env', { env: { LANG: 'C.UTF-8', GIT_PAGER: 'cat', LD_PRELOAD: '/x.so' } }], // extra variable
    ['env', { env: { LANG: 'C.UTF-8', GIT_PAGER: 'less' } }], // changed value
    ['env', { env: undefined }],
    ['image', { image: `sha256:${'cd'.repeat(32)}` }],
  ])('refuses a request whose %s differs', (field, change) => {
    const req = { ...request(), ...change };
    expect(grantMatches(grant(), req)).toMatchObject({ ok: false, field });
    try {
      verifyGrantForRequest(approvals.publicKey, signed, req, now);
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(GrantError);
      expect(error).toMatchObject({ code: 'mismatch', field });
    }
  });

  it('ignores env key order and accepts an absent env when the grant sets none', () => {
    expect(grantMatches(grant(), request())).toEqual({ ok: true });
    const bare = { ...grant(), env: {} };
    expect(grantMatches(bare, { ...request(), env: undefined })).toEqual({ ok: true });
  });
});
