import { IsInt, IsString, Max, Min } from 'class-validator';
import { BaseServiceConfig } from '@palisade/config';

export class ChannelsConfig extends BaseServiceConfig {
  @IsString()
  PALISADE_CHANNELS_HOST: string = '127.0.0.1';

  @IsInt()
  @Min(0)
  @Max(65535)
  PALISADE_CHANNELS_PORT: number = 18790;
}
