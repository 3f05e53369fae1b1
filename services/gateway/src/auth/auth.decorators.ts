// How routes and WebSocket methods declare who may call them. A handler without any declaration is
// admin-only: forgetting the decorator fails closed.
import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { Scope } from '@palisade/contracts';
import type { Principal as PrincipalType } from './principal';

export const SCOPE_KEY = 'palisade:scope';
export const PUBLIC_KEY = 'palisade:public';
export const ANY_OPERATOR_KEY = 'palisade:any-operator';
export const ALLOW_WHILE_FROZEN_KEY = 'palisade:allow-while-frozen';

/** The caller needs this scope (or operator.admin). */
export const RequireScope = (scope: Scope) => SetMetadata(SCOPE_KEY, scope);

/** No authentication at all (login, onboarding, health). Use sparingly. */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

/** Any authenticated operator, whatever its scopes (e.g. who am I, logout, the API description). */
export const AnyOperator = () => SetMetadata(ANY_OPERATOR_KEY, true);

/** A state-changing route that stays open while the agent is frozen (thaw, logout). */
export const AllowWhileFrozen = () => SetMetadata(ALLOW_WHILE_FROZEN_KEY, true);

/** Convenience: `@AdminOnly()` says out loud what an undeclared route gets anyway. */
export const AdminOnly = () => applyDecorators(RequireScope(Scope.OperatorAdmin));

export type Access =
  { kind: 'public' } | { kind: 'any-operator' } | { kind: 'scope'; scope: Scope; declared: boolean };

type Target = object | ((...args: unknown[]) => unknown);

/** What a handler (method metadata first, then its class) declares; undeclared means admin. */
export function accessOf(handler: Target, klass?: Target): Access {
  const read = <T>(key: string): T | undefined =>
    (Reflect.getMetadata(key, handler) as T | undefined) ??
    (klass ? (Reflect.getMetadata(key, klass) as T | undefined) : undefined);
  if (read<boolean>(PUBLIC_KEY)) return { kind: 'public' };
  const scope = read<Scope>(SCOPE_KEY);
  if (scope) return { kind: 'scope', scope, declared: true };
  if (read<boolean>(ANY_OPERATOR_KEY)) return { kind: 'any-operator' };
  return { kind: 'scope', scope: Scope.OperatorAdmin, declared: false };
}

export function allowsWhileFrozen(handler: Target, klass?: Target): boolean {
  return Boolean(
    Reflect.getMetadata(ALLOW_WHILE_FROZEN_KEY, handler) ??
    (klass && Reflect.getMetadata(ALLOW_WHILE_FROZEN_KEY, klass)),
  );
}

export const PRINCIPAL_REQUEST_KEY = 'palisadePrincipal';

/** `@Principal() who: Principal` — the authenticated caller of this request. */
export const Principal = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): PrincipalType | undefined => {
    const req = ctx.switchToHttp().getRequest<Record<string, unknown>>();
    return req[PRINCIPAL_REQUEST_KEY] as PrincipalType | undefined;
  },
);
