// Which model may see a turn (contracts: "Trust and sensitivity"). Local is the default; the cloud is
// allowed only when every reason to stay local is absent. The first reason found is reported.
import { containsSecret, type ChatMessage, type ModelRoute, type Trust } from '@palisade/contracts';

export interface RouteInput {
  trust: Trust;
  tainted: boolean;
  sensitive: boolean;
  messages: Pick<ChatMessage, 'content' | 'toolCalls'>[];
}

export interface RouteDecision {
  route: ModelRoute;
  reason: string;
}

/** True when any message text or tool-call argument matches a secret detector. */
export function contextHoldsSecret(messages: RouteInput['messages']): boolean {
  return messages.some(
    (m) =>
      containsSecret(m.content) ||
      (m.toolCalls ?? []).some((call) => containsSecret(JSON.stringify(call.arguments ?? {}))),
  );
}

export function decideRoute(input: RouteInput, cloudConfigured: boolean): RouteDecision {
  if (input.trust !== 'trusted') return { route: 'local', reason: 'local: untrusted sender' };
  if (input.tainted) return { route: 'local', reason: 'local: session tainted by untrusted content' };
  if (input.sensitive) return { route: 'local', reason: 'local: sensitive content in context' };
  if (contextHoldsSecret(input.messages))
    return { route: 'local', reason: 'local: secret detected in context' };
  if (!cloudConfigured) return { route: 'local', reason: 'local: no cloud provider configured' };
  return { route: 'cloud', reason: 'cloud: trusted, clean turn' };
}
