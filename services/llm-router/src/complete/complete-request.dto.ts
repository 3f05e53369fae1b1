// cmd.llm.complete request, validated field by field (unknown fields are refused by the global pipe).
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import {
  IsUuidV7,
  TRUST_LEVELS,
  type ChatMessage,
  type ChatRole,
  type LlmCompleteRequest,
  type ToolCall,
  type ToolSpec,
  type Trust,
} from '@palisade/contracts';

const ROLES: ChatRole[] = ['system', 'user', 'assistant', 'tool'];
const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_CONTENT = 1_000_000;

export class ToolCallDto implements ToolCall {
  @IsString() @IsNotEmpty() @MaxLength(128) id!: string;
  @Matches(TOOL_NAME) name!: string;
  @IsObject() arguments!: Record<string, unknown>;
}

export class ChatMessageDto implements ChatMessage {
  @IsIn(ROLES) role!: ChatRole;
  @IsString() @MaxLength(MAX_CONTENT) content!: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @ValidateNested({ each: true })
  @Type(() => ToolCallDto)
  toolCalls?: ToolCallDto[];

  @IsOptional() @IsString() @MaxLength(128) toolCallId?: string;
  @IsOptional() @Matches(TOOL_NAME) toolName?: string;
}

export class ToolSpecDto implements ToolSpec {
  @Matches(TOOL_NAME) name!: string;
  @IsString() @MaxLength(4_000) description!: string;
  @IsObject() parameters!: Record<string, unknown>;
}

export class LlmCompleteRequestDto implements LlmCompleteRequest {
  @IsString() @IsNotEmpty() @MaxLength(200) session!: string;
  @IsString() @IsNotEmpty() @MaxLength(200) turn!: string;

  @IsArray()
  @ArrayMaxSize(2_000)
  @ValidateNested({ each: true })
  @Type(() => ChatMessageDto)
  messages!: ChatMessageDto[];

  @IsArray()
  @ArrayMaxSize(64)
  @ValidateNested({ each: true })
  @Type(() => ToolSpecDto)
  tools!: ToolSpecDto[];

  @IsIn(TRUST_LEVELS) trust!: Trust;
  @IsBoolean() tainted!: boolean;
  @IsBoolean() sensitive!: boolean;
  @IsOptional() @IsUuidV7() correlationId?: string;
}
