// Request DTOs of cmd.cron.*. The global ValidationPipe runs with whitelist + forbidNonWhitelisted, so
// a field not declared here — notably `system` — is refused, never honoured.
import { Type } from 'class-transformer';
import {
  IsDefined,
  IsIn,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import {
  CONTENT_MAX,
  ID_MAX,
  IsSubjectToken,
  IsUuidV7,
  NAME_MAX,
  REASON_MAX,
  SCHEDULE_KINDS,
  TRUST_LEVELS,
  type CronCreateRequest,
  type CronCreator,
  type CronRemoveRequest,
  type CronUpdateRequest,
  type ScheduleKind,
  type Trust,
} from '@palisade/contracts';

export const CREATOR_TYPES = ['user', 'apikey', 'sender'] as const;

export class CronCreatorDto implements CronCreator {
  @IsIn(CREATOR_TYPES) type: CronCreator['type'];
  @IsString() @IsNotEmpty() @MaxLength(ID_MAX) id: string;
  @IsIn(TRUST_LEVELS) trust: Trust;
}

export class CronCreateDto implements CronCreateRequest {
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) name?: string;
  @IsIn(SCHEDULE_KINDS) kind: ScheduleKind;
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) expr: string;
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) tz?: string;
  @IsSubjectToken() session: string;
  @IsString() @IsNotEmpty() @MaxLength(CONTENT_MAX) prompt: string;
  @IsDefined() @IsObject() @ValidateNested() @Type(() => CronCreatorDto) creator: CronCreatorDto;
}

export class CronUpdateDto extends CronCreateDto implements CronUpdateRequest {
  @IsUuidV7() job: string;
}

export class CronRemoveDto implements CronRemoveRequest {
  @IsUuidV7() job: string;
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(REASON_MAX) reason?: string;
  @IsDefined() @IsObject() @ValidateNested() @Type(() => CronCreatorDto) creator: CronCreatorDto;
}

/** cmd.cron.list takes no parameters (an empty object). */
export class CronListDto {}

/** One entry of PALISADE_CRON_SYSTEM_JOBS_FILE. */
export class SystemJobDto {
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) name: string;
  @IsIn(SCHEDULE_KINDS) kind: ScheduleKind;
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) expr: string;
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) tz?: string;
  @IsSubjectToken() session: string;
  @IsOptional() @IsString() @MaxLength(CONTENT_MAX) prompt?: string;
}
