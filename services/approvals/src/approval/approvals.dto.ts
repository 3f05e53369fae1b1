// Request DTOs of cmd.approvals.* (shapes: libs/contracts/src/commands/approvals.commands.ts). The
// transport validates with whitelist + forbidNonWhitelisted: unknown fields are an error.
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import {
  ABSOLUTE_PATH_PATTERN,
  ACTOR_TYPES,
  type ActorType,
  type ApprovalsDecideRequest,
  type ApprovalsEvaluateRequest,
  type ApprovalsGetRequest,
  type ApprovalsGrantRequest,
  type ApprovalsListRequest,
  type ApprovalStatus,
  type Decider,
  GrantLimitsSchema,
  IsImageId,
  IsStringMap,
  IsSubjectToken,
  IsUuidV7,
  TRUST_LEVELS,
  type Trust,
} from '@palisade/contracts';

const COMMAND_MAX = 65_536;
const NAME_MAX = 256;
const REASON_MAX = 4096;
const PATH_MAX = 4096;

export class ActorDto {
  @IsIn(ACTOR_TYPES) type: ActorType;
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) id: string;
}

export class EvaluateRequestDto implements ApprovalsEvaluateRequest {
  @IsSubjectToken() session: string;
  @IsUuidV7() turn: string;
  @IsString() @IsNotEmpty() @MaxLength(COMMAND_MAX) command: string;
  @IsString()
  @MaxLength(PATH_MAX)
  @Matches(ABSOLUTE_PATH_PATTERN, { message: 'cwd must be an absolute path' })
  cwd: string;
  @IsStringMap() env: Record<string, string>;
  @IsImageId() image: string;
  @ValidateNested() @Type(() => GrantLimitsSchema) limits: GrantLimitsSchema;
  @IsIn(TRUST_LEVELS) trust: Trust;
  @IsBoolean() tainted: boolean;
  @IsOptional() @IsSubjectToken() agent?: string;
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) channel?: string;
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) conversation?: string;
  @IsOptional() @IsUuidV7() correlationId?: string;
  @IsOptional() @IsUuidV7() causationId?: string;
  @IsOptional() @ValidateNested() @Type(() => ActorDto) actor?: ActorDto;
}

export class DeciderDto implements Decider {
  @IsIn(['user', 'apikey', 'sender']) type: 'user' | 'apikey' | 'sender';
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) id: string;
  @ValidateIf((o: DeciderDto) => o.type === 'sender' || o.channel !== undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(NAME_MAX)
  channel?: string;
}

export class DecideRequestDto implements ApprovalsDecideRequest {
  @IsUuidV7() approval: string;
  @IsIn(['approve', 'deny', 'modify']) decision: 'approve' | 'deny' | 'modify';
  /** Required for `modify`; the service refuses it with any other decision. */
  @ValidateIf((o: DecideRequestDto) => o.decision === 'modify' || o.command !== undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(COMMAND_MAX)
  command?: string;
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(REASON_MAX) reason?: string;
  @ValidateNested() @Type(() => DeciderDto) decider: DeciderDto;
  @IsOptional() @IsUuidV7() causationId?: string;
}

export class GetRequestDto implements ApprovalsGetRequest {
  @IsUuidV7() approval: string;
}

export class GrantRequestDto implements ApprovalsGrantRequest {
  @IsUuidV7() approval: string;
}

export class ListRequestDto implements ApprovalsListRequest {
  @IsOptional() @IsIn(['pending', 'approved', 'denied']) status?: ApprovalStatus;
  @IsOptional() @IsSubjectToken() session?: string;
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) channel?: string;
  @IsOptional() @IsInt() @Min(1) @Max(500) limit?: number;
}
