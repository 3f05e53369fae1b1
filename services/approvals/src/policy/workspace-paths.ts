/**
 * Where a write may land. Writes are proven harmless only inside the session's workspace (or onto the
 * null/standard devices); everything else asks.
 */
import { posix } from 'node:path';
import type { ArgToken } from './shell-words';

/** What the analyser knows about `cd` in the command: it decides how relative paths resolve. */
export interface CwdState {
  /** Some cd/pushd/popd may leave the workspace (dynamic target, `cd`, `cd -`, `popd`, a path outside). */
  mayLeave: boolean;
  /** There is a cd at all: a relative path with `..` can no longer be resolved against the workspace. */
  changes: boolean;
}

const HARMLESS_DEVICES = new Set(['/dev/null', '/dev/stdout', '/dev/stderr', '/dev/tty']);

export function normalizeWorkspace(workspace: string): string {
  const norm = posix.normalize(workspace || '/workspace');
  return norm.length > 1 ? norm.replace(/\/+$/, '') : norm;
}

export function isInside(path: string, workspace: string): boolean {
  return workspace === '/' || path === workspace || path.startsWith(workspace + '/');
}

/** Resolves a static `cd` target; undefined when it cannot be resolved or leaves the workspace. */
export function cdTargetInside(target: ArgToken | undefined, workspace: string): boolean {
  if (!target || !target.static) return false;
  const value = target.value;
  if (value === '' || value === '-' || value.startsWith('~')) return false;
  if (touchesGitConfig(value)) return false;
  const abs = value.startsWith('/') ? posix.normalize(value) : posix.normalize(posix.join(workspace, value));
  return isInside(abs, workspace);
}

/**
 * `.git/config`, `.git/hooks/*`, `.gitattributes`, `.gitmodules`, `.gitconfig`, `.config/git/` (the sandbox's
 * home may be the workspace): git reads them on the next `git status` or
 * `git diff`, which the safe list would run unasked — a core.fsmonitor, core.pager, diff driver or hook
 * written there turns a harmless write into code execution.
 */
export function touchesGitConfig(path: string): boolean {
  return (
    path
      .split('/')
      .some(
        (segment) =>
          segment === '.git' ||
          segment === '.gitattributes' ||
          segment === '.gitmodules' ||
          segment === '.gitconfig',
      ) || /(?:^|\/)\.config\/git(?:\/|$)/.test(path)
  );
}

/** Returns why a write to `target` is not proven to stay in the workspace, or undefined when it is. */
export function writeTargetProblem(target: ArgToken, workspace: string, cwd: CwdState): string | undefined {
  if (!target.static) return `write target ${target.text} is computed at run time`;
  const value = target.value;
  if (HARMLESS_DEVICES.has(value) || /^\/dev\/fd\/[0-9]+$/.test(value)) return undefined;
  if (value === '') return 'write target is empty';
  if (touchesGitConfig(value))
    return `writes to ${value}: git configuration and hooks run code on later git commands`;
  if (value.startsWith('~')) return `writes to ${value}, outside the workspace`;
  if (value.startsWith('/')) {
    const norm = posix.normalize(value);
    return isInside(norm, workspace) ? undefined : `writes to ${value}, outside the workspace`;
  }
  if (cwd.mayLeave) return `writes to relative path ${value} after a cd that may leave the workspace`;
  const segments = value.split('/');
  if (segments.includes('..')) {
    if (cwd.changes) return `writes to ${value}, which may escape the workspace after cd`;
    const norm = posix.normalize(posix.join(workspace, value));
    if (!isInside(norm, workspace)) return `writes to ${value}, outside the workspace`;
  }
  return undefined;
}
