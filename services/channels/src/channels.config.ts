import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { DatabaseConfig } from '@palisade/config';

export class ChannelsConfig extends DatabaseConfig {
  @IsString()
  PALISADE_CHANNELS_HOST: string = '127.0.0.1';

  @IsInt()
  @Min(0)
  @Max(65535)
  PALISADE_CHANNELS_PORT: number = 18788;

  /**
   * HTTPS for the Talk webhook: certificate (with its chain) and key files, e.g. issued by the local CA
   * (`npx palisade infra tls-cert channels --san <address>`). Required on any non-loopback address.
   */
  @IsOptional()
  @IsString()
  PALISADE_CHANNELS_TLS_CERT_FILE?: string;

  @IsOptional()
  @IsString()
  PALISADE_CHANNELS_TLS_KEY_FILE?: string;

  /** Plain HTTP on a non-loopback address, only for a site whose TLS ends in front of channels. */
  @Transform(({ obj, key }) => ({ true: true, false: false })[String(obj[key])] ?? obj[key])
  @IsBoolean()
  PALISADE_CHANNELS_INSECURE_HTTP: boolean = false;

  /** JSON file listing the configured channels: [{name, kind, baseUrl, secretFile}]. */
  @IsString()
  PALISADE_CHANNELS_FILE: string = '';

  /** Largest webhook body accepted (Talk messages are at most 32,000 characters). */
  @IsInt()
  @Min(1024)
  @Max(1024 * 1024)
  PALISADE_CHANNELS_MAX_BODY_BYTES: number = 64 * 1024;

  /** Rejected-webhook (and ignored-approval) audit events per channel per minute; the rest are counted. */
  @IsInt()
  @Min(1)
  @Max(10_000)
  PALISADE_CHANNELS_AUDIT_PER_MINUTE: number = 10;

  /** How long seen webhook randoms and message ids are remembered (replay guard). */
  @IsInt()
  @Min(60)
  @Max(90 * 86_400)
  PALISADE_CHANNELS_REPLAY_WINDOW_SECONDS: number = 7 * 86_400;

  /** Replies older than this are not delivered any more (e.g. after a long outage). */
  @IsInt()
  @Min(1)
  @Max(7 * 86_400)
  PALISADE_CHANNELS_REPLY_MAX_AGE_SECONDS: number = 15 * 60;

  /** First pause before probing a channel whose replies got 401 (doubles up to an hour). */
  @IsInt()
  @Min(1)
  @Max(86_400)
  PALISADE_CHANNELS_REPLY_PROBE_SECONDS: number = 300;
}
