/**
 * The smart-mode safe list: commands that run without asking when every argument passes the entry's rule.
 *
 * `args: 'any'`   — no option of the command writes a file, runs another program or uses the network, so
 *                   arguments the shell computes (variables, globs, brace expansion) cannot make it harmful.
 * `args: 'literal'` — the command has an option that writes or executes (sort --compress-program, find
 *                   -delete, git -c, …). Every argument must then be literal text: a glob such as `*` can
 *                   expand to a file named `--compress-program=sh` or `-delete` (option injection).
 * `check`         — the per-command argument rule, returning every problem found.
 *
 * Deliberately NOT on the list (they ask): `env` / `printenv` / bare `set` — they print the whole
 * environment, and the sandbox environment may carry credentials brokered into it, which would land in the
 * model's context; `xargs`, `nohup`, `timeout`, … — wrappers that run another command; `less`, `more`,
 * `man` — interactive pagers with shell escapes; `cp`, `mv`, `rm`, `chmod`, `ln` — they change files even
 * inside the workspace in ways an operator should see; `curl`, `wget`, `ssh`, package managers, build tools
 * and interpreters — network or arbitrary code.
 */
import { gitSubcommand } from './dangerous-patterns';
import { awkProgramProblem, sedScriptProblem } from './script-checks';
import { IDENTIFIER, type ArgToken } from './shell-words';

export interface SafeArgContext {
  /** Why a write to this literal path is not proven to stay inside the workspace, or undefined. */
  writeProblem(path: string): string | undefined;
}

export interface SafeCommand {
  /** One line: why the command is safe to run unasked. */
  why: string;
  args: 'any' | 'literal';
  /** One line: the argument rule. */
  rule: string;
  check?: (args: readonly ArgToken[], ctx: SafeArgContext, name: string) => string[];
}

const ANY = 'any arguments';

function readOnly(why: string): SafeCommand {
  return { why, args: 'any', rule: ANY };
}

/** Short-option cluster (`-abc`), not a long option, not a lone dash, not a negative number. */
function isCluster(a: string): boolean {
  return /^-[A-Za-z]/.test(a) && !a.startsWith('--');
}

interface OptionShape {
  /** Short letters taking the rest of the cluster or the next argument. */
  short?: string;
  /** Short letters taking only the rest of the cluster (`sed -i.bak`). */
  optional?: string;
  /** Long options taking the next argument when not written with `=`. */
  long?: readonly string[];
}

/** Walks options and operands the way getopt_long would for the given option shape. */
function walkOptions(
  values: readonly string[],
  shape: OptionShape,
  onOption: (flag: string, value: string | undefined) => void,
  onOperand: (operand: string) => void,
): void {
  let ended = false;
  for (let i = 0; i < values.length; i++) {
    const a = values[i];
    if (ended || a === '-' || !a.startsWith('-')) {
      onOperand(a);
      continue;
    }
    if (a === '--') {
      ended = true;
      continue;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) onOption(a.slice(0, eq), a.slice(eq + 1));
      else if (shape.long?.includes(a)) onOption(a, values[++i]);
      else onOption(a, undefined);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j];
      if (shape.optional?.includes(c)) {
        onOption('-' + c, a.slice(j + 1) || undefined);
        break;
      }
      if (shape.short?.includes(c)) {
        const rest = a.slice(j + 1);
        onOption('-' + c, rest !== '' ? rest : values[++i]);
        break;
      }
      onOption('-' + c, undefined);
    }
  }
}

const vals = (args: readonly ArgToken[]): string[] => args.map((a) => a.value);

// ---------------------------------------------------------------------------------------------------------
// per-command argument rules
// ---------------------------------------------------------------------------------------------------------

function checkPrintf(args: readonly ArgToken[]): string[] {
  const i = args.findIndex((a) => a.value === '-v');
  if (i < 0) return [];
  const name = args[i + 1];
  return name && name.static && IDENTIFIER.test(name.value)
    ? []
    : ['printf -v with a computed or subscripted name evaluates code'];
}

