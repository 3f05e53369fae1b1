import { IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min } from 'class-validator';
import { Sensitive } from './sensitive.decorator';

const NATS_URL = /^(nats|tls):\/\/[^\s/]+:\d+$/;

/** Variables every Palisade service reads. Each service extends this with its own. */
export class BaseServiceConfig {
  @Matches(NATS_URL, { message: 'must be nats://host:port or tls://host:port' })
  PALISADE_NATS_URL: string = '';

  /** Path of the file holding this service's own NATS nkey seed. */
  @IsString()
  @Matches(/^\S+$/, { message: 'must be the path of the nkey seed file' })
  @Sensitive()
  PALISADE_NATS_SEED_FILE: string = '';

  @IsOptional()
  @IsString()
  PALISADE_NATS_CA_FILE?: string;

  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'])
  PALISADE_LOG_LEVEL: string = 'log';

  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  PALISADE_OTLP_ENDPOINT?: string;

  /** Milliseconds a NATS request waits for its reply. */
  @IsInt()
  @Min(100)
  @Max(600_000)
  PALISADE_RPC_TIMEOUT_MS: number = 30_000;
}

/** PostgreSQL connection for services that keep read models (each with its own role and schema). */
export class DatabaseConfig extends BaseServiceConfig {
  @IsString()
  @Matches(/^[\w.-]+$/, { message: 'must be a host name or address' })
  PALISADE_PG_HOST: string = '127.0.0.1';

  @IsInt()
  @Min(1)
  @Max(65535)
  PALISADE_PG_PORT: number = 5432;

  @IsString()
  @Matches(/^\w+$/)
  PALISADE_PG_DATABASE: string = 'palisade';

  @IsString()
  @Matches(/^\w+$/, { message: 'must be the role name' })
  PALISADE_PG_USER: string = '';

  @IsString()
  @Sensitive()
  PALISADE_PG_PASSWORD_FILE: string = '';
}
