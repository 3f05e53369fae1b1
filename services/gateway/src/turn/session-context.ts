// Pure functions from a session's events to what a turn needs: the model context, the sender's
// level and trust, the session's taint, and which messages are still unanswered.
import type {
  AgentToolCalledData,
  AgentToolResultData,
  AgentTurnStartedData,
  ChatMessage,
  ChatMessageReceivedData,
  ChatMessageSentData,
  SenderLevel,
  ToolSpec,
  Trust,
} from '@palisade/contracts';
import type { SessionEvent } from './session-reader';

export interface SessionFacts {
  channel?: string;
  conversation?: string;
  /** Level and trust of the newest human message. */
  level?: SenderLevel;
  trust: Trust;
  /** Untrusted content (tool output, untrusted sender's words) entered since the last clearing. */
  tainted: boolean;
  /** The newest received message (the one a reply answers). */
  lastMessage?: { seq: number; id: string; messageId: string; correlationId: string };
  /** Received messages after the last turn start: a turn is owed. */
  unanswered: number;
  /** Sequence of the last event (the aggregate's version). */
  version: number;
  /**
   * The newest turn that started and has neither completed nor failed. While its owner works, its
   * delivery stays unacknowledged; if the owner died, the message comes back and the turn is taken over.
   */
  openTurn?: {
    turn: string;
    seq: number;
    trigger: string;
    /** Its final reply is already in the session (sent outside any tool call). */
    replied: boolean;
    /** Tool calls without a result yet. */
    openToolCalls: number;
  };
}

/** What a delivery of a message (or cron firing) should do with the session as it stands. */
export type TurnDecision =
  | { kind: 'run' }
  | { kind: 'take-over'; abandoned: string }
  | { kind: 'close'; abandoned: string }
  | { kind: 'skip'; reason: string };

/**
 * At-least-once delivery meets exactly-once turns. A message that is still owed a turn gets one (the
 * claim decides between concurrent deliveries). A redelivered message whose turn started but never
 * ended belongs to an owner that stopped (a live owner keeps its delivery from being redelivered):
 * the turn is run again — unless its final reply was already sent, then it is only closed.
 */
export function decideTurn(facts: SessionFacts, redelivered: boolean): TurnDecision {
  if (facts.unanswered > 0 && facts.lastMessage) return { kind: 'run' };
  if (!facts.openTurn) return { kind: 'skip', reason: 'already answered' };
  if (!redelivered) return { kind: 'skip', reason: 'turn in progress' };
  if (facts.openTurn.replied) return { kind: 'close', abandoned: facts.openTurn.turn };
  if (!facts.lastMessage) return { kind: 'skip', reason: 'nothing to answer' };
  return { kind: 'take-over', abandoned: facts.openTurn.turn };
}

export function sessionFacts(events: readonly SessionEvent[]): SessionFacts {
  const facts: SessionFacts = { trust: 'untrusted', tainted: false, unanswered: 0, version: 0 };
  for (const { seq, event } of events) {
    facts.version = seq;
    switch (event.type) {
      case 'chat.message.received': {
        const data = event.data as ChatMessageReceivedData;
        facts.channel = data.channel;
        facts.conversation = data.conversation;
        facts.level = data.level;
        facts.trust = event.trust;
        if (event.trust !== 'trusted') facts.tainted = true;
        facts.lastMessage = {
          seq,
          id: event.id,
          messageId: data.messageId,
          correlationId: event.correlationid,
        };
        facts.unanswered += 1;
        break;
      }
      case 'agent.turn.started': {
        const data = event.data as AgentTurnStartedData;
        facts.unanswered = 0;
        facts.openTurn = { turn: data.turn, seq, trigger: data.trigger, replied: false, openToolCalls: 0 };
        break;
      }
      case 'agent.turn.completed':
      case 'agent.turn.failed':
        if (facts.openTurn?.turn === (event.data as { turn: string }).turn) facts.openTurn = undefined;
        break;
      case 'agent.tool.called':
        if (facts.openTurn) facts.openTurn.openToolCalls += 1;
        break;
      case 'chat.message.sent':
        // Approval notices are sent inside a tool call; the final reply (or failure notice) outside.
        if (facts.openTurn && facts.openTurn.openToolCalls === 0) facts.openTurn.replied = true;
        break;
      case 'agent.tool.result':
        if (facts.openTurn) facts.openTurn.openToolCalls = Math.max(0, facts.openTurn.openToolCalls - 1);
        if ((event.data as AgentToolResultData).tainted) facts.tainted = true;
        break;
      case 'session.taint.cleared':
        facts.tainted = false;
        break;
    }
  }
  return facts;
}

export const REPLY_TOOL: ToolSpec = {
  name: 'reply',
  description: 'Send your final answer to the user.',
  parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
};

export const EXEC_TOOL: ToolSpec = {
  name: 'exec',
  description:
    'Run one shell command in an isolated sandbox (no network, non-root). Commands that are not provably ' +
    'safe wait for a human approval. Returns exit code, stdout and stderr.',
  parameters: {
    type: 'object',
    properties: {
      command: { type: 'string' },
      cwd: { type: 'string', description: 'absolute path, default /workspace' },
    },
    required: ['command'],
  },
};

/** Tools that act are offered only to senders whose level allows them (read-only: reply only). */
export function toolsFor(level: SenderLevel | undefined): ToolSpec[] {
  return level === 'execute' || level === 'admin' ? [REPLY_TOOL, EXEC_TOOL] : [REPLY_TOOL];
}

/**
 * The model context: the agent's identity, then the session's messages and tool traffic in order,
 * the newest last. Older history beyond `maxMessages` is dropped (the newest message always stays).
 * `fromSeq` starts the context at a sequence (a cron turn starts fresh at its own prompt).
 */
export function buildContext(
  identity: string,
  events: readonly SessionEvent[],
  options: { maxMessages?: number; fromSeq?: number } = {},
): ChatMessage[] {
  const history: ChatMessage[] = [];
  for (const { seq, event } of events) {
    if (options.fromSeq !== undefined && seq < options.fromSeq) continue;
    switch (event.type) {
      case 'chat.message.received':
        history.push({ role: 'user', content: (event.data as ChatMessageReceivedData).text });
        break;
      case 'chat.message.sent':
        history.push({ role: 'assistant', content: (event.data as ChatMessageSentData).text });
        break;
      case 'agent.tool.called': {
        const data = event.data as AgentToolCalledData;
        let args: Record<string, unknown>;
        try {
          args = JSON.parse(data.arguments) as Record<string, unknown>;
        } catch {
          args = {};
        }
        history.push({
          role: 'assistant',
          content: '',
          toolCalls: [{ id: data.call, name: data.tool, arguments: args }],
        });
        break;
      }
      case 'agent.tool.result': {
        const data = event.data as AgentToolResultData;
        history.push({ role: 'tool', content: data.content, toolCallId: data.call, toolName: data.tool });
        break;
      }
    }
  }
  const max = options.maxMessages ?? 60;
  let trimmed = history.length > max ? history.slice(history.length - max) : history;
  // Never start the window with a tool result whose call was cut off.
  while (trimmed.length > 1 && trimmed[0].role === 'tool') trimmed = trimmed.slice(1);
  return [{ role: 'system', content: identity }, ...trimmed];
}