function checkRead(args: readonly ArgToken[]): string[] {
  const problems: string[] = [];
  let ended = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!ended && a.static && a.value === '--') {
      ended = true;
      continue;
    }
    if (!ended && a.static && isCluster(a.value)) {
      const letters = a.value.slice(1);
      for (let j = 0; j < letters.length; j++) {
        const c = letters[j];
        if ('dnNptui'.includes(c)) {
          if (j === letters.length - 1) i++;
          break;
        }
        if (c === 'a') {
          const rest = letters.slice(j + 1);
          const target = rest !== '' ? { static: true, value: rest } : args[++i];
          if (!target || !target.static || !IDENTIFIER.test(target.value))
            problems.push('read -a into a computed name');
          break;
        }
      }
      continue;
    }
    if (!a.static || !IDENTIFIER.test(a.value))
      problems.push(`read into ${a.text} (a subscripted or computed name evaluates code)`);
  }
  return problems;
}

function checkTest(args: readonly ArgToken[]): string[] {
  const problems: string[] = [];
  args.forEach((a, i) => {
    if (a.value === '-v') {
      const v = args[i + 1];
      if (v && (!v.static || !IDENTIFIER.test(v.value)))
        problems.push(`test -v ${v.text} evaluates an array subscript`);
    }
  });
  return problems;
}

function checkSort(args: readonly ArgToken[], ctx: SafeArgContext): string[] {
  const problems: string[] = [];
  walkOptions(
    vals(args),
    {
      short: 'kotST',
      long: [
        '--output',
        '--key',
        '--field-separator',
        '--buffer-size',
        '--temporary-directory',
        '--compress-program',
        '--parallel',
        '--files0-from',
        '--random-source',
        '--sort',
      ],
    },
    (flag, value) => {
      if (flag === '-o' || flag === '--output') {
        const p = value === undefined ? 'sort -o without a file' : ctx.writeProblem(value);
        if (p) problems.push(`sort -o: ${p}`);
      }
      if (flag === '--compress-program') problems.push('sort --compress-program runs another program');
    },
    () => undefined,
  );
  return problems;
}

function checkUniq(args: readonly ArgToken[], ctx: SafeArgContext): string[] {
  const operands: string[] = [];
  walkOptions(
    vals(args),
    { short: 'fsw', long: ['--skip-fields', '--skip-chars', '--check-chars'] },
    () => undefined,
    (o) => operands.push(o),
  );
  if (operands.length < 2) return [];
  const p = ctx.writeProblem(operands[1]);
  return p ? [`uniq output file: ${p}`] : [];
}

function checkDate(args: readonly ArgToken[]): string[] {
  const problems: string[] = [];
  walkOptions(
    vals(args),
    { short: 'dfrs', optional: 'I', long: ['--date', '--file', '--reference', '--set'] },
    (flag) => {
      if (flag === '-s' || flag === '--set') problems.push('date -s sets the clock');
    },
    () => undefined,
  );
  return problems;
}

function checkHostname(args: readonly ArgToken[]): string[] {
  const problems: string[] = [];
  walkOptions(
    vals(args),
    { short: 'F', long: ['--file'] },
    (flag) => {
      if (flag === '-F' || flag === '--file' || flag === '-b' || flag === '--boot')
        problems.push('hostname sets the host name');
    },
    () => problems.push('hostname NAME sets the host name'),
  );
  return problems;
}

function checkFile(args: readonly ArgToken[]): string[] {
  return vals(args).some((a) => a === '-C' || a === '--compile' || (isCluster(a) && a.includes('C')))
    ? ['file -C writes a compiled magic file']
    : [];
}

function checkWritesOperands(command: string, shape: OptionShape) {
  return (args: readonly ArgToken[], ctx: SafeArgContext): string[] => {
    const problems: string[] = [];
    walkOptions(
      vals(args),
      shape,
      () => undefined,
      (o) => {
        const p = ctx.writeProblem(o);
        if (p) problems.push(`${command}: ${p}`);
      },
    );
    return problems;
  };
}

