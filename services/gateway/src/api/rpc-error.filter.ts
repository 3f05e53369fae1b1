// RPC failures from other services become HTTP answers with a clear status and message (never a
// stack trace).
import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import { RpcError } from '@palisade/contracts';
import type { Response } from 'express';

const STATUS: Record<string, number> = {
  validation_failed: 400,
  not_found: 404,
  forbidden: 403,
  conflict: 409,
  rate_limited: 429,
  frozen: 423,
  unavailable: 503,
  llm_unavailable: 503,
  sandbox_unavailable: 503,
  timeout: 504,
};

@Catch(RpcError)
export class RpcErrorFilter implements ExceptionFilter {
  catch(error: RpcError, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const status = STATUS[error.code] ?? 502;
    res
      .status(status)
      .json({ statusCode: status, error: error.code, message: error.message, details: error.details });
  }
}
