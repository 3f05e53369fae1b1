// Resource limits a grant binds. Kept apart from grant.ts so event payloads (which grant.ts itself
// imports) can validate limits without a circular import.
import { IsInt, IsString, Matches, Min } from 'class-validator';

export interface GrantLimits {
  memoryBytes: number;
  nanoCpus: number;
  pidsLimit: number;
  timeoutMs: number;
  /** Output kept per stream; the rest is dropped and `truncated` set. */
  outputBytes: number;
  /** `none`, or the name of a Docker network the sandbox may use (never `host`). */
  network: 'none' | (string & {});
}

/** `none` or a Docker network name; `host` (the host's own network namespace) is never allowed. */
export const DOCKER_NETWORK_PATTERN = /^(?!host$)[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/i;

export class GrantLimitsSchema implements GrantLimits {
  @IsInt() @Min(1) memoryBytes: number;
  @IsInt() @Min(1) nanoCpus: number;
  @IsInt() @Min(1) pidsLimit: number;
  @IsInt() @Min(1) timeoutMs: number;
  @IsInt() @Min(1) outputBytes: number;
  @IsString()
  @Matches(DOCKER_NETWORK_PATTERN, {
    message: 'network must be "none" or a Docker network name other than "host"',
  })
  network: string;
}
