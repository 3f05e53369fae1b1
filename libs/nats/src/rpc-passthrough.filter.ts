import { ArgumentsHost, Catch, RpcExceptionFilter } from '@nestjs/common';
import { Observable, throwError } from 'rxjs';

/**
 * Nest's default RPC exception handler turns every non-RpcException into "Internal server error".
 * This filter hands the original error to PalisadeNatsTransport, which maps it to a typed reply
 * (validation_failed with the pipe's messages, not_found, …) and hides internals of unknown errors.
 */
@Catch()
export class RpcPassThroughFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}
