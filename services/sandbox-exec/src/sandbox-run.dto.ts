import { Type } from 'class-transformer';
import {
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import {
  type SandboxRunRequest,
  type SignedGrant,
  IsStringMap,
  IsSubjectToken,
  IsUuidV7,
} from '@palisade/contracts';

export class SignedGrantDto implements SignedGrant {
  @IsString() @MaxLength(256 * 1024) payload: string;
  @IsString() @MaxLength(256) signature: string;
}

/**
 * cmd.sandbox.run. The grant is optional here on purpose: a request without one is refused by the
 * service — and audited as `exec.grant.refused` — rather than bounced by validation unseen.
 */
export class SandboxRunRequestDto implements Omit<SandboxRunRequest, 'grant'> {
  @IsOptional() @IsObject() @ValidateNested() @Type(() => SignedGrantDto) grant?: SignedGrantDto;
  @IsSubjectToken() session: string;
  @IsString() @IsNotEmpty() @MaxLength(65_536) command: string;
  @IsString() @MaxLength(4096) @Matches(/^\//, { message: 'cwd must be an absolute path' }) cwd: string;
  @IsStringMap() env: Record<string, string>;
  @IsString() @MaxLength(80) image: string;
  @IsOptional() @IsUuidV7() correlationId?: string;
  @IsOptional() @IsUuidV7() causationId?: string;
}

/** cmd.sandbox.info takes no arguments. */
export class SandboxInfoRequestDto {}
