// Tool use inside a turn, on the session aggregate, so the gateway can rebuild a session's whole
// context (messages, tool calls, tool results) from that one subject. A tool result is untrusted
// content: once one is in the session, the session is tainted until an operator clears it.
import { IsBoolean, IsIn, IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { IsUuidV7, Optional } from '../validators';
import { CONTENT_MAX, NAME_MAX, REASON_MAX } from './field-limits';
import { registerEvent } from './registry';

export const AGENT_TOOLS = ['exec', 'reply'] as const;
export type AgentTool = (typeof AGENT_TOOLS)[number];

export class AgentToolCalledData {
  @IsUuidV7() turn: string;
  /** Id of this call within the turn (links the result to it). */
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) call: string;
  @IsIn(AGENT_TOOLS) tool: AgentTool;
  /** Content: the model's arguments as JSON text. */
  @IsString() @MaxLength(CONTENT_MAX) arguments: string;
}

export class AgentToolResultData {
  @IsUuidV7() turn: string;
  @IsString() @IsNotEmpty() @MaxLength(NAME_MAX) call: string;
  @IsIn(AGENT_TOOLS) tool: AgentTool;
  /** Content: what the model is shown (command output, or why nothing ran). */
  @IsString() @MaxLength(CONTENT_MAX) content: string;
  /** The result carries outside content (command output): the session is tainted from here on. */
  @IsBoolean() tainted: boolean;
  /** The approval and execution behind an exec result, when there were any. */
  @Optional() @IsUuidV7() approval?: string;
  @Optional() @IsUuidV7() exec?: string;
}

export class SessionTaintClearedData {
  @IsString() @IsNotEmpty() @MaxLength(REASON_MAX) reason: string;
}

declare module './registry' {
  interface EventPayloads {
    'agent.tool.called': AgentToolCalledData;
    'agent.tool.result': AgentToolResultData;
    'session.taint.cleared': SessionTaintClearedData;
  }
}

registerEvent({
  type: 'agent.tool.called',
  version: 1,
  aggregateType: 'session',
  payload: AgentToolCalledData,
  contentFields: ['arguments'],
  description: 'The model asked for a tool in a turn.',
});
registerEvent({
  type: 'agent.tool.result',
  version: 1,
  aggregateType: 'session',
  payload: AgentToolResultData,
  contentFields: ['content'],
  description: "A tool's result went back to the model (untrusted content: taints the session).",
});
registerEvent({
  type: 'session.taint.cleared',
  version: 1,
  aggregateType: 'session',
  payload: SessionTaintClearedData,
  contentFields: [],
  description: 'An operator declared a tainted session clean again.',
});
