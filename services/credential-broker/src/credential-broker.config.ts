import {
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateBy,
  ValidateIf,
  buildMessage,
} from 'class-validator';
import { BaseServiceConfig, Sensitive } from '@palisade/config';

export const BROKER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const ENTRY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Passwords refuses plain HTTP, and the app password must never travel in clear.
const HTTPS_URL = /^https:\/\/[^\s/?#]+(?::\d+)?(?:\/[^\s?#]*)?$/;

/** `name=<entry uuid>,other=<entry uuid>` → Map; throws a message naming the bad item. */
export function parseBrokerEntries(value: string): Map<string, string> {
  const entries = new Map<string, string>();
  if (value.trim() === '') return entries;
  for (const item of value.split(',')) {
    const [name, id, ...rest] = item.trim().split('=');
    if (rest.length || !name || !id || !BROKER_NAME.test(name) || !ENTRY_ID.test(id.toLowerCase())) {
      throw new Error(
        `"${item.trim()}" is not name=<Passwords entry uuid> (name: lower-case letters, digits, . _ -)`,
      );
    }
    if (entries.has(name)) throw new Error(`name "${name}" appears twice`);
    entries.set(name, id.toLowerCase());
  }
  return entries;
}

function IsBrokerEntries(): PropertyDecorator {
  return ValidateBy({
    name: 'isBrokerEntries',
    validator: {
      validate: (value) => {
        try {
          parseBrokerEntries(String(value ?? ''));
          return true;
        } catch {
          return false;
        }
      },
      defaultMessage: buildMessage(
        () => 'must be a comma-separated list of name=<Passwords entry uuid>, e.g. llm-cloud=6f1c…-…',
      ),
    },
  });
}

const passwordsConfigured = (c: CredentialBrokerConfig) => c.PALISADE_PASSWORDS_URL !== '';

export class CredentialBrokerConfig extends BaseServiceConfig {
  /** Nextcloud base URL (https only); the Passwords API is under /index.php/apps/passwords/api/1.0/. */
  @ValidateIf(passwordsConfigured)
  @Matches(HTTPS_URL, {
    message:
      'must be the https:// base URL of Nextcloud (Passwords refuses plain HTTP; the app password must not travel in clear)',
  })
  PALISADE_PASSWORDS_URL: string = '';

  /** The agent's Nextcloud login name. */
  @ValidateIf(passwordsConfigured)
  @IsString()
  @IsNotEmpty({ message: 'must name the agent account when PALISADE_PASSWORDS_URL is set' })
  PALISADE_PASSWORDS_USER: string = '';

  /** File holding the agent account's app password (chmod 600). */
  @ValidateIf(passwordsConfigured)
  @IsString()
  @IsNotEmpty({ message: 'must be the path of the app password file when PALISADE_PASSWORDS_URL is set' })
  @Sensitive()
  PALISADE_PASSWORDS_APP_PASSWORD_FILE: string = '';

  /** PEM of a private CA that signed Nextcloud's certificate (replaces the system CAs). */
  @IsOptional()
  @IsString()
  PALISADE_PASSWORDS_CA_FILE?: string;

  @IsInt()
  @Min(500)
  @Max(120_000)
  PALISADE_PASSWORDS_TIMEOUT_MS: number = 10_000;

  /** Logical names callers may ask for, each mapped to exactly one Passwords entry id. */
  @IsString()
  @IsBrokerEntries()
  PALISADE_BROKER_ENTRIES: string = '';
}
