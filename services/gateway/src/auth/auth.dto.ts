import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsNotEmpty,
  IsString,
  MaxLength,
} from 'class-validator';
import { NAME_MAX, Optional, SCOPES, type Scope } from '@palisade/contracts';
import { PASSWORD_MAX_LENGTH } from './core/password';

export class PasswordDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(PASSWORD_MAX_LENGTH)
  password: string;
}

export class CreateApiKeyDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(NAME_MAX)
  label: string;

  @Optional()
  @IsArray()
  @ArrayMaxSize(SCOPES.length)
  @ArrayUnique()
  @IsIn(SCOPES, { each: true })
  scopes?: Scope[];

  /** Full access (operator.admin) must be asked for explicitly. */
  @Optional()
  @IsBoolean()
  fullAccess?: boolean;
}

export class RevokeApiKeyDto {
  @Optional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(1024)
  reason?: string;
}

export class FreezeDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(1024)
  reason: string;
}

export class ThawDto {
  @Optional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(1024)
  reason?: string;
}
