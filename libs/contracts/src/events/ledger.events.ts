// Ledger checkpoints, on the ledger aggregate. The signature covers checkpointPayload() of
// {seq, hash, time, keyid}; a SOC verifies it off the box with the published public key.
import { IsBase64, IsInt, Min } from 'class-validator';
import { IsHex64, IsRfc3339Utc } from '../validators';
import { registerEvent } from './registry';

export class LedgerCheckpointSignedData {
  /** Ledger sequence number the checkpoint covers (inclusive). */
  @IsInt() @Min(1) seq: number;
  /** Chain hash of that ledger row. */
  @IsHex64() hash: string;
  @IsRfc3339Utc() time: string;
  /** Hex SHA-256 of the raw Ed25519 public key. */
  @IsHex64() keyid: string;
  /** Standard base64 Ed25519 signature. */
  @IsBase64() signature: string;
}

declare module './registry' {
  interface EventPayloads {
    'ledger.checkpoint.signed': LedgerCheckpointSignedData;
  }
}

registerEvent({
  type: 'ledger.checkpoint.signed',
  version: 1,
  aggregateType: 'ledger',
  payload: LedgerCheckpointSignedData,
  contentFields: [],
  description: 'ledger signed a checkpoint of the hash chain.',
});
