import { Scope, SCOPES } from '@palisade/contracts';

/** `operator.admin` includes every other scope; the others are independent of each other. */
export function holdsScope(granted: readonly string[], required: Scope): boolean {
  return granted.includes(Scope.OperatorAdmin) || granted.includes(required);
}

export const SCOPE_HELP = [
  `  ${Scope.OperatorRead.padEnd(20)} status, list sessions and jobs, read history`,
  `  ${Scope.OperatorWrite.padEnd(20)} send messages, create jobs, change configuration and the agent's identity`,
  `  ${Scope.OperatorApprovals.padEnd(20)} resolve approval requests`,
  `  ${Scope.OperatorPairing.padEnd(20)} manage channel senders and device pairing`,
  `  ${Scope.OperatorAdmin.padEnd(20)} everything, including API keys and the kill switch (needs --full-access)`,
].join('\n');

export class ScopeError extends Error {
  override readonly name = 'ScopeError';
}

/**
 * The scopes of a new API key. No key gets full access silently: `operator.admin` needs the explicit
 * full-access flag, and a request with neither scopes nor the flag is refused, naming the scopes.
 */
export function scopesForNewKey(scopes: readonly string[] | undefined, fullAccess: boolean): Scope[] {
  const requested = [...new Set((scopes ?? []).map((s) => s.trim()).filter(Boolean))];
  if (fullAccess) {
    if (requested.length) throw new ScopeError('give either scopes or full access, not both');
    return [Scope.OperatorAdmin];
  }
  if (!requested.length) {
    throw new ScopeError(`an API key needs scopes (or an explicit full-access flag). Scopes:\n${SCOPE_HELP}`);
  }
  const unknown = requested.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length) throw new ScopeError(`unknown scope(s) ${unknown.join(', ')}. Scopes:\n${SCOPE_HELP}`);
  if (requested.includes(Scope.OperatorAdmin)) {
    throw new ScopeError(`${Scope.OperatorAdmin} is full access: ask for it with the full-access flag`);
  }
  return requested as Scope[];
}
