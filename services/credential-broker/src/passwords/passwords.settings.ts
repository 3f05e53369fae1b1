// The Passwords connection as the broker uses it: read once at start-up from the validated config.
import { Logger } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { ConfigError, readSecretFile } from '@palisade/config';
import { registerSecret } from '@palisade/telemetry';
import { parseBrokerEntries, type CredentialBrokerConfig } from '../credential-broker.config';

export const PASSWORDS_SETTINGS = Symbol('PASSWORDS_SETTINGS');

export interface PasswordsSettings {
  /** undefined: no password store configured (every fetch is refused, health says what to set). */
  connection?: {
    apiBase: string;
    user: string;
    appPassword: string;
    ca?: string;
    timeoutMs: number;
  };
  entries: Map<string, string>;
}

export function loadPasswordsSettings(config: CredentialBrokerConfig): PasswordsSettings {
  const entries = parseBrokerEntries(config.PALISADE_BROKER_ENTRIES);
  if (!config.PALISADE_PASSWORDS_URL) return { entries };
  try {
    const appPassword = readSecretFile(
      config.PALISADE_PASSWORDS_APP_PASSWORD_FILE,
      'PALISADE_PASSWORDS_APP_PASSWORD_FILE',
    );
    registerSecret(appPassword);
    let ca: string | undefined;
    if (config.PALISADE_PASSWORDS_CA_FILE) {
      try {
        ca = readFileSync(config.PALISADE_PASSWORDS_CA_FILE, 'utf8');
      } catch {
        throw new ConfigError([
          { variable: 'PALISADE_PASSWORDS_CA_FILE', problem: 'file does not exist or is unreadable' },
        ]);
      }
    }
    return {
      entries,
      connection: {
        apiBase: `${config.PALISADE_PASSWORDS_URL.replace(/\/+$/, '')}/index.php/apps/passwords/api/1.0/`,
        user: config.PALISADE_PASSWORDS_USER,
        appPassword,
        ca,
        timeoutMs: config.PALISADE_PASSWORDS_TIMEOUT_MS,
      },
    };
  } catch (error) {
    if (error instanceof ConfigError) {
      new Logger('CredentialBroker').error(`credential-broker cannot start: ${error.message}`);
      process.exitCode = 78; // EX_CONFIG, like the other configuration errors
    }
    throw error;
  }
}
