// `palisade doctor --vm nextcloud|ollama`, check image-pins: the profile's pulled images must be pinned by
// digest (environment, else .env beside docker-compose.yml, else the tag default).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkImagePinsOnVm } from './doctor.command';

const HEX = '0123456789abcdef'.repeat(4);

describe('doctor image-pins', () => {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-pins-'));
  const envFile = join(dir, '.env');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the agent VM pulls nothing: OK', () => {
    expect(checkImagePinsOnVm('agent', {}, envFile)).toMatchObject({ check: 'image-pins', ok: true });
  });

  test('tag defaults fail, naming the variables and the fix', () => {
    const r = checkImagePinsOnVm('nextcloud', {}, envFile);
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('PALISADE_NEXTCLOUD_IMAGE=nextcloud:31-apache is not pinned by digest');
    expect(r.detail).toContain('PALISADE_NEXTCLOUD_DB_IMAGE=postgres:16-bookworm');
    expect(r.fix).toContain('bash scripts/pin-images.sh nextcloud');
  });

  test('pins in .env pass; the override passes with a warning', () => {
    writeFileSync(envFile, `PALISADE_OLLAMA_IMAGE=ollama/ollama:0.12.6@sha256:${HEX}\n`);
    expect(checkImagePinsOnVm('ollama', {}, envFile)).toMatchObject({ ok: true, detail: expect.stringContaining('pinned by digest') });
    expect(checkImagePinsOnVm('ollama', { PALISADE_OLLAMA_IMAGE: 'ollama/ollama:0.12.6' }, envFile).ok).toBe(false);
    expect(checkImagePinsOnVm('ollama', { PALISADE_OLLAMA_IMAGE: 'ollama/ollama:0.12.6', PALISADE_ALLOW_UNPINNED_IMAGES: '1' }, envFile)).toMatchObject({ ok: true, detail: expect.stringMatching(/^WARNING/) });
  });
});
