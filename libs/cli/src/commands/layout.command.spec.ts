import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultLayoutFile, LayoutError } from '@palisade/deploy';
import { runLayoutCommand } from './layout.command';

function capture(): { out: () => string; err: () => string; restore: () => void } {
  let out = '';
  let err = '';
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += `${a.join(' ')}\n`));
  const error = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (err += `${a.join(' ')}\n`));
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  return { out: () => out, err: () => err, restore: () => [log, error, write].forEach((m) => m.mockRestore()) };
}

describe('palisade layout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'layout-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('check validates the shipped layout; flows lists every flow with its reason; nft prints a VM ruleset', async () => {
    const io = capture();
    try {
      expect(await runLayoutCommand(['check'])).toBe(0);
      expect(io.out()).toMatch(/valid — 3 VMs, 4 networks, 17 flows \(15 active\)/);
      expect(await runLayoutCommand(['flows'])).toBe(0);
      expect(io.out()).toMatch(/allow {4}soc-nats +soc +→ agent:nats +tcp\/4222 +The SOC subscribes/);
      expect(io.out()).toMatch(/inactive agent-cloud-models/);
      expect(await runLayoutCommand(['nft', 'ollama'])).toBe(0);
      expect(io.out()).toContain('table inet palisade_fw {');
      expect(await runLayoutCommand(['generate', '--check'])).toBe(0);
    } finally {
      io.restore();
    }
  });

  it('check on a broken layout throws an error naming the path; nft needs a known VM', async () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, readFileSync(defaultLayoutFile(), 'utf8').replace('    to: ollama\n', '    to: olama\n'));
    await expect(runLayoutCommand(['check', '--file', broken])).rejects.toThrow(LayoutError);
    await expect(runLayoutCommand(['check', '--file', broken])).rejects.toThrow(/flows\[\d+\]\.to: "olama" is neither a VM nor a network/);
    await expect(runLayoutCommand(['nft', 'mailserver'])).rejects.toThrow(/no VM "mailserver"/);
    const io = capture();
    try {
      expect(await runLayoutCommand(['bogus'])).toBe(2);
    } finally {
      io.restore();
    }
  });

  it('generate --check reports a layout whose generated files are out of date', async () => {
    const changed = join(dir, 'changed.yaml');
    writeFileSync(changed, readFileSync(defaultLayoutFile(), 'utf8').replace('cloud_endpoints: []', 'cloud_endpoints:\n  - { name: x, host: api.example.com, cidrs: [203.0.113.7/32] }'));
    const io = capture();
    try {
      expect(await runLayoutCommand(['generate', '--check', '--file', changed])).toBe(1);
      expect(io.err()).toMatch(/out of date .*vm-layout\/generated\/agent\.nft/);
      expect(io.err()).not.toMatch(/ollama\.nft/);
    } finally {
      io.restore();
    }
  });

  it('sandbox-allowlist prints the proxy allowlist the layout implies and checks a configured one against it', async () => {
    const withPypi = join(dir, 'pypi.yaml');
    writeFileSync(withPypi, readFileSync(defaultLayoutFile(), 'utf8').replace(/^sandbox_egress: \[\]$/m, 'sandbox_egress:\n  - { name: pypi, host: pypi.org, cidrs: [151.101.0.223/32] }'));
    const io = capture();
    try {
      expect(await runLayoutCommand(['sandbox-allowlist', '--file', withPypi])).toBe(0);
      expect(io.out()).toBe('pypi.org:443\n');
      expect(await runLayoutCommand(['sandbox-allowlist', '--file', withPypi, '--check', 'pypi.org:443'])).toBe(0);
      expect(await runLayoutCommand(['sandbox-allowlist', '--file', withPypi, '--check', 'pypi.org:443,files.example:443'])).toBe(1);
      expect(io.err()).toMatch(/files\.example:443: not in the layout's sandbox_egress, so the host firewall drops it/);
      // The shipped layout: no sandbox egress, so any configured allowlist disagrees.
      expect(await runLayoutCommand(['sandbox-allowlist', '--check', 'pypi.org:443'])).toBe(1);
      expect(await runLayoutCommand(['sandbox-allowlist', '--check', ''])).toBe(0);
    } finally {
      io.restore();
    }
  });
});
