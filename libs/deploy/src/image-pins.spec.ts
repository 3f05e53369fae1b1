// The pinning rule for third-party images (libs/deploy/src/image-pins.ts), its POSIX sh mirror
// (scripts/check-image-pins.sh, which the Compose guard services run) on the same cases, and the tag
// defaults of docker-compose.yml, the TypeScript and both scripts agreeing.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ALLOW_UNPINNED_VARIABLE, checkImagePins, parseEnvFile, THIRD_PARTY_IMAGES, validateImageRef } from './image-pins';

const repo = join(__dirname, '..', '..', '..');
const HEX = 'a'.repeat(32) + '0123456789abcdef'.repeat(2);

const accepted = [`nextcloud:31-apache@sha256:${HEX}`, `postgres:16-bookworm@sha256:${HEX}`, `ollama/ollama:0.12.6@sha256:${HEX}`, `registry.example.org:5000/team/ollama:1.2@sha256:${HEX}`, `postgres@sha256:${HEX}`];
const refused: [string, RegExp][] = [
  ['nextcloud:31-apache', /a tag, not a digest/],
  ['ollama/ollama', /a tag, not a digest/],
  ['nextcloud:latest', /a tag, not a digest/],
  [`nextcloud:latest@sha256:${HEX}`, /latest/],
  [`nextcloud:31-apache@sha256:${HEX.slice(1)}`, /63 hex digits, not 64/],
  [`nextcloud:31-apache@sha256:${HEX}0`, /65 hex digits, not 64/],
  [`nextcloud:31-apache@sha256:`, /0 hex digits/],
  [`nextcloud:31-apache@sha256:${HEX.toUpperCase()}`, /not lowercase hex/],
  [`nextcloud:31-apache@sha256:${HEX.slice(2)}zz`, /not lowercase hex/],
  [`nextcloud:31-apache@sha512:${HEX}${HEX}`, /a tag, not a digest/],
  [`@sha256:${HEX}`, /no image name/],
  [`next cloud:31@sha256:${HEX}`, /invalid characters/],
  [`nextcloud:31@x@sha256:${HEX}`, /more than one @/],
];

/** scripts/check-image-pins.sh for one profile with the given environment (nothing inherited). */
function shellCheck(profile: string, env: Record<string, string>, envFile?: string) {
  const r = spawnSync('sh', [join(repo, 'scripts', 'check-image-pins.sh'), ...(envFile ? ['--env-file', envFile] : []), profile], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

describe('validateImageRef', () => {
  test.each(accepted)('accepts %s', (ref) => expect(validateImageRef(ref)).toBeUndefined());
  test.each(refused)('refuses %s', (ref, why) => expect(validateImageRef(ref)).toMatch(why));
});

describe('checkImagePins', () => {
  test('the tag defaults are refused, naming each variable and the fix', () => {
    const report = checkImagePins(['nextcloud', 'ollama'], {});
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.variable)).toEqual(['PALISADE_NEXTCLOUD_IMAGE', 'PALISADE_NEXTCLOUD_DB_IMAGE', 'PALISADE_OLLAMA_IMAGE']);
    expect(report.fix).toContain('bash scripts/pin-images.sh nextcloud ollama');
    expect(report.fix).toContain(`${ALLOW_UNPINNED_VARIABLE}=1`);
  });

  test('pinned references pass; the environment wins over the env file, which wins over the default', () => {
    const pinned = `ollama/ollama:0.12.6@sha256:${HEX}`;
    expect(checkImagePins(['ollama'], {}, { PALISADE_OLLAMA_IMAGE: pinned })).toMatchObject({ ok: true, problems: [] });
    expect(checkImagePins(['ollama'], { PALISADE_OLLAMA_IMAGE: 'ollama/ollama:0.13' }, { PALISADE_OLLAMA_IMAGE: pinned })).toMatchObject({ ok: false, refs: { PALISADE_OLLAMA_IMAGE: 'ollama/ollama:0.13' } });
    // Empty counts as unset, like ${VAR:-default}.
    expect(checkImagePins(['ollama'], { PALISADE_OLLAMA_IMAGE: '' }, { PALISADE_OLLAMA_IMAGE: pinned }).ok).toBe(true);
    // Only the profiles asked for.
    expect(checkImagePins(['ollama'], { PALISADE_OLLAMA_IMAGE: pinned }).refs).toEqual({ PALISADE_OLLAMA_IMAGE: pinned });
  });

  test(`${ALLOW_UNPINNED_VARIABLE}=1 lets unpinned images through with a warning; other values do not`, () => {
    const allowed = checkImagePins(['nextcloud'], { [ALLOW_UNPINNED_VARIABLE]: '1' });
    expect(allowed).toMatchObject({ ok: true, warning: expect.stringContaining('not pinned') });
    expect(allowed.problems).toHaveLength(2);
    expect(checkImagePins(['nextcloud'], {}, { [ALLOW_UNPINNED_VARIABLE]: '1' }).ok).toBe(true);
    for (const value of ['true', 'yes', '0', '']) expect(checkImagePins(['nextcloud'], { [ALLOW_UNPINNED_VARIABLE]: value }).ok).toBe(false);
  });

  test('parseEnvFile reads VAR=value lines, last wins, quotes removed', () => {
    expect(parseEnvFile('# c\nA=1\nB="x y"\nA=2\n  C=\'q\'\nnot a line\n')).toEqual({ A: '2', B: 'x y', C: 'q' });
  });
});

