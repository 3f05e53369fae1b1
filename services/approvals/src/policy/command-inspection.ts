/**
 * Commands that run other commands. Wrappers (sudo, env, xargs, timeout, …), shells with -c, eval, watch,
 * find -exec, git -c, ssh remote commands and interpreter one-liners are never auto-approved; this module
 * finds what they would run so that the dangerous floor sees through them (`sudo env nice rm -rf /`).
 */
import { gitSubcommand } from './dangerous-patterns';
import { basename } from './shell-words';

export interface InnerCommand {
  /** Why the outer command is not proven safe, e.g. `xargs runs another command (rm)`; empty when only the payload matters. */
  describe: string;
  /** A command line the outer one executes as an argument vector. */
  argv?: string[];
  /** Shell source the outer one executes (sh -c, eval, watch, ssh, su -c, git alias !cmd, …). */
  script?: { source: string; kind: string };
  /** Code in another language (python -c, perl -e, awk programs, …): only the raw-text floor can look at it. */
  payload?: { text: string; kind: string };
  /** Environment assignments the outer command makes (env NAME=VALUE). */
  env?: Array<[string, string]>;
}

interface OptionSpec {
  /** Short option letters that take a value (attached or as the next argument). */
  short?: string;
  /** Long options that take a value when not written with `=`. */
  long?: readonly string[];
  /** Positional arguments between the options and the command (timeout DURATION, chroot DIR, …). */
  leading?: number;
  /** Single-dash numeric flags such as `nice -10`. */
  numeric?: boolean;
}

/** Index of the first argument after the options and the `leading` positionals. */
function skipOptions(args: readonly string[], spec: OptionSpec): number {
  let i = 0;
  while (i < args.length) {
    const a = args[i];
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    if (spec.numeric && /^-[0-9]+$/.test(a)) {
      i++;
      continue;
    }
    if (a.startsWith('--')) {
      const name = a.split('=')[0];
      i += spec.long?.includes(name) && !a.includes('=') ? 2 : 1;
      continue;
    }
    let consumed = 1;
    for (let j = 1; j < a.length; j++) {
      if (spec.short?.includes(a[j])) {
        if (j === a.length - 1) consumed = 2;
        break;
      }
    }
    i += consumed;
  }
  return Math.min(args.length, i + (spec.leading ?? 0));
}

const WRAPPER_SPECS: Readonly<Record<string, OptionSpec>> = {
  sudo: {
    short: 'ugChpDrtTUR',
    long: [
      '--user',
      '--group',
      '--close-from',
      '--host',
      '--prompt',
      '--chdir',
      '--role',
      '--type',
      '--other-user',
      '--command-timeout',
    ],
  },
  doas: { short: 'uC' },
  nohup: {},
  nice: { short: 'n', long: ['--adjustment'], numeric: true },
  ionice: { short: 'cnpPu', long: ['--class', '--classdata', '--pid', '--pgid', '--uid'] },
  stdbuf: { short: 'ioe', long: ['--input', '--output', '--error'] },
  timeout: { short: 'sk', long: ['--signal', '--kill-after'], leading: 1 },
  exec: { short: 'a' },
  command: {},
  builtin: {},
  time: { short: 'fo', long: ['--format', '--output'] },
  chroot: { long: ['--userspec', '--groups'], leading: 1 },
  setsid: {},
  unshare: { short: 'SGRw', long: ['--setuid', '--setgid', '--root', '--wd'] },
  nsenter: { short: 'tSGrwe', long: ['--target'] },
  strace: { short: 'eoOpPsSuEIbXa' },
  ltrace: { short: 'eoOpsSuEIaAlLn' },
  taskset: { leading: 1 },
  chrt: { leading: 1 },
  prlimit: { short: 'p' },
  firejail: {},
  'systemd-run': {
    short: 'pEuMH',
    long: ['--property', '--unit', '--setenv', '--uid', '--gid', '--machine', '--host'],
  },
  catchsegv: {},
  valgrind: {},
  runuser: { short: 'ugG', long: ['--user', '--group', '--supp-group'] },
  flock: { short: 'wE', long: ['--timeout', '--conflict-exit-code'], leading: 1 },
};