function checkTree(args: readonly ArgToken[], ctx: SafeArgContext): string[] {
  const problems: string[] = [];
  walkOptions(
    vals(args),
    { short: 'oLPIH', long: ['--filelimit', '--charset', '--sort', '--timefmt'] },
    (flag, value) => {
      if (flag === '-o') {
        const p = value === undefined ? 'tree -o without a file' : ctx.writeProblem(value);
        if (p) problems.push(`tree -o: ${p}`);
      }
      if (flag === '-R') problems.push('tree -R writes an 00Tree.html into every directory');
    },
    () => undefined,
  );
  return problems;
}

const FIND_EXEC = new Set(['-exec', '-execdir', '-ok', '-okdir']);
const FIND_WRITE = new Set(['-fprint', '-fprint0', '-fprintf', '-fls']);

function checkFind(args: readonly ArgToken[]): string[] {
  const v = vals(args);
  const problems: string[] = [];
  v.forEach((a, i) => {
    if (FIND_EXEC.has(a)) problems.push(`find ${a} runs another command (${v[i + 1] ?? '?'})`);
    if (a === '-delete') problems.push('find -delete deletes files');
    if (FIND_WRITE.has(a)) problems.push(`find ${a} writes a file`);
  });
  return problems;
}

function checkSed(args: readonly ArgToken[], ctx: SafeArgContext): string[] {
  const problems: string[] = [];
  const scripts: string[] = [];
  const operands: string[] = [];
  let inPlace = false;
  walkOptions(
    vals(args),
    { short: 'efl', optional: 'i', long: ['--expression', '--file', '--line-length'] },
    (flag, value) => {
      if (flag === '-e' || flag === '--expression') scripts.push(value ?? '');
      else if (flag === '-f' || flag === '--file')
        problems.push('sed -f reads its script from a file the policy cannot see');
      else if (flag === '-i' || flag === '--in-place') inPlace = true;
      else if (
        !/^(?:-[nEsruzl]|--(?:quiet|silent|posix|debug|sandbox|regexp-extended|separate|unbuffered|null-data|follow-symlinks|line-length))$/.test(
          flag,
        )
      ) {
        problems.push(`sed option ${flag} is not understood`);
      }
    },
    (o) => operands.push(o),
  );
  if (scripts.length === 0 && operands.length > 0) scripts.push(operands.shift() as string);
  for (const s of scripts) {
    const p = sedScriptProblem(s);
    if (p) problems.push(p);
  }
  if (inPlace) {
    for (const f of operands) {
      const p = ctx.writeProblem(f);
      if (p) problems.push(`sed -i: ${p}`);
    }
  }
  return problems;
}

const AWK_FLAGS =
  /^-[bcMNOPrsSt]$|^--(?:sandbox|posix|traditional|re-interval|characters-as-bytes|bignum|use-lc-numeric|optimize|no-optimize|field-separator|assign|source)$/;

function checkAwk(args: readonly ArgToken[], _ctx: SafeArgContext, name: string): string[] {
  const problems: string[] = [];
  let program: ArgToken | undefined;
  const sources: string[] = [];
  let sandboxed = false;
  let ended = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = a.value;
    if (!ended && a.static && v.startsWith('-') && v !== '-') {
      if (v === '--') {
        ended = true;
        continue;
      }
      const flag = v.startsWith('--') ? v.split('=')[0] : v.slice(0, 2);
      const attached = v.startsWith('--') ? v.includes('=') : v.length > 2;
      if (flag === '-F' || flag === '-v' || flag === '--field-separator' || flag === '--assign') {
        if (!attached) i++;
        continue;
      }
      if (flag === '-e' || flag === '--source') {
        const text = attached ? v.slice(v.startsWith('--') ? v.indexOf('=') + 1 : 2) : args[++i]?.value;
        sources.push(text ?? '');
        continue;
      }
      if (
        flag === '-f' ||
        flag === '--file' ||
        flag === '-i' ||
        flag === '--include' ||
        flag === '-l' ||
        flag === '--load' ||
        flag === '-E' ||
        flag === '--exec'
      ) {
        problems.push(`${name} ${flag} loads program text the policy cannot see`);
        if (!attached) i++;
        continue;
      }
      if (flag === '-S' || flag === '--sandbox') sandboxed = true;
      if (!AWK_FLAGS.test(flag)) problems.push(`${name} option ${flag} may write a file or load code`);
      continue;
    }
    if (program === undefined && sources.length === 0) {
      program = a;
      if (!a.static) problems.push(`${name} program ${a.text} is computed at run time`);
    }
  }
  if (program?.static) sources.push(program.value);
  // gawk --sandbox disables system(), redirections and extensions itself.
  if (!(sandboxed && name === 'gawk')) {
    for (const s of sources) {
      const p = awkProgramProblem(s);
      if (p) problems.push(p);
    }
  }
  return problems;
}

