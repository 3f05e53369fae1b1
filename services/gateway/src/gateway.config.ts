import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';
import { GatewayAuthConfig } from './auth/auth.config';

export class GatewayConfig extends GatewayAuthConfig {
  @IsString()
  PALISADE_GATEWAY_HOST: string = '127.0.0.1';

  @IsInt()
  @Min(0)
  @Max(65535)
  PALISADE_GATEWAY_PORT: number = 18443;

  /** Plain HTTP is allowed only on loopback and only when explicitly enabled. */
  // Implicit conversion would turn the string "false" into true: only the words true/false count.
  @Transform(({ obj, key }) => ({ true: true, false: false })[String(obj[key])] ?? obj[key])
  @IsBoolean()
  PALISADE_GATEWAY_INSECURE_HTTP: boolean = false;


  // --- the agent and its turns ---
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  PALISADE_AGENT_NAME: string = 'Palisade';

  /** Operator instructions added to every prompt (an `agent.identity.updated` event overrides them). */
  @IsString()
  @MaxLength(8_000)
  PALISADE_AGENT_INSTRUCTIONS: string = '';

  /** Tool calls per turn before the model must answer. */
  @IsInt()
  @Min(0)
  @Max(20)
  PALISADE_GATEWAY_MAX_TOOL_STEPS: number = 4;

  /** Messages older than this when first seen (e.g. after a long outage) start no turn. */
  @IsInt()
  @Min(1)
  PALISADE_GATEWAY_TURN_MAX_AGE_S: number = 600;

  @IsInt()
  @Min(1_000)
  PALISADE_GATEWAY_LLM_TIMEOUT_MS: number = 320_000;

  @IsInt()
  @Min(1_000)
  PALISADE_GATEWAY_SANDBOX_TIMEOUT_MS: number = 300_000;

  /** How long an operator API message waits for its turn's answer before replying 202. */
  @IsInt()
  @Min(100)
  PALISADE_GATEWAY_API_TURN_WAIT_MS: number = 60_000;
}