export const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash', 'mksh', 'yash', 'fish', 'rbash']);

/** Interpreters and the flags that take a one-liner. */
const INTERPRETERS: ReadonlyArray<{ match: RegExp; code: readonly string[] }> = [
  { match: /^python[0-9.]*$|^pypy[0-9.]*$/, code: ['-c'] },
  { match: /^(?:node|nodejs|bun)$/, code: ['-e', '--eval', '-p', '--print'] },
  { match: /^perl[0-9.]*$/, code: ['-e', '-E'] },
  { match: /^ruby[0-9.]*$/, code: ['-e'] },
  { match: /^php[0-9.]*$/, code: ['-r'] },
  { match: /^(?:lua[0-9.]*|luajit)$/, code: ['-e'] },
  { match: /^Rscript$/, code: ['-e'] },
  { match: /^(?:pwsh|powershell)$/, code: ['-c', '-Command', '-command'] },
  { match: /^osascript$/, code: ['-e'] },
  { match: /^(?:tclsh|wish|jshell|irb|ghci)$/, code: [] },
];

export function isInterpreter(name: string): boolean {
  return INTERPRETERS.some((i) => i.match.test(name));
}

/** True when the command reads a program from standard input (`curl … | sh`, `| python3`). */
export function readsCodeFromStdin(name: string, args: readonly string[]): boolean {
  if (name === 'source' || name === '.')
    return ['/dev/stdin', '/proc/self/fd/0', '/dev/fd/0', '-'].includes(args[0] ?? '');
  if (SHELLS.has(name)) {
    const shell = shellInvocation(args);
    return (
      !shell.hasC &&
      (shell.operand === undefined || shell.stdin || shell.operand === '-' || shell.operand === '/dev/stdin')
    );
  }
  const interp = INTERPRETERS.find((i) => i.match.test(name));
  if (!interp) return false;
  if (args.some((a) => interp.code.includes(a) || (name.startsWith('perl') && /^-[a-zA-Z]*[eE]/.test(a))))
    return false;
  const operand = args.find((a) => !a.startsWith('-') || a === '-');
  return operand === undefined || operand === '-' || operand === '/dev/stdin';
}

function shellInvocation(args: readonly string[]): {
  hasC: boolean;
  stdin: boolean;
  operand: string | undefined;
  rest: string[];
} {
  let hasC = false;
  let stdin = false;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i];
    if (a === '--' || a === '-') {
      if (a === '--') i++;
      break;
    }
    if (a.startsWith('--')) {
      if (a === '--rcfile' || a === '--init-file') i++;
      continue;
    }
    if (/^[-+][A-Za-z]+$/.test(a)) {
      if (a.includes('c') && a.startsWith('-')) hasC = true;
      if (a.includes('s')) stdin = true;
      if (/[oO]/.test(a)) i++;
      continue;
    }
    break;
  }
  return { hasC, stdin, operand: args[i], rest: args.slice(i + 1) };
}

const COMMAND_CONFIG_KEY =
  /^(?:alias\..+|core\.(?:pager|editor|sshcommand|fsmonitor|askpass|hookspath)|pager\..+|.+\.(?:textconv|command|cmd|helper|program|process|clean|smudge)|diff\.external|sequence\.editor|gpg\.program|credential\.helper)$/i;

