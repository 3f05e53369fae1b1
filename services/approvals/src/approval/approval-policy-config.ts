// Which mode applies to a request, and which exact commands an operator allowed (the `never`-mode floor
// exemption). Loaded once from PALISADE_APPROVALS_MODE and the optional PALISADE_APPROVALS_POLICY_FILE.
import { readFileSync } from 'node:fs';
import { APPROVAL_MODES, type ApprovalMode, DEFAULT_AGENT_ID } from '@palisade/contracts';
import { ConfigError } from '@palisade/config';

export interface ApprovalPolicyConfig {
  /** Mode of an agent not named in `agents`. */
  defaultMode: ApprovalMode;
  agents: Record<string, ApprovalMode>;
  channels: Record<string, ApprovalMode>;
  /** Exact command strings (byte for byte) that `never` mode may run despite the dangerous floor. */
  allow: string[];
}

const STRICTNESS: Record<ApprovalMode, number> = { never: 0, smart: 1, always: 2 };

/** The stricter of two modes: always > smart > never. */
export function stricterMode(a: ApprovalMode, b: ApprovalMode): ApprovalMode {
  return STRICTNESS[a] >= STRICTNESS[b] ? a : b;
}

/**
 * The mode for a request: the agent's mode (its entry in `agents`, else the default), made stricter by the
 * channel's mode when the channel has one. A channel can tighten an agent's mode, never loosen it.
 */
export function modeFor(
  config: ApprovalPolicyConfig,
  agent: string | undefined,
  channel: string | undefined,
): ApprovalMode {
  const agentMode = config.agents[agent ?? DEFAULT_AGENT_ID] ?? config.defaultMode;
  const channelMode = channel !== undefined ? config.channels[channel] : undefined;
  return channelMode ? stricterMode(agentMode, channelMode) : agentMode;
}

/** Validates the policy file's JSON; throws ConfigError naming each problem. */
export function parsePolicyFile(
  text: string,
  defaultMode: ApprovalMode,
  variable = 'PALISADE_APPROVALS_POLICY_FILE',
): ApprovalPolicyConfig {
  const problems: string[] = [];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError([{ variable, problem: 'is not valid JSON' }]);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ConfigError([{ variable, problem: 'must hold a JSON object {agents, channels, allow}' }]);
  }
  const raw = json as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!['agents', 'channels', 'allow'].includes(key))
      problems.push(`unknown key "${key}" (expected agents, channels, allow)`);
  }
  const modes = (key: 'agents' | 'channels'): Record<string, ApprovalMode> => {
    const value = raw[key];
    if (value === undefined) return {};
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      problems.push(`${key} must be an object of name → mode`);
      return {};
    }
    const out: Record<string, ApprovalMode> = {};
    for (const [name, mode] of Object.entries(value as Record<string, unknown>)) {
      if (!(APPROVAL_MODES as readonly unknown[]).includes(mode)) {
        problems.push(`${key}.${name} must be one of ${APPROVAL_MODES.join(', ')}`);
      } else out[name] = mode as ApprovalMode;
    }
    return out;
  };
  const agents = modes('agents');
  const channels = modes('channels');
  let allow: string[] = [];
  if (raw.allow !== undefined) {
    if (!Array.isArray(raw.allow) || raw.allow.some((c) => typeof c !== 'string' || c.length === 0)) {
      problems.push('allow must be an array of non-empty command strings');
    } else allow = raw.allow as string[];
  }
  if (problems.length) throw new ConfigError(problems.map((problem) => ({ variable, problem })));
  return { defaultMode, agents, channels, allow };
}

export function loadPolicyConfig(defaultMode: ApprovalMode, file: string): ApprovalPolicyConfig {
  if (!file) return { defaultMode, agents: {}, channels: {}, allow: [] };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([
      {
        variable: 'PALISADE_APPROVALS_POLICY_FILE',
        problem: `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      },
    ]);
  }
  return parsePolicyFile(text, defaultMode);
}
