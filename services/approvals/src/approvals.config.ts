import { IsIn, IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { APPROVAL_MODES, DEFAULT_APPROVAL_MODE, type ApprovalMode } from '@palisade/contracts';
import { DatabaseConfig, Sensitive } from '@palisade/config';

export class ApprovalsConfig extends DatabaseConfig {
  /** Mode of every agent the policy file does not name: always | smart | never. */
  @IsIn(APPROVAL_MODES)
  PALISADE_APPROVALS_MODE: ApprovalMode = DEFAULT_APPROVAL_MODE;

  /**
   * Optional JSON file: {"agents": {"<agent>": mode}, "channels": {"<channel>": mode}, "allow": ["<exact command>"]}.
   * The stricter of the agent's and the channel's mode applies. Empty: no file.
   */
  @IsString()
  PALISADE_APPROVALS_POLICY_FILE: string = '';

  /** Ed25519 private key (PKCS#8 PEM) that signs grants. Only approvals holds it. */
  @IsString()
  @Sensitive()
  PALISADE_APPROVALS_GRANT_KEY_FILE: string = '';

  /** Seconds a signed grant stays valid. */
  @IsInt()
  @Min(5)
  @Max(86_400)
  PALISADE_APPROVALS_GRANT_TTL_S: number = 300;

  /** Seconds a pending approval waits for a decision before it resolves `timeout` (denied). */
  @IsInt()
  @Min(1)
  @Max(7 * 86_400)
  PALISADE_APPROVALS_TIMEOUT_S: number = 300;

  /** How often due timeouts and freezes are swept, in milliseconds. */
  @IsInt()
  @Min(100)
  @Max(60_000)
  PALISADE_APPROVALS_SWEEP_MS: number = 1_000;

  /** The session workspace inside the sandbox: the only place a proven-safe command may write. */
  @IsString()
  @Matches(/^\/[^\0]*$/, { message: 'must be an absolute path' })
  PALISADE_APPROVALS_WORKSPACE: string = '/workspace';
}