const GIT_READ_ONLY = new Set([
  'status',
  'log',
  'diff',
  'show',
  'rev-parse',
  'ls-files',
  'blame',
  'shortlog',
  'describe',
  'ls-tree',
  'cat-file',
  'rev-list',
  'merge-base',
  'show-ref',
  'for-each-ref',
  'count-objects',
  'name-rev',
  'grep',
  'whatchanged',
  'version',
  'branch',
  'tag',
  'remote',
  'reflog',
  'stash',
]);
const GIT_GLOBAL_OK = new Set([
  '--no-pager',
  '-P',
  '--no-optional-locks',
  '--literal-pathspecs',
  '--no-replace-objects',
  '--version',
]);
const GIT_BRANCH_LIST = /^(?:-l|--list|--contains|--no-contains|--merged|--no-merged|--points-at)(?:=.*)?$/;
const GIT_BRANCH_WRITE =
  /^(?:--delete|--move|--copy|--force|--set-upstream-to|--unset-upstream|--edit-description|--track|--no-track|--create-reflog|--recurse-submodules)(?:=.*)?$/;
const GIT_TAG_WRITE =
  /^(?:--delete|--annotate|--sign|--force|--message|--file|--local-user|--edit|--verify|--create-reflog)(?:=.*)?$/;

function checkGit(args: readonly ArgToken[], ctx: SafeArgContext): string[] {
  const v = vals(args);
  const problems: string[] = [];
  const { sub, rest, globals } = gitSubcommand(v);
  for (let i = 0; i < globals.length; i++) {
    const g = globals[i];
    if (g === '-C') {
      const dir = globals[++i] ?? '';
      // another repository brings its own configuration (fsmonitor, pager, diff drivers, hooks)
      const p = ctx.writeProblem(dir.replace(/\/?$/, '/x'));
      if (p)
        problems.push(`git -C ${dir}: a repository outside the workspace runs with its own configuration`);
      continue;
    }
    if (g === '-c' || g.startsWith('-c')) {
      problems.push('git -c can set a pager, alias or hook that runs commands');
      if (g === '-c') i++;
      continue;
    }
    if (GIT_GLOBAL_OK.has(g)) continue;
    if (g === '-p' || g === '--paginate') problems.push('git --paginate runs a pager');
    else problems.push(`git ${g} points git at other configuration or paths`);
    if (['--git-dir', '--work-tree', '--namespace', '--config-env'].includes(g)) i++;
  }
  if (sub === undefined) return problems;
  if (!GIT_READ_ONLY.has(sub)) {
    problems.push(`git ${sub} is not a read-only git subcommand (or is an alias)`);
    return problems;
  }
  for (const a of rest) {
    if (a === '--output' || a.startsWith('--output=')) problems.push(`git ${sub} --output writes a file`);
    if (a === '--ext-diff') problems.push('git --ext-diff runs an external diff program');
    if (a === '--textconv' || a === '--filters')
      problems.push(`git ${a} runs configured conversion programs`);
    if (sub === 'grep' && (a.startsWith('-O') || a.startsWith('--open-files-in-pager')))
      problems.push('git grep -O opens a pager');
    if (a === '--show-signature' || (/^--(?:pretty|format)=/.test(a) && /%G/.test(a)))
      problems.push('git signature checks run the configured gpg program');
  }
  const positional = rest.filter((a) => !a.startsWith('-'));
  switch (sub) {
    case 'branch':
      for (const a of rest) {
        if (GIT_BRANCH_WRITE.test(a) || (isCluster(a) && /[dDmMcCfu]/.test(a.slice(1))))
          problems.push(`git branch ${a} changes branches`);
      }
      if (positional.length > 0 && !rest.some((a) => GIT_BRANCH_LIST.test(a)))
        problems.push('git branch NAME creates a branch');
      break;
    case 'tag':
      for (const a of rest) {
        if (GIT_TAG_WRITE.test(a) || (isCluster(a) && /[dasfmFuev]/.test(a.slice(1))))
          problems.push(`git tag ${a} changes tags`);
      }
      if (positional.length > 0 && !rest.some((a) => a === '-l' || a === '--list'))
        problems.push('git tag NAME creates a tag');
      break;
    case 'remote':
      if (!(
        rest.length === 0 ||
        (rest.length === 1 && (rest[0] === '-v' || rest[0] === '--verbose')) ||
        rest[0] === 'get-url'
      )) {
        problems.push(`git remote ${rest.join(' ')} changes or contacts remotes`);
      }
      break;
    case 'reflog':
      if (positional.length > 0 && positional[0] !== 'show')
        problems.push(`git reflog ${positional[0]} rewrites the reflog`);
      break;
    case 'stash':
      if (positional[0] !== 'list' && positional[0] !== 'show')
        problems.push(`git stash${positional[0] ? ' ' + positional[0] : ''} changes the working tree`);
      break;
  }
  return problems;
}

