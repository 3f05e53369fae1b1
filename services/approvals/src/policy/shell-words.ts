/**
 * Helpers over unbash word nodes: what a word is after quote removal, and whether the shell could still
 * change it at run time (expansions, substitutions, globs, brace expansion).
 */
import type { Command, Word, WordPart } from 'unbash';

/** A command word as the policy sees it. */
export interface ArgToken {
  /** Value after quote removal; expansions are kept as written (`$HOME`, `$(id)`). */
  value: string;
  /** Source text. */
  text: string;
  /** Only literal and quoted text: the shell passes `value` unchanged (tilde aside). */
  static: boolean;
  /** Unquoted glob, extglob or brace expansion: may become several words or words starting with `-`. */
  patterned: boolean;
  /** Parameter, arithmetic, command or process expansion. */
  expanded: boolean;
}

type Part = WordPart | { type: string };

function classifyParts(
  parts: readonly Part[] | undefined,
  acc: { patterned: boolean; expanded: boolean },
): void {
  if (!parts) return;
  for (const part of parts) {
    switch (part.type) {
      case 'Literal':
      case 'SingleQuoted':
      case 'AnsiCQuoted':
        break;
      case 'DoubleQuoted':
      case 'LocaleString':
        classifyParts((part as { parts: readonly Part[] }).parts, acc);
        break;
      case 'Glob':
      case 'ExtendedGlob':
      case 'BraceExpansion':
        acc.patterned = true;
        break;
      default:
        acc.expanded = true;
    }
  }
}

export function tokenOf(word: Word): ArgToken {
  const acc = { patterned: false, expanded: false };
  classifyParts(word.parts, acc);
  return {
    value: word.value,
    text: word.text,
    static: !acc.patterned && !acc.expanded,
    patterned: acc.patterned,
    expanded: acc.expanded,
  };
}

/** Suffix words of a command (assignments after the name, e.g. `export A=1`, appear as their text). */
export function argTokens(cmd: Command): ArgToken[] {
  const out: ArgToken[] = [];
  for (const item of cmd.suffix) {
    if (item.type === 'Word') out.push(tokenOf(item));
    else if (item.type === 'Assignment') {
      const value = item.value.type === 'Word' ? item.value : undefined;
      const inner = value ? tokenOf(value) : undefined;
      const rhs = value
        ? value.value
        : `(${item.value.type === 'ArrayValue' ? item.value.elements.map((e) => e.value).join(' ') : ''})`;
      out.push({
        value: `${item.name}${item.append ? '+=' : '='}${rhs}`,
        text: item.text,
        static: inner ? inner.static : false,
        patterned: inner ? inner.patterned : false,
        expanded: inner ? inner.expanded : true,
      });
    }
  }
  return out;
}

export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function basename(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  const i = trimmed.lastIndexOf('/');
  return i >= 0 ? trimmed.slice(i + 1) : trimmed;
}

/** Directories whose binaries are the system's own: `/usr/bin/cat` is cat, `./cat` is not. */
const SYSTEM_BIN_DIRS = new Set([
  '/bin',
  '/usr/bin',
  '/usr/local/bin',
  '/sbin',
  '/usr/sbin',
  '/usr/local/sbin',
]);

export function isSystemBinaryPath(path: string): boolean {
  const i = path.lastIndexOf('/');
  return i > 0 && SYSTEM_BIN_DIRS.has(path.slice(0, i));
}

/** Numeric literal as bash arithmetic reads it (decimal, octal, hex, base#digits). */
export function isArithmeticLiteral(value: string): boolean {
  return /^\s*(?:0[xX][0-9a-fA-F]+|[0-9]+(?:#[0-9A-Za-z@_]+)?)\s*$/.test(value);
}
