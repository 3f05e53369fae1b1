// The agent's turns (on the session aggregate) and its identity and freeze state (on the agent
// aggregate).
import { ArrayMaxSize, IsArray, IsIn, IsInt, IsNotEmpty, IsString, MaxLength, Min } from 'class-validator';
import { IsUuidV7, Optional } from '../validators';
import { CONTENT_MAX, LIST_MAX, NAME_MAX, REASON_MAX } from './field-limits';
import { registerEvent } from './registry';

export const TURN_TRIGGERS = ['message', 'cron', 'operator'] as const;
export type TurnTrigger = (typeof TURN_TRIGGERS)[number];
export const MODEL_ROUTES = ['local', 'cloud'] as const;
export type ModelRoute = (typeof MODEL_ROUTES)[number];

export class AgentTurnStartedData {
  @IsUuidV7() turn: string;
  @IsIn(TURN_TRIGGERS) trigger: TurnTrigger;
  /** messageId that started the turn. */
  @Optional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) inReplyTo?: string;
  /** Cron job that fired the turn. */
  @Optional() @IsUuidV7() job?: string;
}

export class AgentTurnCompletedData {
  @IsUuidV7() turn: string;
  @Optional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) model?: string;
  @Optional() @IsIn(MODEL_ROUTES) route?: ModelRoute;
  @Optional() @IsInt() @Min(0) durationMs?: number;
}

export class AgentTurnFailedData {
  @IsUuidV7() turn: string;
  @IsString() @IsNotEmpty() @MaxLength(REASON_MAX) reason: string;
}

export class AgentIdentityUpdatedData {
  /** Names of the identity fields that changed. */
  @IsArray()
  @ArrayMaxSize(LIST_MAX)
  @IsString({ each: true })
  @MaxLength(NAME_MAX, { each: true })
  changed: string[];
  @Optional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) name?: string;
  /** Content: the operator's instructions to the agent (part of every prompt). */
  @Optional() @IsString() @MaxLength(CONTENT_MAX) instructions?: string;
}

export class AgentFrozenData {
  @IsString() @IsNotEmpty() @MaxLength(REASON_MAX) reason: string;
}

export class AgentThawedData {
  @Optional() @IsString() @IsNotEmpty() @MaxLength(REASON_MAX) reason?: string;
}

declare module './registry' {
  interface EventPayloads {
    'agent.turn.started': AgentTurnStartedData;
    'agent.turn.completed': AgentTurnCompletedData;
    'agent.turn.failed': AgentTurnFailedData;
    'agent.identity.updated': AgentIdentityUpdatedData;
    'agent.frozen': AgentFrozenData;
    'agent.thawed': AgentThawedData;
  }
}

registerEvent({
  type: 'agent.turn.started',
  version: 1,
  aggregateType: 'session',
  payload: AgentTurnStartedData,
  contentFields: [],
  description: 'The agent began a turn in a session.',
});
registerEvent({
  type: 'agent.turn.completed',
  version: 1,
  aggregateType: 'session',
  payload: AgentTurnCompletedData,
  contentFields: [],
  description: 'A turn ended normally.',
});
registerEvent({
  type: 'agent.turn.failed',
  version: 1,
  aggregateType: 'session',
  payload: AgentTurnFailedData,
  contentFields: [],
  description: 'A turn ended with an error (e.g. local model down for an untrusted turn: fail closed).',
});
registerEvent({
  type: 'agent.identity.updated',
  version: 1,
  aggregateType: 'agent',
  payload: AgentIdentityUpdatedData,
  contentFields: ['instructions'],
  description: "An operator changed the agent's name or instructions.",
});
registerEvent({
  type: 'agent.frozen',
  version: 1,
  aggregateType: 'agent',
  payload: AgentFrozenData,
  contentFields: [],
  description: 'The agent was frozen: no turns, no executions until thawed.',
});
registerEvent({
  type: 'agent.thawed',
  version: 1,
  aggregateType: 'agent',
  payload: AgentThawedData,
  contentFields: [],
  description: 'A frozen agent was released.',
});
