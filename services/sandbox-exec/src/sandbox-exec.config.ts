import { IsInt, IsNumber, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { BaseServiceConfig, Sensitive } from '@palisade/config';

const MIB = 1024 * 1024;

/**
 * sandbox-exec. Docker is found the way the Docker CLI finds it (DOCKER_HOST, else
 * /var/run/docker.sock). The limits here are the defaults `cmd.sandbox.info` reports; a run always
 * uses the limits of its grant (approvals may override them per agent or cron job).
 */
export class SandboxExecConfig extends BaseServiceConfig {
  /** approvals' Ed25519 public key (SPKI PEM): the only key whose grants run. */
  @IsString()
  @Matches(/^\S+$/, { message: 'must be the path of approvals’ grant public key (PEM)' })
  PALISADE_SANDBOX_GRANT_PUBKEY_FILE: string = '';

  /** Image commands run in (a tag is resolved to its ID; grants bind the ID). */
  @IsString()
  @Matches(/^[\w][\w.:/@-]{0,254}$/, { message: 'must be an image reference or ID' })
  PALISADE_SANDBOX_IMAGE: string = 'palisade/sandbox:latest';

  @IsInt()
  @Min(6 * MIB)
  PALISADE_SANDBOX_MEMORY_BYTES: number = 512 * MIB;

  @IsNumber()
  @Min(0.01)
  @Max(1024)
  PALISADE_SANDBOX_CPUS: number = 1.0;

  @IsInt()
  @Min(16)
  @Max(1_000_000)
  PALISADE_SANDBOX_PIDS: number = 256;

  @IsInt()
  @Min(1)
  @Max(24 * 3_600_000)
  PALISADE_SANDBOX_TIMEOUT_MS: number = 120_000;

  /** Output kept per stream (stdout, stderr). */
  @IsInt()
  @Min(1)
  @Max(512 * 1024)
  PALISADE_SANDBOX_OUTPUT_BYTES: number = 200 * 1024;

  /** Pre-started containers for new sessions (0 disables the pool). */
  @IsInt()
  @Min(0)
  @Max(32)
  PALISADE_SANDBOX_POOL_SIZE: number = 2;

  /** A session's container is removed after this long without a command. */
  @IsInt()
  @Min(1)
  @Max(86_400)
  PALISADE_SANDBOX_IDLE_SECONDS: number = 600;

  /**
   * Egress allowlist, `host:port` separated by commas. Empty (default): no egress network at all,
   * every command runs with network none.
   */
  @IsOptional()
  @IsString()
  PALISADE_SANDBOX_EGRESS_ALLOWLIST?: string;

  /** The internal Docker network sandboxes with egress join (created by the service). */
  @IsString()
  @Matches(/^(?!host$|bridge$|none$)[A-Za-z0-9][A-Za-z0-9_.-]{0,100}$/, {
    message: 'must be a Docker network name (not host, bridge or none)',
  })
  PALISADE_SANDBOX_EGRESS_NETWORK: string = 'palisade-egress';

  /** The outside network the egress proxy joins to reach allowlisted destinations. */
  @IsString()
  @Matches(/^(?!host$|none$)[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, {
    message: 'must be a Docker network name (not host or none)',
  })
  PALISADE_SANDBOX_EGRESS_UPSTREAM_NETWORK: string = 'bridge';

  /**
   * The nft binary that installs the egress network's packet filter (a name on PATH or a path).
   * Without it egress runs are refused; runs without network are unaffected.
   */
  @IsString()
  @Matches(/^[\w./-]{1,255}$/, { message: 'must be a program name or path' })
  PALISADE_SANDBOX_NFT: string = 'nft';

  /** Denied flows recorded between two reads (per address family); beyond, packets are only counted. */
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  PALISADE_SANDBOX_EGRESS_DENIED_SET_SIZE: number = 4096;

  /**
   * Files of secret values (one per line) redacted from all command output, besides the detectors,
   * comma-separated. Each must be readable by the owner only.
   */
  @IsOptional()
  @IsString()
  @Sensitive()
  PALISADE_SANDBOX_SECRETS_FILES?: string;
}
