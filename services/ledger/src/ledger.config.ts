import { IsInt, IsString, Max, Min } from 'class-validator';
import { DatabaseConfig, Sensitive } from '@palisade/config';

export class LedgerConfig extends DatabaseConfig {
  /** Ed25519 private key (PKCS#8 PEM) that signs checkpoints. Only the ledger holds it. */
  @IsString()
  @Sensitive()
  PALISADE_LEDGER_KEY_FILE: string = '';

  /** Sign a checkpoint after this many new ledger entries… */
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  PALISADE_LEDGER_CHECKPOINT_EVERY: number = 100;

  /** …or after this many seconds with new entries, whichever comes first. */
  @IsInt()
  @Min(1)
  @Max(86_400)
  PALISADE_LEDGER_CHECKPOINT_SECONDS: number = 60;
}
