import { IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IsSubjectToken, IsUuidV7, type BrokerFetchRequest } from '@palisade/contracts';
import { BROKER_NAME } from '../credential-broker.config';

export class BrokerFetchRequestDto implements BrokerFetchRequest {
  /** A logical name from PALISADE_BROKER_ENTRIES: callers never name an entry id. */
  @Matches(BROKER_NAME, { message: 'name must be a configured credential name' })
  name!: string;

  @IsString() @IsNotEmpty() @MaxLength(500) purpose!: string;
  @IsOptional() @IsSubjectToken() session?: string;
  @IsOptional() @IsUuidV7() correlationId?: string;
}