function sshCommands(name: string, args: readonly string[]): InnerCommand[] {
  const out: InnerCommand[] = [];
  const optionCommand = (opt: string): void => {
    const m = /^(ProxyCommand|LocalCommand|KnownHostsCommand|RemoteCommand)\s*(?:=|\s)\s*(.+)$/i.exec(opt);
    if (m)
      out.push({
        describe: `${name} -o ${m[1]} runs a command (${m[2]})`,
        script: { source: m[2], kind: `${name} -o ${m[1]}` },
      });
  };
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-')) break;
    if (a.startsWith('-o')) {
      optionCommand(a.length > 2 ? a.slice(2) : (args[++i] ?? ''));
      continue;
    }
    if (name !== 'ssh' && a === '-S') {
      out.push({
        describe: `${name} -S runs another program (${args[i + 1] ?? '?'})`,
        argv: [args[i + 1] ?? ''],
      });
      i++;
      continue;
    }
    if (/^-[A-Za-z]*[BbcDEeFIiJLlmOpQRSWw]$/.test(a)) i++;
  }
  if (name === 'ssh' && i + 1 < args.length) {
    const remote = args.slice(i + 1).join(' ');
    out.push({
      describe: `ssh runs a remote command (${remote})`,
      script: { source: remote, kind: 'ssh remote command' },
    });
  }
  return out;
}

/**
 * What `name args…` would run besides itself. Returns an empty list for ordinary commands.
 * `args` are the words after quote removal; computed words keep their source text (`$HOME`, `$(id)`).
 */
