import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { DatabaseConfig, Sensitive } from '@palisade/config';

const LIST = /^[^\s,]+(,[^\s,]+)*$/;

/** Authentication, TLS, origin and rate-limit settings of the gateway (GatewayConfig extends this). */
export class GatewayAuthConfig extends DatabaseConfig {
  /** Gateway state on disk (the local CA and server certificate live in <dir>/tls, mode 700/600). */
  @IsString()
  PALISADE_GATEWAY_DATA_DIR: string = '.palisade/gateway';

  /** Operator-supplied certificate (PEM, may include the chain) and key; both or neither. */
  @IsOptional()
  @IsString()
  PALISADE_GATEWAY_TLS_CERT_FILE?: string;

  @IsOptional()
  @IsString()
  @Sensitive()
  PALISADE_GATEWAY_TLS_KEY_FILE?: string;

  /** Extra names and IP addresses for the generated certificate, comma-separated. */
  @IsOptional()
  @Matches(LIST, { message: 'must be a comma-separated list of host names or IP addresses' })
  PALISADE_GATEWAY_TLS_SANS?: string;

  /** The generated server certificate is renewed this many days before it expires. */
  @IsInt()
  @Min(1)
  @Max(60)
  PALISADE_GATEWAY_TLS_RENEW_DAYS: number = 30;

  /** Browser origins allowed besides the gateway's own host, e.g. https://agent.example.com. */
  @IsOptional()
  @Matches(/^https?:\/\/[^\s,/]+(,https?:\/\/[^\s,/]+)*$/, {
    message: 'must be comma-separated origins like https://host[:port]',
  })
  PALISADE_GATEWAY_PUBLIC_ORIGINS?: string;

  /** First-run alternative to `palisade auth set-password`: a mode-600 file with the operator password. */
  @IsOptional()
  @IsString()
  @Sensitive()
  PALISADE_GATEWAY_PASSWORD_FILE?: string;

  @IsInt()
  @Min(60)
  @Max(30 * 86_400)
  PALISADE_GATEWAY_SESSION_TTL_SECONDS: number = 8 * 3600;

  /** Failed logins (password or API key) from one address before it is locked out. */
  @IsInt()
  @Min(1)
  @Max(1000)
  PALISADE_GATEWAY_LOGIN_MAX_FAILURES: number = 10;

  /** First lockout; each further one doubles, up to the maximum. */
  @IsInt()
  @Min(1)
  PALISADE_GATEWAY_LOCKOUT_SECONDS: number = 60;

  @IsInt()
  @Min(1)
  PALISADE_GATEWAY_LOCKOUT_MAX_SECONDS: number = 3600;

  /** Requests per minute per API key or session (REST and WebSocket requests together). */
  @IsInt()
  @Min(1)
  PALISADE_GATEWAY_REQUESTS_PER_MINUTE: number = 600;

  /** WebSocket connection attempts per minute per remote address. */
  @IsInt()
  @Min(1)
  PALISADE_GATEWAY_WS_CONNECTS_PER_MINUTE: number = 30;

  @IsInt()
  @Min(1024)
  @Max(16 * 1024 * 1024)
  PALISADE_GATEWAY_WS_MAX_FRAME_BYTES: number = 64 * 1024;

  /** Time a new WebSocket has to send its `connect` frame. */
  @IsInt()
  @Min(100)
  @Max(60_000)
  PALISADE_GATEWAY_WS_HANDSHAKE_MS: number = 5_000;

  /** Ping interval; a socket that missed the previous pong is closed. */
  @IsInt()
  @Min(1)
  @Max(600)
  PALISADE_GATEWAY_WS_PING_SECONDS: number = 30;
}

export const listOf = (value: string | undefined): string[] =>
  value
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
