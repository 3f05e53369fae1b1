import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import type { Response } from 'express';

/** 429 that carries its Retry-After (rate limits, lockouts). */
export class RetryLaterException extends HttpException {
  constructor(
    readonly retryAfter: number,
    message: string,
  ) {
    super({ statusCode: 429, error: 'Too Many Requests', message, retryAfter }, HttpStatus.TOO_MANY_REQUESTS);
  }
}

@Catch(RetryLaterException)
export class RetryLaterFilter implements ExceptionFilter {
  catch(exception: RetryLaterException, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const res = host.switchToHttp().getResponse<Response>();
    res.setHeader('Retry-After', String(exception.retryAfter));
    res.status(429).json(exception.getResponse());
  }
}
