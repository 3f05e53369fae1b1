import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  HttpException,
  HttpStatus,
  Injectable,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { ANONYMOUS, AuditService } from './audit.service';
import { accessOf, allowsWhileFrozen, PRINCIPAL_REQUEST_KEY } from './auth.decorators';
import { ApiKeyService } from './api-key.service';
import { FreezeState } from './freeze-state.service';
import {
  CLEARED_SESSION_COOKIE,
  cookieValue,
  OperatorAuthService,
  remoteOf,
  SESSION_COOKIE,
} from './operator-auth.service';
import { OriginPolicy } from './origin-policy.service';
import { actorOf, type Principal, principalHolds } from './principal';
import { RequestLimiter } from './rate-limiter';
import { RetryLaterException } from './retry-later';

export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export class FrozenException extends HttpException {
  constructor() {
    super(
      { statusCode: 423, error: 'Locked', message: 'the agent is frozen: only an admin thaw is accepted' },
      HttpStatus.LOCKED,
    );
  }
}

/**
 * The global guard for every HTTP route (NATS handlers are not its business). In order: public routes
 * pass; without an operator password only onboarding exists; then authentication (Bearer API key or
 * session cookie), the origin check for cookie-authenticated state changes, the per-caller rate limit,
 * the route's scope (undeclared = operator.admin) and the freeze.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly operator: OperatorAuthService,
    private readonly keys: ApiKeyService,
    private readonly origins: OriginPolicy,
    private readonly freeze: FreezeState,
    private readonly audit: AuditService,
    private readonly limiter: RequestLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<Request>();
    const res = context.switchToHttp().getResponse<Response>();
    const access = accessOf(context.getHandler(), context.getClass());
    const remote = remoteOf(req.socket.remoteAddress);
    if (access.kind === 'public') {
      // Login and onboarding from a browser page of another origin (login CSRF, or a hostile page
      // racing to set the first password through the operator's browser on loopback).
      if (!SAFE_METHODS.has(req.method) && req.headers.origin !== undefined)
        await this.checkOrigin(req, remote, undefined);
      return true;
    }

    if (!(await this.operator.isPasswordSet())) {
      throw new ForbiddenException(
        'no operator password yet: set it with `palisade auth set-password` or POST /api/auth/onboarding from the gateway machine',
      );
    }
    const principal = await this.authenticate(req, res, remote);
    const operation = `${req.method} ${routeOf(req)}`.slice(0, 256);

    // Cookies ride along on cross-site requests; API keys do not, so only sessions need the check.
    if (principal.sessionId && !SAFE_METHODS.has(req.method)) await this.checkOrigin(req, remote, principal);

    const wait = this.limiter.take(`${principal.type}:${principal.sessionId ?? principal.id}`);
    if (wait) throw new RetryLaterException(wait, `rate limit reached; try again in ${wait} s`);

    if (access.kind === 'scope' && !principalHolds(principal, access.scope)) {
      await this.audit.record(
        'auth.scope.denied',
        {
          required: access.scope,
          operation,
          ...(principal.type === 'apikey' ? { keyId: principal.id } : {}),
        },
        actorOf(principal),
        'trusted',
      );
      throw new ForbiddenException(`this needs the ${access.scope} scope`);
    }

    if (!SAFE_METHODS.has(req.method) && !allowsWhileFrozen(context.getHandler(), context.getClass())) {
      let frozen: boolean;
      try {
        frozen = (await this.freeze.current()).frozen;
      } catch {
        throw new ServiceUnavailableException(
          'cannot read the agent state (event log unreachable); try again',
        );
      }
      if (frozen) throw new FrozenException();
    }

    (req as unknown as Record<string, unknown>)[PRINCIPAL_REQUEST_KEY] = principal;
    return true;
  }

  private async checkOrigin(req: Request, remote: string, principal: Principal | undefined): Promise<void> {
    const origin = req.headers.origin;
    if (this.origins.allows(origin, req.headers.host)) return;
    await this.audit.record(
      'gateway.origin.rejected',
      {
        origin: (origin ?? '(none)').slice(0, 256),
        remote,
        operation: `${req.method} ${routeOf(req)}`.slice(0, 256),
      },
      principal ? actorOf(principal) : ANONYMOUS,
      principal ? 'trusted' : 'untrusted',
    );
    throw new ForbiddenException(
      origin ? 'request origin not allowed' : 'a browser Origin header is required for this request',
    );
  }

  private async authenticate(req: Request, res: Response, remote: string): Promise<Principal> {
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer ([^\s]+)$/.exec(authorization);
      const check = match
        ? await this.keys.authenticate(match[1])
        : ({ ok: false, reason: 'invalid' } as const);
      if (check.ok) return check.principal;
      // A locked-out address is answered without counting or auditing more (bounds the audit volume).
      await this.operator.assertNotLocked(remote);
      await this.operator.recordFailure(
        remote,
        'apikey',
        check.reason === 'revoked'
          ? 'revoked API key'
          : match
            ? 'unknown or wrong API key'
            : 'malformed Authorization header',
      );
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw new UnauthorizedException('invalid API key');
    }
    const token = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (token) {
      const principal = await this.operator.validateSession(token);
      if (principal) return principal;
      res.setHeader('Set-Cookie', CLEARED_SESSION_COOKIE);
      throw new UnauthorizedException('session expired or invalid: log in again');
    }
    res.setHeader('WWW-Authenticate', 'Bearer');
    throw new UnauthorizedException(
      'authentication required: an API key (Authorization: Bearer pk_…) or a session',
    );
  }
}

export function routeOf(req: Request): string {
  const pattern = (req as Request & { route?: { path?: string } }).route?.path;
  return typeof pattern === 'string' ? `${req.baseUrl ?? ''}${pattern}` : req.path;
}
