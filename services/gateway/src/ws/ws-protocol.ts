// The WebSocket protocol's frames. The first frame must be a `connect` request:
//   {type:"req", id, method:"connect", params:{client:{id, version}, auth:{api_key} | {password}}}
// answered by {type:"res", id, ok:true, payload:{type:"hello-ok", scopes, ...}}; after that
// request/response frames and server-sent {type:"event", event, payload, seq} frames.
import { Type } from 'class-transformer';
import {
  IsDefined,
  IsIn,
  IsNotEmpty,
  IsObject,
  IsString,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { Optional } from '@palisade/contracts';

export const WS_PATH = '/api/ws';
export const WS_PROTOCOL_VERSION = 1;

/** Close codes (4xxx mirror the HTTP status they correspond to). */
export const WsClose = {
  GoingAway: 1001,
  UnsupportedData: 1003,
  MessageTooBig: 1009,
  TryAgainLater: 1013,
  BadFrame: 4400,
  Unauthorized: 4401,
  Revoked: 4403,
  HandshakeTimeout: 4408,
  TooManyAttempts: 4429,
} as const;

export class RequestFrame {
  @IsIn(['req']) type: 'req';
  @IsString() @IsNotEmpty() @MaxLength(64) id: string;
  @IsString()
  @Matches(/^[a-z][a-z0-9_.-]{0,127}$/, { message: 'method must be a lower-case dotted name' })
  method: string;
  @Optional() @IsObject() params?: Record<string, unknown>;
}

export class ClientInfo {
  @IsString() @IsNotEmpty() @MaxLength(128) id: string;
  @IsString() @IsNotEmpty() @MaxLength(64) version: string;
}

export class ConnectAuth {
  @Optional() @IsString() @IsNotEmpty() @MaxLength(128) api_key?: string;
  @Optional() @IsString() @IsNotEmpty() @MaxLength(1024) password?: string;
}

export class ConnectParams {
  @IsDefined() @ValidateNested() @Type(() => ClientInfo) client: ClientInfo;
  @Optional() @ValidateNested() @Type(() => ConnectAuth) auth?: ConnectAuth;
}

export interface ResponseFrame {
  type: 'res';
  id: string;
  ok: boolean;
  payload?: unknown;
  error?: { code: string; message: string };
}

export interface EventFrame {
  type: 'event';
  event: string;
  payload: unknown;
  seq: number;
}