describe('scripts/check-image-pins.sh (the Compose guard) agrees with validateImageRef', () => {
  test.each([...accepted.map((ref): [string, RegExp | undefined] => [ref, undefined]), ...refused])('%s', (ref, why) => {
    const r = shellCheck('ollama', { PALISADE_OLLAMA_IMAGE: ref });
    if (!why) {
      expect(r).toEqual({ status: 0, stderr: '' });
    } else {
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`PALISADE_OLLAMA_IMAGE=${ref} is not pinned by digest (${validateImageRef(ref)})`);
      expect(r.stderr).toContain('Fix: bash scripts/pin-images.sh ollama');
    }
  });

  test('the nextcloud profile checks both of its images; the override warns and passes; an env file is read', () => {
    const r = shellCheck('nextcloud', { PALISADE_NEXTCLOUD_IMAGE: `nextcloud:31-apache@sha256:${HEX}` });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('PALISADE_NEXTCLOUD_DB_IMAGE=postgres:16-bookworm is not pinned');
    expect(r.stderr).not.toContain('PALISADE_NEXTCLOUD_IMAGE=');
    const allowed = shellCheck('nextcloud', { [ALLOW_UNPINNED_VARIABLE]: '1' });
    expect(allowed.status).toBe(0);
    expect(allowed.stderr).toContain('WARNING: PALISADE_ALLOW_UNPINNED_IMAGES=1');
    const file = join(tmpdir(), `pins-${process.pid}.env`);
    writeFileSync(file, `PALISADE_NEXTCLOUD_IMAGE=nextcloud:31-apache@sha256:${HEX}\nPALISADE_NEXTCLOUD_DB_IMAGE="postgres:16-bookworm@sha256:${HEX}"\n`);
    try {
      expect(shellCheck('nextcloud', {}, file)).toEqual({ status: 0, stderr: '' });
      expect(shellCheck('nextcloud', { PALISADE_NEXTCLOUD_IMAGE: 'nextcloud:31-apache' }, file).status).toBe(1);
    } finally {
      rmSync(file, { force: true });
    }
  });
});

describe('one set of tag defaults', () => {
  const compose = readFileSync(join(repo, 'docker-compose.yml'), 'utf8');
  const services = (parse(compose) as { services: Record<string, { image?: string; depends_on?: Record<string, { condition: string }>; entrypoint?: string[] }> }).services;

  test.each(THIRD_PARTY_IMAGES.map((i) => [i.service, i]))('docker-compose.yml: %s uses ${VAR:-default} of image-pins.ts and waits for its profile guard', (_, image) => {
    expect(services[image.service].image).toBe(`\${${image.variable}:-${image.tagDefault}}`);
    expect(services[image.service].depends_on?.[`${image.profile}-image-pins`]).toEqual({ condition: 'service_completed_successfully' });
    expect(services[`${image.profile}-image-pins`].entrypoint).toEqual(['sh', '/palisade/check-image-pins.sh', image.profile]);
  });

  test('scripts/check-image-pins.sh and scripts/pin-images.sh have the same defaults', () => {
    const check = readFileSync(join(repo, 'scripts', 'check-image-pins.sh'), 'utf8');
    const pin = readFileSync(join(repo, 'scripts', 'pin-images.sh'), 'utf8');
    for (const i of THIRD_PARTY_IMAGES) {
      expect(check).toContain(`${i.variable}=${i.tagDefault}`);
      expect(pin).toContain(`'${i.variable} ${i.profile} ${i.tagDefault}'`);
    }
  });
});
