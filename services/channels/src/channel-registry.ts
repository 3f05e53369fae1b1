// The configured channels (PALISADE_CHANNELS_FILE), validated once at start-up. Each bot secret is read
// from its own 600-mode file and registered for log masking; it is kept only in memory.
import { plainToInstance } from 'class-transformer';
import { IsIn, IsString, Matches, MaxLength, validateSync, ValidationError } from 'class-validator';
import { readFileSync } from 'node:fs';
import { ConfigError, readSecretFile } from '@palisade/config';
import { registerSecret } from '@palisade/telemetry';

export class ChannelDefinition {
  /** Channel name as used in URLs, session keys and events (e.g. `talk-main`). */
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9_-]{0,63}$/, {
    message: 'name must be 1-64 of [a-z0-9_-], starting alphanumeric',
  })
  name: string;

  @IsIn(['talk'])
  kind: 'talk';

  /** The Nextcloud base URL; https, or http when an operator configures it explicitly (loopback tests). */
  @IsString()
  @MaxLength(2048)
  @Matches(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, { message: 'baseUrl must be an http(s) URL without query' })
  baseUrl: string;

  @IsString()
  @Matches(/^\S+$/, { message: 'secretFile must be a path' })
  secretFile: string;
}

export interface ChannelRuntime {
  name: string;
  kind: 'talk';
  /** Base URL without trailing slashes. */
  baseUrl: string;
  secret: string;
}

export const normaliseBaseUrl = (url: string): string => url.trim().replace(/\/+$/, '');

function problems(errors: ValidationError[], prefix: string): { variable: string; problem: string }[] {
  return errors.flatMap((e) => [
    ...Object.values(e.constraints ?? {}).map((problem) => ({
      variable: `${prefix}.${e.property}`,
      problem,
    })),
    ...problems(e.children ?? [], `${prefix}.${e.property}`),
  ]);
}

export function loadChannels(file: string): Map<string, ChannelRuntime> {
  const variable = 'PALISADE_CHANNELS_FILE';
  if (!file) throw new ConfigError([{ variable, problem: 'must name the channels file' }]);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError([
      { variable, problem: `cannot read a JSON array from it: ${(error as Error).message}` },
    ]);
  }
  if (!Array.isArray(raw))
    throw new ConfigError([{ variable, problem: 'must hold a JSON array of channels' }]);
  const out = new Map<string, ChannelRuntime>();
  const bad: { variable: string; problem: string }[] = [];
  raw.forEach((item, i) => {
    const def = plainToInstance(ChannelDefinition, item);
    const errors = validateSync(def, {
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
    });
    if (errors.length) return bad.push(...problems(errors, `${variable}[${i}]`));
    if (out.has(def.name))
      return bad.push({ variable: `${variable}[${i}].name`, problem: `duplicate channel ${def.name}` });
    const secret = readSecretFile(def.secretFile, `${variable}[${i}].secretFile`);
    registerSecret(secret);
    out.set(def.name, { name: def.name, kind: def.kind, baseUrl: normaliseBaseUrl(def.baseUrl), secret });
  });
  if (bad.length) throw new ConfigError(bad);
  return out;
}
