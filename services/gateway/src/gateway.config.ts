import { IsBoolean, IsInt, IsString, Max, Min } from 'class-validator';
import { DatabaseConfig } from '@palisade/config';

export class GatewayConfig extends DatabaseConfig {
  @IsString()
  PALISADE_GATEWAY_HOST: string = '127.0.0.1';

  @IsInt()
  @Min(0)
  @Max(65535)
  PALISADE_GATEWAY_PORT: number = 18443;

  /** Plain HTTP is allowed only on loopback and only when explicitly enabled. */
  @IsBoolean()
  PALISADE_GATEWAY_INSECURE_HTTP: boolean = false;
}
