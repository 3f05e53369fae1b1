// Interim operator authentication for the API routes: a scope declared per route, the caller's
// identity as a parameter, and a bearer-token guard. The full front door (passwords, scoped API keys,
// sessions, rate limits, WebSocket) replaces the guard; routes keep their declarations.
import {
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  SetMetadata,
  UnauthorizedException,
  ForbiddenException,
  Inject,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readSecretFile } from '@palisade/config';
import { SERVICE_CONFIG } from '@palisade/nats';
import type { Scope } from '@palisade/contracts';
import type { GatewayConfig } from '../gateway.config';

export const SCOPE_KEY = 'palisade:scope';
/** The scope a route needs. A route without one is admin-only. */
export const RequireScope = (scope: Scope) => SetMetadata(SCOPE_KEY, scope);

export interface OperatorPrincipal {
  type: 'user' | 'apikey';
  id: string;
  scopes: Scope[];
}

export const CurrentOperator = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): OperatorPrincipal => {
    const request = ctx.switchToHttp().getRequest<{ principal?: OperatorPrincipal }>();
    if (!request.principal) throw new UnauthorizedException();
    return request.principal;
  },
);

export function hasScope(granted: readonly Scope[], required: Scope | undefined): boolean {
  if (granted.includes('operator.admin')) return true;
  return required !== undefined && granted.includes(required);
}

@Injectable()
export class InterimAuthGuard implements CanActivate {
  private readonly digest?: Buffer;

  constructor(
    private readonly reflector: Reflector,
    @Inject(SERVICE_CONFIG) config: GatewayConfig,
  ) {
    if (config.PALISADE_GATEWAY_OPERATOR_TOKEN_FILE) {
      const token = readSecretFile(
        config.PALISADE_GATEWAY_OPERATOR_TOKEN_FILE,
        'PALISADE_GATEWAY_OPERATOR_TOKEN_FILE',
      );
      this.digest = createHash('sha256').update(token).digest();
    }
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{
      headers: Record<string, string | undefined>;
      principal?: OperatorPrincipal;
      path: string;
    }>();
    if (!request.path.startsWith('/api/')) return true;
    const header = request.headers.authorization ?? '';
    const token = /^Bearer (\S+)$/.exec(header)?.[1];
    if (!token || !this.digest) throw new UnauthorizedException('a bearer token is required');
    const given = createHash('sha256').update(token).digest();
    if (!timingSafeEqual(given, this.digest)) throw new UnauthorizedException('invalid token');
    const principal: OperatorPrincipal = { type: 'apikey', id: 'operator-token', scopes: ['operator.admin'] };
    const required = this.reflector.getAllAndOverride<Scope | undefined>(SCOPE_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!hasScope(principal.scopes, required))
      throw new ForbiddenException(`scope ${required ?? 'operator.admin'} required`);
    request.principal = principal;
    return true;
  }
}
