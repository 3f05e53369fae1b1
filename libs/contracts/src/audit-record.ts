// Builds the SOC feed record for a ledgered event. The SOC sees every event's envelope and
// structure, but no chat text and no secret: content fields become {sha256, length} and detected
// or known secrets in every other string become digests. The full event stays in EVENTS, which
// the SOC user cannot read.
import { createHash } from 'node:crypto';
import type { AuditRecord, PalisadeEvent } from './envelope';
import { getEventDefinition, parseDataschema } from './events/registry';
import { type SeqLike } from './hash-chain';
import { jcs } from './jcs';
import { digestReplacement, redactSecretsDeep } from './secrets';
import { validateEvent } from './validate-event';
import { HEX64_PATTERN } from './validators';

/**
 * What replaces a content field. `length` is the length in UTF-8 BYTES (not characters) of the
 * content; `sha256` is the hex SHA-256 of those bytes. For a non-string content value both refer
 * to its JCS text.
 */
export interface ContentDigest {
  sha256: string;
  length: number;
}

export function contentDigest(value: unknown): ContentDigest {
  const bytes = Buffer.from(typeof value === 'string' ? value : jcs(value), 'utf8');
  return { sha256: createHash('sha256').update(bytes).digest('hex'), length: bytes.length };
}

/** Replaces, in place, every value at `path` (dotted; `*` = every element / value) by its digest. */
function digestPath(node: unknown, segments: readonly string[]): void {
  if (node === null || typeof node !== 'object' || segments.length === 0) return;
  const [head, ...rest] = segments;
  const container = node as Record<string, unknown>;
  const keys =
    head === '*'
      ? Object.keys(container)
      : Object.prototype.hasOwnProperty.call(container, head)
        ? [head]
        : [];
  for (const key of keys) {
    if (rest.length === 0) {
      if (container[key] !== undefined && container[key] !== null)
        container[key] = contentDigest(container[key]);
    } else {
      digestPath(container[key], rest);
    }
  }
}

export interface AuditRecordOptions {
  /** Secret values the caller knows of (e.g. released by the credential broker) to redact too. */
  knownSecrets?: readonly string[];
}

/**
 * The audit record for `event` at ledger position (`ledgerSeq`, `ledgerHash`). The event is
 * validated first: an unknown type or a payload with unexpected fields is refused
 * (EventValidationError) because we could not be sure which of its fields hold content.
 */
export function toAuditRecord(
  event: PalisadeEvent<unknown>,
  ledgerSeq: SeqLike,
  ledgerHash: string,
  options: AuditRecordOptions = {},
): AuditRecord {
  const valid = validateEvent(event);
  const schema = parseDataschema(valid.dataschema)!;
  const definition = getEventDefinition(valid.type, schema.version)!;
  const seqText = String(ledgerSeq);
  if (!/^[1-9][0-9]*$/.test(seqText) || (typeof ledgerSeq === 'number' && !Number.isSafeInteger(ledgerSeq))) {
    throw new RangeError(`ledgerSeq must be a positive integer (got ${seqText})`);
  }
  if (typeof ledgerHash !== 'string' || !HEX64_PATTERN.test(ledgerHash)) {
    throw new TypeError('ledgerHash must be 64 lower-case hex digits');
  }

  const data = structuredClone(valid.data) as Record<string, unknown>;
  for (const path of definition.contentFields) digestPath(data, path.split('.'));
  const redacted = redactSecretsDeep(data, options.knownSecrets ?? [], { replace: digestReplacement });

  return { ...valid, data: redacted, ledgerseq: seqText, ledgerhash: ledgerHash };
}
