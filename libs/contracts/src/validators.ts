// class-validator decorators for the formats the contracts fix (UUIDv7, subject tokens, RFC 3339
// UTC, image ids, explicit string maps). Payload classes use these so a bad value is reported with
// the field's name instead of surfacing later as a broken subject or a failed signature check.
import {
  ValidateBy,
  ValidateIf,
  ValidationError,
  type ValidationOptions,
  buildMessage,
} from 'class-validator';
import { isUuidV7 } from './ids';
import { isRfc3339Utc } from './rfc3339';
import { isSubjectToken, SUBJECT_TOKEN_MAX_LENGTH } from './subjects';

/** Docker image id as returned by the engine: `sha256:` + 64 lower-case hex digits. */
export const IMAGE_ID_PATTERN = /^sha256:[0-9a-f]{64}$/;
export const HEX64_PATTERN = /^[0-9a-f]{64}$/;
/** Environment variable names a grant may set. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function IsUuidV7(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isUuidV7',
      validator: {
        validate: (value) => isUuidV7(value),
        defaultMessage: buildMessage((each) => `${each}$property must be a lower-case UUIDv7`, options),
      },
    },
    options,
  );
}

export function IsSubjectToken(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isSubjectToken',
      validator: {
        validate: (value) => isSubjectToken(value),
        defaultMessage: buildMessage(
          (each) =>
            `${each}$property must be a subject-safe token ([A-Za-z0-9_-]{1,${SUBJECT_TOKEN_MAX_LENGTH}})`,
          options,
        ),
      },
    },
    options,
  );
}

export function IsRfc3339Utc(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isRfc3339Utc',
      validator: {
        validate: (value) => isRfc3339Utc(value),
        defaultMessage: buildMessage(
          (each) => `${each}$property must be an RFC 3339 UTC timestamp (e.g. 2025-01-31T12:00:00.000Z)`,
          options,
        ),
      },
    },
    options,
  );
}

export function IsImageId(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isImageId',
      validator: {
        validate: (value) => typeof value === 'string' && IMAGE_ID_PATTERN.test(value),
        defaultMessage: buildMessage(
          (each) => `${each}$property must be an image id (sha256:<64 hex>)`,
          options,
        ),
      },
    },
    options,
  );
}

export function IsHex64(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isHex64',
      validator: {
        validate: (value) => typeof value === 'string' && HEX64_PATTERN.test(value),
        defaultMessage: buildMessage((each) => `${each}$property must be 64 lower-case hex digits`, options),
      },
    },
    options,
  );
}

/** A plain object whose keys match `keyPattern` and whose values are all strings (e.g. env). */
export function IsStringMap(
  keyPattern: RegExp = ENV_NAME_PATTERN,
  maxEntries = 256,
  options?: ValidationOptions,
): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStringMap',
      validator: {
        validate: (value) => {
          if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
          if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null)
            return false;
          const entries = Object.entries(value);
          return (
            entries.length <= maxEntries &&
            entries.every(([k, v]) => keyPattern.test(k) && typeof v === 'string')
          );
        },
        defaultMessage: buildMessage(
          () =>
            `$property must be an object of at most ${maxEntries} string values with keys matching ${keyPattern}`,
          options,
        ),
      },
    },
    options,
  );
}

/** One problem found while validating: a dotted path (e.g. `data.decider.id`) and what is wrong. */
export interface ValidationIssue {
  path: string;
  problem: string;
}

/** Flattens class-validator's error tree into paths, e.g. `data.reasons[1]`. */
export function flattenValidationErrors(
  errors: readonly ValidationError[],
  prefix: string,
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const error of errors) {
    const path = /^\d+$/.test(error.property)
      ? `${prefix}[${error.property}]`
      : `${prefix}.${error.property}`;
    for (const message of Object.values(error.constraints ?? {})) {
      issues.push({ path, problem: message });
    }
    if (error.children?.length) issues.push(...flattenValidationErrors(error.children, path));
  }
  return issues;
}

/**
 * Like @IsOptional(), but only `undefined` (an absent key) skips validation: `null` is refused,
 * so an optional field has one spelling when absent and hashes the same everywhere.
 */
export function Optional(options?: ValidationOptions): PropertyDecorator {
  return ValidateIf((_object, value) => value !== undefined, options);
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Paths of keys like `__proto__` or `constructor` anywhere in `value`. class-transformer turns
 * them into prototype changes instead of properties, so they would slip past the whitelist.
 */
export function forbiddenKeyIssues(value: unknown, path: string): ValidationIssue[] {
  if (value === null || typeof value !== 'object') return [];
  const issues: ValidationIssue[] = [];
  for (const [key, item] of Object.entries(value)) {
    const child = Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`;
    if (!Array.isArray(value) && FORBIDDEN_KEYS.has(key))
      issues.push({ path: child, problem: 'key is not allowed' });
    else issues.push(...forbiddenKeyIssues(item, child));
  }
  return issues;
}
