import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, get } from 'node:https';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@palisade/config';
import { createTestCa, type TestCa } from '@palisade/testing';
import { channelsListen } from './channels-tls';
import { ChannelsConfig } from './channels.config';

const config = (over: Partial<ChannelsConfig>): ChannelsConfig => Object.assign(new ChannelsConfig(), over);

describe('channels webhook TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'channels-tls-'));
  let ca: TestCa;
  let other: TestCa;
  beforeAll(async () => {
    ca = await createTestCa(join(dir, 'a'), { extraSans: ['10.70.1.20'] });
    other = await createTestCa(join(dir, 'b'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves HTTPS with the configured certificate, verifiable with the CA', async () => {
    const listen = channelsListen(config({ PALISADE_CHANNELS_HOST: '0.0.0.0', PALISADE_CHANNELS_TLS_CERT_FILE: ca.certPath, PALISADE_CHANNELS_TLS_KEY_FILE: ca.keyPath }));
    expect(listen).toMatchObject({ host: '0.0.0.0', port: 18788, bodyParser: false });
    const server = createServer(listen.httpsOptions!, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const body = await new Promise<string>((resolve, reject) => {
        get({ host: '127.0.0.1', port, path: '/', ca: ca.caCert }, (res) => {
          let data = '';
          res.on('data', (c) => (data += c));
          res.on('end', () => resolve(data));
        }).on('error', reject);
      });
      expect(body).toBe('ok');
      // A client trusting another CA refuses the certificate.
      await expect(
        new Promise((resolve, reject) => get({ host: '127.0.0.1', port, path: '/', ca: other.caCert }, resolve).on('error', reject)),
      ).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    } finally {
      server.close();
    }
  });

  it('refuses plain HTTP on a non-loopback address unless declared', () => {
    expect(() => channelsListen(config({ PALISADE_CHANNELS_HOST: '0.0.0.0' }))).toThrow(ConfigError);
    expect(channelsListen(config({ PALISADE_CHANNELS_HOST: '0.0.0.0', PALISADE_CHANNELS_INSECURE_HTTP: true })).httpsOptions).toBeUndefined();
    expect(channelsListen(config({})).httpsOptions).toBeUndefined(); // loopback default
  });

  it('refuses half a configuration, a key that is not the certificate’s, and a key readable by others', () => {
    expect(() => channelsListen(config({ PALISADE_CHANNELS_TLS_CERT_FILE: ca.certPath }))).toThrow(/PALISADE_CHANNELS_TLS_KEY_FILE/);
    expect(() => channelsListen(config({ PALISADE_CHANNELS_TLS_CERT_FILE: ca.certPath, PALISADE_CHANNELS_TLS_KEY_FILE: other.keyPath }))).toThrow(ConfigError);
    chmodSync(ca.keyPath, 0o644);
    try {
      expect(() => channelsListen(config({ PALISADE_CHANNELS_TLS_CERT_FILE: ca.certPath, PALISADE_CHANNELS_TLS_KEY_FILE: ca.keyPath }))).toThrow(ConfigError);
    } finally {
      chmodSync(ca.keyPath, 0o600);
    }
  });
});
