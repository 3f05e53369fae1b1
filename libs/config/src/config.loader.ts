// Environment parsed once into a validated DTO (property names are the variable names).
// A bad or missing variable fails start-up with one line per variable; sensitive values are masked.
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { readFileSync, statSync } from 'node:fs';
import { isSensitive } from './sensitive.decorator';

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; problem: string }[]) {
    super(
      `invalid configuration:\n${problems.map((p) => `  - ${p.variable}: ${p.problem}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

function flatten(errors: ValidationError[]): { variable: string; problem: string }[] {
  return errors.flatMap((error) => [
    ...Object.values(error.constraints ?? {}).map((problem) => ({
      variable: error.property,
      // class-validator messages start with the property name; keep only the problem.
      problem: problem.startsWith(error.property) ? problem.slice(error.property.length).trim() : problem,
    })),
    ...flatten(error.children ?? []),
  ]);
}

export function loadConfig<T extends object>(
  dto: new () => T,
  env: NodeJS.ProcessEnv = process.env,
): T {
  const declared = Object.keys(new dto());
  const plain: Record<string, unknown> = {};
  for (const key of declared) {
    const value = env[key];
    // An empty variable counts as unset, so a default applies or @IsDefined reports it.
    if (value !== undefined && value !== '') plain[key] = value;
  }
  const config = plainToInstance(dto, { ...new dto(), ...plain }, { enableImplicitConversion: true });
  const errors = validateSync(config, { forbidUnknownValues: true });
  if (errors.length) throw new ConfigError(flatten(errors));
  return config;
}

/** The config as loggable key/value pairs, with every @Sensitive field masked. */
export function describeConfig(config: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    out[key] = isSensitive(config, key) && value !== undefined ? '***' : value;
  }
  return out;
}

/**
 * Reads a secret from a file (the `*_FILE` convention: secrets never travel in environment values).
 * Refuses files readable by group or others so a secret cannot sit somewhere world-readable.
 */
export function readSecretFile(path: string, variable: string): string {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    throw new ConfigError([{ variable, problem: `secret file does not exist or is unreadable` }]);
  }
  if ((mode & 0o077) !== 0) {
    throw new ConfigError([{ variable, problem: `secret file must not be readable by group or others (chmod 600)` }]);
  }
  const value = readFileSync(path, 'utf8').trim();
  if (!value) throw new ConfigError([{ variable, problem: 'secret file is empty' }]);
  return value;
}
