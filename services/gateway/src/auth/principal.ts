import type { EventActor, Scope } from '@palisade/contracts';
import { holdsScope } from './core/scopes';

/** Who is calling: the operator (password login, session) or one API key. */
export interface Principal {
  type: 'user' | 'apikey';
  /** The operator's user name, or the API key's id. */
  id: string;
  scopes: Scope[];
  /** Session id for cookie logins; the key's label for API keys. */
  sessionId?: string;
  label?: string;
}

export const principalHolds = (p: Principal, scope: Scope): boolean => holdsScope(p.scopes, scope);

/** The event actor for things this principal causes. */
export const actorOf = (p: Principal): EventActor => ({
  type: p.type === 'user' ? 'user' : 'apikey',
  id: p.id,
});