export function inspectCommand(name: string, args: readonly string[]): InnerCommand[] {
  const spec = Object.hasOwn(WRAPPER_SPECS, name) ? WRAPPER_SPECS[name] : undefined;
  if (spec) {
    if (
      (name === 'runuser' || name === 'flock') &&
      args.some((a) => /^-[A-Za-z]*c$/.test(a) || a.startsWith('--command'))
    ) {
      // handled below with su
    } else {
      const inner = args.slice(skipOptions(args, spec));
      if (name === 'command' && args.some((a) => /^-[a-zA-Z]*[vV]/.test(a))) {
        return [
          {
            describe: `command -v looks up ${inner[0] ?? '?'} (command is a wrapper and is never auto-approved)`,
          },
        ];
      }
      if (inner.length === 0)
        return [{ describe: `${name} ${name === 'exec' ? 'replaces the shell' : 'runs another command'}` }];
      const program = inner.find((a) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(a)) ?? inner[0];
      if (
        (name === 'sudo' || name === 'doas') &&
        args
          .slice(0, args.length - inner.length)
          .some((a) => /^-[A-Za-z]*[si]/.test(a) || a === '--shell' || a === '--login')
      ) {
        // sudo -s / -i run the command through the target user's shell
        const source = inner.join(' ');
        return [
          {
            describe: `${name} runs a command through a shell (${source})`,
            script: { source, kind: `${name} -s` },
          },
        ];
      }
      return [{ describe: `${name} runs another command (${basename(program)})`, argv: inner }];
    }
  }
  switch (name) {
    case 'env': {
      const env: Array<[string, string]> = [];
      const out: InnerCommand[] = [];
      let i = 0;
      for (; i < args.length; i++) {
        const a = args[i];
        if (a === '--') {
          i++;
          break;
        }
        if (a === '-S' || a === '--split-string' || a.startsWith('-S') || a.startsWith('--split-string=')) {
          const s =
            a === '-S' || a === '--split-string'
              ? (args[++i] ?? '')
              : a.startsWith('-S')
                ? a.slice(2)
                : a.slice(a.indexOf('=') + 1);
          out.push({
            describe: `env -S runs a command line (${s})`,
            script: { source: s + ' ' + args.slice(i + 1).join(' '), kind: 'env -S' },
          });
          return out;
        }
        if (a === '-u' || a === '-C' || a === '--unset' || a === '--chdir') {
          i++;
          continue;
        }
        if (a.startsWith('-') && a !== '-') continue;
        break;
      }
      // env accepts any NAME=VALUE, including names bash cannot assign (BASH_FUNC_ls%%=…)
      for (; i < args.length && /^[^=-][^=]*=/.test(args[i]); i++) {
        const eq = args[i].indexOf('=');
        env.push([args[i].slice(0, eq), args[i].slice(eq + 1)]);
      }
      const inner = args.slice(i);
      if (inner.length === 0)
        return [{ describe: 'env prints the environment (may expose credentials)', env }];
      return [{ describe: `env runs another command (${basename(inner[0])})`, argv: inner, env }];
    }
    case 'su':
    case 'runuser':
    case 'script':
    case 'flock': {
      const i = args.findIndex(
        (a) =>
          /^-[A-Za-z]*c$/.test(a) ||
          a === '--command' ||
          a === '--session-command' ||
          a.startsWith('--command='),
      );
      if (i >= 0) {
        const s = args[i].includes('=') ? args[i].slice(args[i].indexOf('=') + 1) : (args[i + 1] ?? '');
        return [
          { describe: `${name} -c runs a shell command string`, script: { source: s, kind: `${name} -c` } },
        ];
      }
      return [{ describe: `${name} starts a shell or another command` }];
    }
    case 'xargs': {
      const inner = args.slice(
        skipOptions(args, {
          short: 'ILnPdEsa',
          long: [
            '--arg-file',
            '--delimiter',
            '--eof',
            '--max-lines',
            '--max-args',
            '--max-procs',
            '--max-chars',
            '--process-slot-var',
          ],
        }),
      );
      return [
        {
          describe: `xargs runs another command (${inner.length ? basename(inner[0]) : 'echo'})`,
          argv: inner.length ? inner : ['echo'],
        },
      ];
    }
    case 'watch': {
      const exec = args.some((a) => a === '-x' || a === '--exec');
      const inner = args.slice(skipOptions(args, { short: 'nq', long: ['--interval'] }));
      if (exec)
        return [{ describe: `watch runs another command (${basename(inner[0] ?? '?')})`, argv: inner }];
      const s = inner.join(' ');
      return [
        {
          describe: `watch runs a shell command string repeatedly (${s})`,
          script: { source: s, kind: 'watch' },
        },
      ];
    }
    case 'alias': {
      const out: InnerCommand[] = [];
      for (const a of args) {
        const eq = a.indexOf('=');
        if (eq > 0)
          out.push({
            describe: `alias ${a.slice(0, eq)} defines a command (${a.slice(eq + 1)})`,
            script: { source: a.slice(eq + 1), kind: `alias ${a.slice(0, eq)}` },
          });
      }
      return out;
    }
    case 'trap': {
      const handler = args.find((a) => !a.startsWith('-'));
      if (handler === undefined || args.length < 2) return [];
      return [
        {
          describe: `trap runs a command on a signal (${handler})`,
          script: { source: handler, kind: 'trap' },
        },
      ];
    }
    case 'eval': {
      const s = args.join(' ');
      return [{ describe: 'eval runs its arguments as shell code', script: { source: s, kind: 'eval' } }];
    }
    case 'source':
    case '.':
      return [{ describe: `${name} runs a script in the current shell (${args[0] ?? '?'})` }];
    case 'busybox':
    case 'toybox':
      if (args.length === 0) return [{ describe: `${name} runs applets` }];
      return [{ describe: `${name} runs another command (${args[0]})`, argv: [...args] }];
    case 'parallel': {
      const end = args.findIndex((a) => a === ':::' || a === '::::');
      const inner = args.slice(
        skipOptions(args, { short: 'jSaI', long: ['--jobs', '--sshlogin', '--arg-file'] }),
        end >= 0 ? end : undefined,
      );
      return [
        {
          describe: `parallel runs another command (${basename(inner[0] ?? '?')})`,
          script: { source: inner.join(' '), kind: 'parallel' },
        },
      ];
    }
    case 'ssh':
    case 'scp':
    case 'sftp':
      return sshCommands(name, args);
    case 'rsync': {
      const out: InnerCommand[] = [];
      args.forEach((a, i) => {
        const value =
          a === '-e' || a === '--rsh'
            ? args[i + 1]
            : a.startsWith('--rsh=')
              ? a.slice(6)
              : a.startsWith('-e') && a.length > 2
                ? a.slice(2)
                : undefined;
        if (value)
          out.push({
            describe: `rsync -e runs a remote shell command (${value})`,
            script: { source: value, kind: 'rsync -e' },
          });
        if (a.startsWith('--rsync-path='))
          out.push({
            describe: 'rsync --rsync-path runs a command on the remote side',
            script: { source: a.slice(13), kind: 'rsync --rsync-path' },
          });
      });
      return out;
    }
    case 'find': {
      const out: InnerCommand[] = [];
      for (let i = 0; i < args.length; i++) {
        if (!/^-(?:exec|execdir|ok|okdir)$/.test(args[i])) continue;
        const start = i + 1;
        let end = start;
        while (end < args.length && args[end] !== ';' && args[end] !== '+') end++;
        const inner = args.slice(start, end);
        out.push({
          describe: `find ${args[i]} runs another command (${basename(inner[0] ?? '?')})`,
          argv: inner,
        });
        i = end;
      }
      return out;
    }
    case 'git': {
      const out: InnerCommand[] = [];
      const { globals } = gitSubcommand(args);
      for (let i = 0; i < globals.length; i++) {
        if (globals[i] !== '-c' && !globals[i].startsWith('-c')) continue;
        const kv = globals[i] === '-c' ? (globals[++i] ?? '') : globals[i].slice(2);
        const eq = kv.indexOf('=');
        const key = eq >= 0 ? kv.slice(0, eq) : kv;
        const value = eq >= 0 ? kv.slice(eq + 1) : '';
        if (!COMMAND_CONFIG_KEY.test(key) || value === '') continue;
        if (/^alias\./i.test(key) && !value.startsWith('!')) {
          out.push({
            describe: `git -c ${key} defines an alias (${value})`,
            argv: ['git', ...value.split(/\s+/).filter(Boolean)],
          });
        } else {
          const source = value.replace(/^!/, '');
          out.push({
            describe: `git -c ${key} runs a command (${source})`,
            script: { source, kind: `git -c ${key}` },
          });
        }
      }
      return out;
    }
  }
  if (SHELLS.has(name)) {
    const shell = shellInvocation(args);
    if (shell.hasC) {
      return [
        {
          describe: `${name} -c runs a shell command string`,
          script: { source: shell.operand ?? '', kind: `${name} -c` },
        },
      ];
    }
    if (shell.operand !== undefined && !shell.stdin && shell.operand !== '-')
      return [{ describe: `${name} runs a shell script (${shell.operand})` }];
    return [{ describe: `${name} reads shell code from standard input` }];
  }
  const interp = INTERPRETERS.find((i) => i.match.test(name));
  if (interp) {
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      const perlLike = /^(?:perl|ruby)/.test(name) && /^-[a-zA-Z]*[eE]$/.test(a);
      if (interp.code.includes(a) || perlLike) {
        const code = args[i + 1] ?? '';
        return [
          {
            describe: `${name} ${a} runs an interpreter one-liner`,
            payload: { text: code, kind: `${name} ${a}` },
          },
        ];
      }
      const attached = interp.code.find((c) => c.length === 2 && a.startsWith(c) && a.length > 2);
      if (attached)
        return [
          {
            describe: `${name} ${attached} runs an interpreter one-liner`,
            payload: { text: a.slice(2), kind: `${name} ${attached}` },
          },
        ];
      if (a === '-m' && /^python/.test(name))
        return [{ describe: `${name} -m runs module ${args[i + 1] ?? '?'}` }];
    }
    const operand = args.find((a) => !a.startsWith('-'));
    return [
      { describe: operand ? `${name} runs a script (${operand})` : `${name} reads code from standard input` },
    ];
  }
  return [];
}

/** Commands that only exist to run other commands: never on the safe list, whatever their arguments. */
export function isWrapper(name: string): boolean {
  return (
    Object.hasOwn(WRAPPER_SPECS, name) ||
    SHELLS.has(name) ||
    isInterpreter(name) ||
    [
      'env',
      'su',
      'runuser',
      'script',
      'flock',
      'xargs',
      'watch',
      'eval',
      'source',
      '.',
      'busybox',
      'toybox',
      'parallel',
    ].includes(name)
  );
}
