import { IsIn, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { SCHEDULE_KINDS, SENDER_LEVELS, type ScheduleKind, type SenderLevel } from '@palisade/contracts';

export class PostMessageDto {
  @IsString() @IsNotEmpty() @MaxLength(32_000) text: string;
}

export class DecideDto {
  @IsIn(['approve', 'deny', 'modify']) decision: 'approve' | 'deny' | 'modify';
  /** For `modify`: the edited command. */
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(65_536) command?: string;
  @IsOptional() @IsString() @MaxLength(1_000) reason?: string;
}

export class SenderDto {
  @IsString() @IsNotEmpty() @MaxLength(256) sender: string;
}

export class AdmitSenderDto extends SenderDto {
  @IsIn(SENDER_LEVELS) level: SenderLevel;
}

export class SenderQueryDto {
  @IsOptional() @IsString() @MaxLength(256) channel?: string;
  @IsOptional() @IsIn(['pending', 'admitted', 'rejected']) status?: 'pending' | 'admitted' | 'rejected';
}

export class CronJobDto {
  @IsOptional() @IsString() @MaxLength(256) name?: string;
  @IsIn(SCHEDULE_KINDS) kind: ScheduleKind;
  @IsString() @IsNotEmpty() @MaxLength(256) expr: string;
  @IsOptional() @IsString() @MaxLength(64) tz?: string;
  @IsString() @IsNotEmpty() @MaxLength(128) session: string;
  @IsString() @IsNotEmpty() @MaxLength(32_000) prompt: string;
}

export class IdentityDto {
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(64) name?: string;
  @IsOptional() @IsString() @MaxLength(8_000) instructions?: string;
}