function checkRg(args: readonly ArgToken[]): string[] {
  return vals(args)
    .filter((a) => a === '--pre' || a.startsWith('--pre=') || a.startsWith('--hostname-bin'))
    .map((a) => `rg ${a.split('=')[0]} runs another program`);
}

function checkYq(args: readonly ArgToken[], ctx: SafeArgContext): string[] {
  const v = vals(args);
  if (v.some((a) => a === '-s' || a.startsWith('--split-exp')))
    return ['yq --split-exp writes files named by an expression'];
  if (!v.some((a) => a === '-i' || a === '--inplace' || (isCluster(a) && a.slice(1).includes('i'))))
    return [];
  const operands = v.filter((a) => !a.startsWith('-'));
  if (['eval', 'e', 'eval-all', 'ea'].includes(operands[0])) operands.shift();
  operands.shift(); // the expression
  return operands
    .map((f) => ctx.writeProblem(f))
    .filter((p): p is string => !!p)
    .map((p) => `yq -i: ${p}`);
}

function checkIdentifiers(command: string) {
  return (args: readonly ArgToken[]): string[] =>
    command === 'export' &&
    args.every((a) => a.static && /^-[a-zA-Z]+$/.test(a.value) && !a.value.includes('n'))
      ? ['export without names prints the environment (may expose credentials)']
      : args
          .filter((a) => !(a.static && /^-[a-zA-Z]+$/.test(a.value)))
          .filter((a) => !IDENTIFIER.test(a.value.split('=')[0]))
          .map((a) => `${command} ${a.text}: a computed or subscripted name evaluates code`);
}

const SET_OPTIONS = new Set([
  'errexit',
  'nounset',
  'pipefail',
  'xtrace',
  'verbose',
  'noglob',
  'noclobber',
  'notify',
  'noexec',
  'errtrace',
  'functrace',
  'monitor',
  'hashall',
  'braceexpand',
  'posix',
  'ignoreeof',
  'physical',
]);

function checkSet(args: readonly ArgToken[]): string[] {
  if (args.length === 0)
    return ['set without arguments prints every shell variable (may expose credentials)'];
  const v = vals(args);
  for (let i = 0; i < v.length; i++) {
    const a = v[i];
    if (a === '--' || a === '-') return [];
    if (/^[-+][befhmnptuvxBCEHPT]*o$/.test(a)) {
      // -o NAME (possibly clustered: -euo pipefail)
      if (!SET_OPTIONS.has(v[i + 1] ?? ''))
        return [`set ${a} ${v[i + 1] ?? ''} is not on the list of harmless shell options`];
      i++;
      continue;
    }
    // not -k/keyword (NAME=VALUE arguments become environment) nor -a/allexport (assignments become exports)
    if (!/^[-+][befhmnptuvxBCEHPT]+$/.test(a))
      return [`set ${a} is not on the list of harmless shell options`];
  }
  return [];
}

