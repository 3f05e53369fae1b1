export { evaluateCommand } from './evaluate-command';
export { analyzeCommand, MAX_COMMAND_LENGTH, type CommandAnalysis } from './command-analyzer';
export { DANGER_CATALOG, type DangerId } from './dangerous-patterns';
export { SAFE_COMMANDS, type SafeCommand } from './safe-list';
export type {
  ApprovalMode,
  DangerFinding,
  PolicyContext,
  PolicyDecision,
  PolicyOutcome,
  SenderTrust,
} from './policy.types';