/** The safe list. Keys are command basenames (`/usr/bin/cat` is `cat`; `./cat` never is). */
export const SAFE_COMMANDS: Readonly<Record<string, SafeCommand>> = {
  // --- reading and listing files -------------------------------------------------------------------------
  cat: readOnly('prints files'),
  ls: readOnly('lists directories'),
  head: readOnly('prints the start of files'),
  tail: readOnly('prints the end of files (tail -f only waits)'),
  wc: readOnly('counts lines, words, bytes'),
  grep: readOnly('searches text; no option writes or executes'),
  egrep: readOnly('grep -E'),
  fgrep: readOnly('grep -F'),
  stat: readOnly('prints file metadata'),
  du: readOnly('sums disk usage'),
  df: readOnly('prints file-system usage'),
  diff: readOnly('compares files; prints only'),
  cmp: readOnly('compares files byte by byte'),
  comm: readOnly('compares sorted files'),
  od: readOnly('dumps bytes'),
  hexdump: readOnly('dumps bytes'),
  strings: readOnly('prints printable strings of files'),
  base64: readOnly('encodes/decodes to standard output only'),
  md5sum: readOnly('prints checksums (-c only reads)'),
  sha1sum: readOnly('prints checksums'),
  sha224sum: readOnly('prints checksums'),
  sha256sum: readOnly('prints checksums'),
  sha384sum: readOnly('prints checksums'),
  sha512sum: readOnly('prints checksums'),
  b2sum: readOnly('prints checksums'),
  cksum: readOnly('prints checksums'),
  realpath: readOnly('resolves paths'),
  readlink: readOnly('prints symlink targets'),
  basename: readOnly('string operation on a path'),
  dirname: readOnly('string operation on a path'),
  file: {
    why: 'identifies file types',
    args: 'literal',
    rule: 'no -C/--compile (writes a .mgc file)',
    check: checkFile,
  },
  tree: {
    why: 'lists directory trees',
    args: 'literal',
    rule: '-o FILE only inside the workspace; no -R (writes into every directory)',
    check: checkTree,
  },
  find: {
    why: 'lists files matching tests',
    args: 'literal',
    rule: 'no -exec/-execdir/-ok/-okdir (run commands), -delete, -fprint*/-fls (write files); literal arguments only',
    check: checkFind,
  },
  rg: {
    why: 'ripgrep searches text',
    args: 'literal',
    rule: 'no --pre / --hostname-bin (run programs)',
    check: checkRg,
  },

  // --- text processing to standard output ------------------------------------------------------------------
  cut: readOnly('selects fields'),
  tr: readOnly('translates characters'),
  nl: readOnly('numbers lines'),
  paste: readOnly('merges lines'),
  join: readOnly('joins sorted files'),
  fold: readOnly('wraps lines'),
  fmt: readOnly('reformats paragraphs'),
  column: readOnly('formats columns'),
  tac: readOnly('prints files in reverse'),
  rev: readOnly('reverses lines'),
  expand: readOnly('tabs to spaces'),
  unexpand: readOnly('spaces to tabs'),
  sort: {
    why: 'sorts lines',
    args: 'literal',
    rule: '-o/--output only inside the workspace; no --compress-program (runs a program)',
    check: checkSort,
  },
  uniq: {
    why: 'filters repeated lines',
    args: 'literal',
    rule: 'an OUTPUT operand only inside the workspace',
    check: checkUniq,
  },
  jq: readOnly('JSON processor; its language cannot run commands or write files'),
  yq: {
    why: 'YAML processor',
    args: 'literal',
    rule: '-i/--inplace only on files inside the workspace; no -s/--split-exp',
    check: checkYq,
  },
  sed: {
    why: 'stream editor',
    args: 'literal',
    rule: 'script without e/w/W commands or s///e, s///w flags; no -f; -i only on files inside the workspace',
    check: checkSed,
  },
  awk: {
    why: 'pattern scanning',
    args: 'any',
    rule: 'literal program without system(), pipes, getline from commands or print > file; no -f/-i/-l/-E',
    check: checkAwk,
  },
  gawk: { why: 'GNU awk', args: 'any', rule: 'as awk; --sandbox lifts the program check', check: checkAwk },
  mawk: { why: 'mawk', args: 'any', rule: 'as awk', check: checkAwk },
  nawk: { why: 'nawk', args: 'any', rule: 'as awk', check: checkAwk },

  // --- writes confined to the workspace --------------------------------------------------------------------
  tee: {
    why: 'copies standard input to files',
    args: 'literal',
    rule: 'every FILE inside the workspace',
    check: checkWritesOperands('tee', {}),
  },
  mkdir: {
    why: 'creates directories',
    args: 'literal',
    rule: 'every DIRECTORY inside the workspace',
    check: checkWritesOperands('mkdir', { short: 'm', long: ['--mode'] }),
  },
  touch: {
    why: 'creates files / sets times',
    args: 'literal',
    rule: 'every FILE inside the workspace',
    check: checkWritesOperands('touch', { short: 'drt', long: ['--date', '--reference', '--time'] }),
  },

  // --- printing and shell builtins -------------------------------------------------------------------------
  echo: readOnly('prints its arguments'),
  printf: {
    why: 'prints formatted text',
    args: 'any',
    rule: '-v only with a plain variable name',
    check: checkPrintf,
  },
  pwd: readOnly('prints the working directory'),
  cd: readOnly('changes directory (the analyser tracks it for relative write targets)'),
  pushd: readOnly('changes directory (tracked like cd)'),
  popd: readOnly('changes directory (tracked like cd)'),
  true: readOnly('does nothing'),
  false: readOnly('does nothing'),
  ':': readOnly('does nothing'),
  test: {
    why: 'evaluates a condition',
    args: 'any',
    rule: '-v only with a plain variable name',
    check: checkTest,
  },
  '[': {
    why: 'evaluates a condition',
    args: 'any',
    rule: '-v only with a plain variable name',
    check: checkTest,
  },
  read: {
    why: 'reads a line into variables',
    args: 'any',
    rule: 'plain variable names only (subscripts evaluate code)',
    check: checkRead,
  },
  export: {
    why: 'marks variables for export',
    args: 'any',
    rule: 'plain names; dangerous names are on the floor',
    check: checkIdentifiers('export'),
  },
  unset: {
    why: 'removes variables',
    args: 'literal',
    rule: 'plain names only',
    check: checkIdentifiers('unset'),
  },
  set: {
    why: 'sets shell options',
    args: 'literal',
    rule: 'listed option flags and -o NAME only (no -k/keyword, -a/allexport); bare set prints variables',
    check: checkSet,
  },
  sleep: readOnly('waits'),
  wait: readOnly('waits for background jobs'),
  exit: readOnly('leaves the shell'),
  return: readOnly('leaves a function'),
  shift: readOnly('shifts positional parameters'),
  break: readOnly('loop control'),
  continue: readOnly('loop control'),
  seq: readOnly('prints numbers'),
  expr: readOnly('evaluates an expression; cannot run commands'),
  which: readOnly('looks up a command'),
  type: readOnly('describes a command name'),

  // --- system information -----------------------------------------------------------------------------------
  whoami: readOnly('prints the user name'),
  id: readOnly('prints user and group ids'),
  uname: readOnly('prints system information'),
  nproc: readOnly('prints the CPU count'),
  date: { why: 'prints the date', args: 'literal', rule: 'no -s/--set', check: checkDate },
  hostname: {
    why: 'prints the host name',
    args: 'literal',
    rule: 'no NAME operand, no -F/-b (set the host name)',
    check: checkHostname,
  },

  // --- version control ----------------------------------------------------------------------------------------
  git: {
    why: 'read-only inspection of the repository',
    args: 'literal',
    rule:
      'read-only subcommands only (status, log, diff, show, branch/tag listing, rev-parse, ls-files, blame, grep, …); ' +
      'no -c, --git-dir/--work-tree, --output, --ext-diff, --textconv, -O',
    check: checkGit,
  },
};

export function safeCommand(name: string): SafeCommand | undefined {
  return Object.prototype.hasOwnProperty.call(SAFE_COMMANDS, name) ? SAFE_COMMANDS[name] : undefined;
}
