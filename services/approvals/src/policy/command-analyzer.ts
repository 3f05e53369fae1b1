/**
 * Walks the unbash AST of a command and collects, without any decision about modes:
 * - every simple command (including those in pipelines, lists, subshells, groups, if/while/for/case bodies,
 *   functions, command and process substitutions, and strings the policy parses as shell),
 * - every reason the command is not proven safe,
 * - every dangerous-floor finding.
 */
import { forEachChild, parse } from 'unbash';
import type {
  ArithmeticExpression,
  Command,
  Function as FunctionNode,
  ParameterExpansionPart,
  ParsedScript,
  Pipeline,
  Redirection,
  SyntaxNode,
  TestExpression,
  Word,
  WordPart,
} from 'unbash';
import {
  inspectCommand,
  isInterpreter,
  isWrapper,
  readsCodeFromStdin,
  SHELLS,
  type InnerCommand,
} from './command-inspection';
import {
  argvDangers,
  envAssignmentDanger,
  isHarmlessEnv,
  isRootLike,
  rawDangers,
  SQL_CLIENTS,
  sqlDangers,
  writeTargetDanger,
  type DangerHit,
} from './dangerous-patterns';
import type { DangerFinding } from './policy.types';
import { safeCommand } from './safe-list';
import {
  argTokens,
  basename,
  IDENTIFIER,
  isArithmeticLiteral,
  isSystemBinaryPath,
  tokenOf,
  type ArgToken,
} from './shell-words';
import { cdTargetInside, normalizeWorkspace, writeTargetProblem, type CwdState } from './workspace-paths';

export interface CommandAnalysis {
  /** False when the top-level parse reported errors or the input could not be analysed at all. */
  parsed: boolean;
  commands: string[];
  /** Reasons the command is not proven safe (empty: every simple command is on the safe list with safe arguments). */
  unsafe: string[];
  dangerous: DangerFinding[];
}

/** Longer input is not parsed (and never auto-approved): no real command needs it, and it bounds the work per decision. */
export const MAX_COMMAND_LENGTH = 20_000;
/** How deep strings inside strings are followed (sh -c "eval 'bash -c …'"). */
const MAX_INNER_DEPTH = 6;

const DOWNLOADERS = new Set([
  'curl',
  'wget',
  'fetch',
  'aria2c',
  'http',
  'https',
  'httpie',
  'lwp-request',
  'lwp-download',
  'GET',
]);
const WRITE_OPERATORS = new Set(['>', '>>', '>|', '&>', '&>>', '<>']);
const ASSIGNMENT_OPERATORS = new Set(['=', '+=', '-=', '*=', '/=', '%=', '<<=', '>>=', '&=', '^=', '|=']);
const ARITHMETIC_TEST_OPERATORS = new Set(['-eq', '-ne', '-lt', '-le', '-gt', '-ge']);
const INVISIBLE = /[\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/;
const CONTROL = /[\x00-\x08\x0B-\x1F\x7F]/; // eslint-disable-line no-control-regex
/** Commands whose glob-obfuscated names (`/???/r?`) are matched against the floor. */
const GLOB_CANDIDATES = [
  'rm',
  'dd',
  'mkfs',
  'shutdown',
  'reboot',
  'halt',
  'poweroff',
  'chmod',
  'chown',
  'git',
  'kill',
  'crontab',
  'iptables',
  'nft',
  'docker',
  'kubectl',
  'terraform',
  'psql',
  'mysql',
  'sqlite3',
  'sh',
  'bash',
  'curl',
  'wget',
];
const BIN_DIRS = ['', '/bin/', '/usr/bin/', '/sbin/', '/usr/sbin/', '/usr/local/bin/'];

interface Scope {
  source: string;
  /** Prefix of reasons, e.g. `segment 2 › sh -c › `. */
  prefix: string;
  depth: number;
  via: DangerFinding['via'];
  /** Record reasons that make the command unsafe (false when re-reading an expanded guess only for the floor). */
  recordUnsafe: boolean;
  /** Functions defined in this source, with the offset where each definition ends. */
  functions: Map<string, number>;
  vars: Map<string, string>;
  cwd: CwdState;
  /** Some cd goes to /, ~ or a system directory: a later `rm -r *` deletes it. */
  cdRootLike: string | undefined;
  /** Files a downloader wrote earlier in the command (`curl -o x.sh`, `wget -O x`, `curl … > x`). */
  downloaded: Set<string>;
  segment: number;
}

export function analyzeCommand(command: string, workspace: string): CommandAnalysis {
  return new CommandAnalyzer(normalizeWorkspace(workspace)).run(command);
}

class CommandAnalyzer {
  private readonly result: CommandAnalysis = { parsed: true, commands: [], unsafe: [], dangerous: [] };
  private readonly seenUnsafe = new Set<string>();
  private readonly seenDanger = new Set<string>();
  private scope!: Scope;
  /** Label of the simple command being visited (`segment 3`), for reasons found in its words. */
  private current = '';

  constructor(private readonly workspace: string) {}

  run(command: string): CommandAnalysis {
    if (command.length > MAX_COMMAND_LENGTH) {
      this.result.parsed = false;
      this.addUnsafe(
        `unparseable: command is too long to analyse (${command.length} characters, limit ${MAX_COMMAND_LENGTH})`,
        true,
      );
      this.rawScan(command, command.slice(0, 200));
      return this.result;
    }
    if (INVISIBLE.test(command)) {
      this.addUnsafe(
        'contains invisible or bidirectional Unicode control characters (what the approver sees may not be what runs)',
        true,
      );
    }
    if (CONTROL.test(command)) this.addUnsafe('contains control characters', true);

    const script = this.tryParse(command);
    if (!script) {
      this.result.parsed = false;
      this.addUnsafe('unparseable: the shell parser failed on this input', true);
      this.rawScan(command, command);
      return this.result;
    }
    if (script.errors?.length) {
      this.result.parsed = false;
      this.addUnsafe(`unparseable: ${script.errors.map((e) => e.message).join('; ')}`, true);
      this.rawScan(command, command);
    }
    this.scope = this.newScope(command, '', 0, 'ast', true);
    this.prepass(script, this.scope);
    this.visit(script);
    if (this.result.commands.length === 0 && this.result.parsed) this.addUnsafe('no command found', true);
    return this.result;
  }

  // ---------------------------------------------------------------------------------------------------
  // bookkeeping
  // ---------------------------------------------------------------------------------------------------

  private tryParse(source: string): ParsedScript | undefined {
    try {
      return parse(source);
    } catch {
      return undefined;
    }
  }

  private newScope(
    source: string,
    prefix: string,
    depth: number,
    via: DangerFinding['via'],
    recordUnsafe: boolean,
  ): Scope {
    return {
      source,
      prefix,
      depth,
      via,
      recordUnsafe,
      functions: new Map(),
      vars: new Map(),
      cwd: { mayLeave: false, changes: false },
      cdRootLike: undefined,
      downloaded: new Set(),
      segment: 0,
    };
  }

  private addUnsafe(reason: string, force = false): void {
    if (!force && !this.scope.recordUnsafe) return;
    if (this.seenUnsafe.has(reason)) return;
    this.seenUnsafe.add(reason);
    this.result.unsafe.push(reason);
  }

  /** Reason about the command being visited. */
  private unsafeHere(reason: string): void {
    this.addUnsafe(this.current ? `${this.current}: ${reason}` : `${this.scope.prefix}${reason}`);
  }

  private addDanger(hit: DangerHit, command: string, via: DangerFinding['via'] = this.scope.via): void {
    const key = `${hit.id}\u0000${hit.reason}`;
    if (this.seenDanger.has(key)) return;
    this.seenDanger.add(key);
    this.result.dangerous.push({ id: hit.id, reason: hit.reason, command: clip(command), via });
  }

  private rawScan(text: string, command: string): void {
    for (const hit of rawDangers(text)) this.addDanger(hit, command, 'raw');
  }

  private text(node: { pos: number; end: number }): string {
    return this.scope.source.slice(node.pos, node.end);
  }

  // ---------------------------------------------------------------------------------------------------
  // pre-pass: functions, literal variables, cd
  // ---------------------------------------------------------------------------------------------------

  private prepass(root: SyntaxNode, scope: Scope): void {
    const walk = (node: SyntaxNode): void => {
      if (node.type === 'Function') {
        const name = tokenOf(node.name);
        if (name.static && !scope.functions.has(name.value)) scope.functions.set(name.value, node.end);
      } else if (node.type === 'Command') {
        const name = node.name ? tokenOf(node.name) : undefined;
        const assignments = [
          ...(!node.name ? node.prefix : []),
          ...(name && ['export', 'declare', 'typeset', 'local', 'readonly'].includes(name.value)
            ? node.suffix
            : []),
        ];
        for (const a of assignments) {
          if (a.type === 'Assignment' && a.value.type === 'Word' && !a.index) {
            const t = tokenOf(a.value);
            if (t.static) scope.vars.set(a.name, t.value);
            else scope.vars.delete(a.name);
          }
        }
        if (name?.static && ['cd', 'pushd', 'popd'].includes(basename(name.value))) {
          scope.cwd.changes = true;
          const target = argTokens(node).find((t) => !(t.static && /^-[LPe@]+$/.test(t.value)));
          if (name.value === 'popd' || !cdTargetInside(target, this.workspace)) scope.cwd.mayLeave = true;
          if (name.value !== 'popd' && (!target || isRootLike(target.value)))
            scope.cdRootLike = target?.value ?? '~';
        }
      }
      forEachChild(node, walk);
    };
    walk(root);
  }

  // ---------------------------------------------------------------------------------------------------
  // the walk
  // ---------------------------------------------------------------------------------------------------

  private readonly visit = (node: SyntaxNode): void => {
    switch (node.type) {
      case 'Command':
        this.onCommand(node);
        return;
      case 'Pipeline':
        this.onPipeline(node);
        break;
      case 'Function':
        this.onFunction(node);
        break;
      case 'Redirected':
        this.checkRedirects(node.redirects, this.text(node));
        break;
      case 'Coproc':
        this.unsafeHere('coproc starts a background co-process');
        break;
      case 'CommandExpansion':
        this.unsafeHere(`command substitution ${clip(node.text)}`);
        this.nestedErrors(node.script, node.text);
        break;
      case 'ProcessSubstitution':
        this.unsafeHere(`process substitution ${clip(node.text)}`);
        this.nestedErrors(node.script, node.text);
        break;
      case 'ArithmeticCommandExpansion':
        this.unsafeHere(`command substitution inside arithmetic ${clip(node.text)}`);
        this.nestedErrors(node.script, node.text);
        break;
      case 'ArithmeticExpansion':
        this.checkArithmetic(node.expression, node.text);
        break;
      case 'ArithmeticCommand':
        this.checkArithmetic(node.expression, `((${node.body}))`);
        break;
      case 'ArithmeticFor':
        for (const e of [node.initialize, node.test, node.update])
          if (e) this.checkArithmetic(e, 'for ((…))');
        break;
      case 'TestCommand':
        this.checkTest(node.expression);
        break;
      case 'ParameterExpansion':
        this.checkParameterExpansion(node);
        break;
      case 'Script':
        if (node.source !== undefined && node.source !== this.scope.source) {
          const outer = this.scope;
          this.scope = { ...outer, source: node.source };
          forEachChild(node, this.visit);
          this.scope = outer;
          return;
        }
        break;
    }
    forEachChild(node, this.visit);
  };

  private nestedErrors(script: ParsedScript | undefined, text: string): void {
    if (!script) {
      if (this.scope.depth === 0) this.result.parsed = false;
      this.unsafeHere(`could not parse ${clip(text)}`);
      return;
    }
    if (script.errors?.length && this.scope.depth === 0) {
      this.result.parsed = false;
      this.addUnsafe(`unparseable: ${script.errors.map((e) => e.message).join('; ')} in ${clip(text)}`, true);
    }
  }

  private onCommand(cmd: Command): void {
    const label = `${this.scope.prefix}segment ${++this.scope.segment}`;
    const text = this.text(cmd);
    this.result.commands.push(text);
    const outer = this.current;
    this.current = label;
    try {
      this.inspectSimpleCommand(cmd, label, text);
      forEachChild(cmd, this.visit);
    } finally {
      this.current = outer;
    }
  }

  private inspectSimpleCommand(cmd: Command, label: string, text: string): void {
    for (const item of cmd.prefix) {
      if (item.type !== 'Assignment') continue;
      const value =
        item.value.type === 'Word' ? item.value.value : item.value.elements.map((w) => w.value).join(' ');
      const hit = envAssignmentDanger(item.name, value);
      if (hit) this.addDanger(hit, text);
      else if (cmd.name && !isHarmlessEnv(item.name))
        this.unsafeHere(`environment variable ${item.name}= is not known to be harmless for the command`);
      if (item.index && !isArithmeticLiteral(item.index.value))
        this.unsafeHere(
          `assignment to ${item.name}[${item.index.text}] evaluates the subscript as arithmetic`,
        );
    }
    this.checkRedirects(cmd.redirects, text);
    if (!cmd.name) return;

    const name = tokenOf(cmd.name);
    const args = argTokens(cmd);
    const values = args.map((a) => a.value);
    this.guessExpanded(cmd, name, text);
    if (!name.static) {
      this.unsafeHere(`command name ${clip(name.text)} is computed at run time`);
      return;
    }
    const full = name.value;
    const base = basename(full);

    // dangerous floor, through wrappers
    for (const hit of argvDangers(base, values)) this.addDanger(hit, text);
    this.checkRelativeRootDelete(base, values, text);
    this.checkDownloadThenRun(cmd, base, values, text);
    for (const item of cmd.suffix) {
      if (
        item.type === 'Assignment' &&
        ['export', 'declare', 'typeset', 'local', 'readonly'].includes(base)
      ) {
        const hit = envAssignmentDanger(item.name, item.value.type === 'Word' ? item.value.value : '');
        if (hit) this.addDanger(hit, text);
        else if (base === 'export' && !isHarmlessEnv(item.name))
          this.unsafeHere(
            `export ${item.name}= puts a variable not known to be harmless into the environment of later commands`,
          );
      }
    }
    const inners = inspectCommand(base, values);
    for (const inner of inners) this.followInner(inner, label, text, this.scope.depth);
    const chain = this.unwrapChain(base, values);
    this.checkSubstitutedCode(cmd, chain, text);
    this.checkHereInput(cmd, chain, label, text);

    // proven safe?
    const definedAt = this.scope.functions.get(full);
    if (definedAt !== undefined && definedAt <= cmd.pos) return; // a function defined earlier: its body is analysed where it is defined
    if (/[^\x21-\x7E]/.test(full)) {
      this.unsafeHere(
        `command name ${JSON.stringify(full)} contains non-ASCII or invisible characters (look-alike of a real command?)`,
      );
      const imitated = lookalikeOf(full);
      if (imitated)
        this.addDanger(
          {
            id: 'obfuscated-command',
            reason: `command name ${JSON.stringify(full)} imitates ${imitated} with look-alike characters`,
          },
          text,
        );
      return;
    }
    if (isWrapper(base)) {
      for (const inner of inners) if (inner.describe) this.unsafeHere(inner.describe);
      if (inners.length === 0) this.unsafeHere(`${base} runs other commands`);
      return;
    }
    const safe = safeCommand(base);
    if (!safe) {
      this.unsafeHere(`${full.includes('/') ? full : base} is not on the safe list`);
      for (const inner of inners) if (inner.describe) this.unsafeHere(inner.describe);
      // programs the policy does not model may still carry a command line in their arguments
      // (vim -c ':!…', docker exec … sh -c '…', kubectl exec -- …): apply the precise raw rules
      for (const hit of rawDangers(
        args
          .filter((a) => a.static)
          .map((a) => a.value)
          .join(' '),
        true,
      ))
        this.addDanger(hit, text, 'raw');
      return;
    }
    if (full.includes('/') && !isSystemBinaryPath(full)) {
      this.unsafeHere(
        `${full} is not the system ${base} (only /bin, /usr/bin, /usr/local/bin, /sbin paths count)`,
      );
    }
    for (const a of args) {
      if (/^\/proc\/[^/]+\/environ$/.test(a.value))
        this.unsafeHere(`reads ${a.value} (a process environment may hold credentials)`);
    }
    if (safe.args === 'literal') {
      for (const a of args) {
        if (!a.static)
          this.unsafeHere(
            `${base} argument ${clip(a.text)} is expanded at run time (could inject an option)`,
          );
      }
    }
    const problems =
      safe.check?.(
        args,
        { writeProblem: (p) => writeTargetProblem(staticToken(p), this.workspace, this.scope.cwd) },
        base,
      ) ?? [];
    for (const p of problems) this.unsafeHere(p);
    if (problems.length > 0 && /^(?:g|m|n)?awk$|^sed$/.test(base)) {
      // the program may run commands: let the raw floor read it
      this.rawScan(
        args
          .filter((a) => a.static)
          .map((a) => a.value)
          .join('\n'),
        text,
      );
    }
  }

  /** `cd / && rm -rf *`: a relative recursive delete after a cd to / or ~. */
  private checkRelativeRootDelete(base: string, values: readonly string[], text: string): void {
    const dir = this.scope.cdRootLike;
    if (!dir || base !== 'rm') return;
    if (!values.some((v) => /^-[A-Za-z]*[rR]/.test(v) || v === '--recursive')) return;
    const target = values.find((v) => ['*', '.', './', './*', '.*', '*/'].includes(v));
    if (target)
      this.addDanger(
        { id: 'rm-recursive-root', reason: `recursive delete of ${target} after cd ${dir}` },
        text,
      );
  }

  /** `curl -o x.sh URL; bash x.sh`, `wget -O x URL && chmod +x x && ./x`: download, then execute. */
  private checkDownloadThenRun(cmd: Command, base: string, values: readonly string[], text: string): void {
    const downloaded = this.scope.downloaded;
    if (DOWNLOADERS.has(base)) {
      values.forEach((v, i) => {
        if (['-o', '-O', '--output', '--output-document'].includes(v) && values[i + 1])
          downloaded.add(values[i + 1]);
        const eq = /^--output(?:-document)?=(.+)$/.exec(v);
        if (eq) downloaded.add(eq[1]);
      });
      for (const r of cmd.redirects)
        if (r.type === 'Redirect' && r.target && (r.operator === '>' || r.operator === '>>'))
          downloaded.add(r.target.value);
      return;
    }
    if (downloaded.size === 0) return;
    const strip = (p: string): string => p.replace(/^\.\//, '');
    const files = new Set([...downloaded].map(strip));
    const name = cmd.name ? strip(cmd.name.value) : '';
    const runner = SHELLS.has(base) || isInterpreter(base) || base === 'source' || base === '.';
    const file = files.has(name)
      ? cmd.name?.value
      : runner
        ? values.find((v) => files.has(strip(v)))
        : undefined;
    if (file)
      this.addDanger({ id: 'download-exec', reason: `runs ${file}, which was just downloaded` }, text);
  }

  /** Follows what a wrapper would run, for the floor. */
  private followInner(inner: InnerCommand, label: string, text: string, depth: number): void {
    for (const [k, v] of inner.env ?? []) {
      const hit = envAssignmentDanger(k, v);
      if (hit) this.addDanger(hit, text);
    }
    if (inner.payload) this.rawScan(inner.payload.text, text);
    if (inner.script)
      this.analyzeInner(inner.script.source, `${label} › ${inner.script.kind}`, depth + 1, true);
    let argv = inner.argv ?? [];
    while (argv.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[0])) {
      // sudo/doas/nice … accept or pass on NAME=VALUE before the command
      const eq = argv[0].indexOf('=');
      const hit = envAssignmentDanger(argv[0].slice(0, eq), argv[0].slice(eq + 1));
      if (hit) this.addDanger(hit, text);
      argv = argv.slice(1);
    }
    if (argv.length > 0 && /\s/.test(argv[0])) {
      // `sudo "rm -rf /"`-style: a whole command line in one word; read it as shell
      this.analyzeInner(argv.join(' '), `${label} › ${basename(argv[0].split(/\s/)[0])}`, depth + 1, false);
      return;
    }
    if (argv.length > 0 && depth < MAX_INNER_DEPTH) {
      const name = basename(argv[0]);
      const rest = argv.slice(1);
      for (const hit of argvDangers(name, rest)) this.addDanger(hit, text);
      for (const next of inspectCommand(name, rest)) this.followInner(next, label, text, depth + 1);
    }
  }

  /** Parses a string the command would run as shell (sh -c, eval, ssh, …) and analyses it in its own scope. */
  private analyzeInner(source: string, prefix: string, depth: number, recordUnsafe: boolean): void {
    if (depth > MAX_INNER_DEPTH) {
      if (recordUnsafe) this.addUnsafe(`${prefix}: nested too deeply to analyse`);
      this.rawScan(source, source);
      return;
    }
    const script = this.tryParse(source);
    if (!script || script.errors?.length) {
      if (recordUnsafe) this.addUnsafe(`${prefix}: could not parse ${clip(source)}`);
      this.rawScan(source, source);
      if (!script) return;
    }
    const outer = this.scope;
    const outerCurrent = this.current;
    this.scope = this.newScope(source, `${prefix} › `, depth, 'inner', recordUnsafe && outer.recordUnsafe);
    this.current = '';
    try {
      this.prepass(script, this.scope);
      forEachChild(script, this.visit);
    } finally {
      this.scope = outer;
      this.current = outerCurrent;
    }
  }

  /** The innermost argv after unwrapping sudo/env/nice/timeout/…: `sudo -u x env A=1 bash` → bash. */
  private unwrapChain(base: string, values: readonly string[]): Array<{ name: string; args: string[] }> {
    const chain = [{ name: base, args: [...values] }];
    for (let i = 0; i < MAX_INNER_DEPTH; i++) {
      const last = chain[chain.length - 1];
      if (!isWrapper(last.name) || SHELLS.has(last.name) || isInterpreter(last.name)) break;
      const next = inspectCommand(last.name, last.args).find((c) => c.argv && c.argv.length > 0);
      if (!next?.argv) break;
      chain.push({ name: basename(next.argv[0]), args: next.argv.slice(1) });
    }
    return chain;
  }

  /** `bash <(curl …)`, `sh -c "$(curl …)"`, `eval "$(wget …)"`, `python3 <(curl …)`: download-and-execute. */
  private checkSubstitutedCode(cmd: Command, chain: ReadonlyArray<{ name: string }>, text: string): void {
    const runner = chain.find(
      (c) => SHELLS.has(c.name) || isInterpreter(c.name) || ['eval', 'source', '.'].includes(c.name),
    );
    if (!runner) return;
    const words: Word[] = [];
    for (const item of cmd.suffix) {
      if (item.type === 'Word') words.push(item);
      else if ((item.type === 'Redirect' || item.type === 'HereString') && item.target)
        words.push(item.target);
    }
    for (const w of words) {
      const dl = downloaderIn(w);
      if (dl)
        this.addDanger(
          { id: 'download-exec', reason: `downloads with ${dl} and runs it with ${runner.name}` },
          text,
        );
    }
  }

  /** Here-documents and here-strings fed to a shell, an interpreter or an SQL client. */
  private checkHereInput(
    cmd: Command,
    chain: ReadonlyArray<{ name: string; args: string[] }>,
    label: string,
    text: string,
  ): void {
    const last = chain[chain.length - 1];
    for (const r of cmd.redirects) {
      let content: string | undefined;
      if (r.type === 'HereDoc') content = r.body.text;
      else if (r.type === 'HereString' && r.target) content = r.target.value;
      if (content === undefined) continue;
      if (SQL_CLIENTS.has(last.name)) for (const hit of sqlDangers(content)) this.addDanger(hit, text);
      if (
        (SHELLS.has(last.name) || last.name === 'source' || last.name === '.') &&
        readsCodeFromStdin(last.name, last.args)
      ) {
        this.analyzeInner(
          content,
          `${label} › ${r.type === 'HereDoc' ? 'here-doc' : 'here-string'} into ${last.name}`,
          this.scope.depth + 1,
          true,
        );
      } else if (isInterpreter(last.name)) {
        this.rawScan(content, text);
      }
    }
  }

  /**
   * Best effort for the floor only: what the command would look like after the shell expands `${IFS}`,
   * literal variables set earlier in the command, `$(echo x)` and simple brace lists — `rm${IFS}-rf${IFS}/`,
   * `a=r;b=m;$a$b -rf /`, `$(echo rm) -rf /`, `{rm,-rf,/}` — and what a globbed name could match (`/???/r?`).
   */
  private guessExpanded(cmd: Command, name: ArgToken, text: string): void {
    const words: Word[] = [cmd.name as Word, ...cmd.suffix.filter((s): s is Word => s.type === 'Word')];
    let changed = false;
    const guessed = words.map((w) => {
      const g = this.guessWord(w);
      if (g.changed) changed = true;
      return g.value;
    });
    if (changed)
      this.analyzeInner(guessed.join(' '), `${this.current} › as expanded`, this.scope.depth + 1, false);
    if (!name.static) {
      const dl = downloaderIn(cmd.name as Word);
      if (dl) this.addDanger({ id: 'download-exec', reason: `runs the output of ${dl} as a command` }, text);
      const trick = obfuscation(cmd.name as Word);
      if (trick)
        this.addDanger(
          {
            id: 'obfuscated-command',
            reason: `command name ${clip(name.text, 60)} is hidden behind ${trick}`,
          },
          text,
        );
      this.rawScan(text, text);
      const re = globRegExp(cmd.name as Word);
      if (re) {
        const values = argTokens(cmd).map((a) => a.value);
        for (const candidate of GLOB_CANDIDATES) {
          if (BIN_DIRS.some((d) => re.test(d + candidate))) {
            for (const hit of argvDangers(candidate, values))
              this.addDanger(
                { id: hit.id, reason: `${hit.reason} (command name ${name.text} can match ${candidate})` },
                text,
              );
          }
        }
      }
    }
  }

  private guessWord(word: Word): { value: string; changed: boolean } {
    let changed = false;
    const fromParts = (parts: readonly WordPart[] | undefined, fallback: string): string => {
      if (!parts) return fallback;
      let out = '';
      for (const part of parts) {
        switch (part.type) {
          case 'Literal':
          case 'SingleQuoted':
          case 'AnsiCQuoted':
            out += part.value;
            break;
          case 'DoubleQuoted':
          case 'LocaleString':
            out += fromParts(part.parts, part.text);
            break;
          case 'SimpleExpansion':
          case 'ParameterExpansion': {
            const param =
              part.type === 'SimpleExpansion'
                ? part.text.slice(1)
                : part.operation || part.index || part.prefix
                  ? undefined
                  : part.parameter;
            if (param === 'IFS') {
              out += ' ';
              changed = true;
            } else if (param !== undefined && this.scope.vars.has(param)) {
              out += this.scope.vars.get(param);
              changed = true;
            } else out += part.text;
            break;
          }
          case 'CommandExpansion': {
            const echoed = echoOutput(part.script);
            if (echoed !== undefined) {
              out += echoed;
              changed = true;
            } else out += part.text;
            break;
          }
          case 'BraceExpansion': {
            const m = /^\{([^{}]*,[^{}]*)\}$/.exec(part.text);
            if (m) {
              out += m[1].split(',').join(' ');
              changed = true;
            } else out += part.text;
            break;
          }
          default:
            out += part.text;
        }
      }
      return out;
    };
    const value = fromParts(word.parts, word.value);
    return { value, changed };
  }

  // ---------------------------------------------------------------------------------------------------
  // pipelines, functions, redirections
  // ---------------------------------------------------------------------------------------------------

  private onPipeline(p: Pipeline): void {
    const text = this.text(p);
    if (p.prefixes.some((x) => x.type === 'Time')) {
      const first = p.commands[0];
      const firstName = first?.type === 'Command' && first.name ? first.name.value : 'a pipeline';
      this.addUnsafe(
        `${this.current ? this.current + ': ' : this.scope.prefix}time runs another command (${firstName})`,
      );
    }
    const stages = p.commands.map((c) => {
      if (c.type !== 'Command' || !c.name) return undefined;
      const name = tokenOf(c.name);
      if (!name.static) return undefined;
      const chain = this.unwrapChain(
        basename(name.value),
        argTokens(c).map((a) => a.value),
      );
      return { cmd: c, chain, last: chain[chain.length - 1] };
    });
    // what each stage prints when that is knowable: echo/printf/cat <<EOF, then base64 -d, rev, xxd -r -p
    const outputs: Array<string | undefined> = [];
    p.commands.forEach((c, k) => {
      if (c.type !== 'Command') {
        outputs.push(undefined);
        return;
      }
      const before = k > 0 ? outputs[k - 1] : undefined;
      outputs.push((before !== undefined ? decodeStage(c, before) : undefined) ?? staticOutput(c));
    });
    for (let j = 1; j < p.commands.length; j++) {
      const stage = stages[j];
      const runner =
        stage && readsCodeFromStdin(stage.last.name, stage.last.args)
          ? stage.last.name
          : stdinRunnerIn(p.commands[j]);
      if (!runner) continue;
      for (let i = 0; i < j; i++) {
        const dl = stages[i]?.chain.find((c) => DOWNLOADERS.has(c.name))?.name ?? downloaderIn(p.commands[i]);
        if (dl)
          this.addDanger(
            { id: 'download-exec', reason: `downloads with ${dl} and pipes it into ${runner}` },
            text,
          );
      }
      const fed = outputs[j - 1];
      if (fed !== undefined && stage) {
        if (SHELLS.has(runner) || runner === 'source' || runner === '.')
          this.analyzeInner(
            fed,
            `${this.scope.prefix}pipeline › piped into ${runner}`,
            this.scope.depth + 1,
            false,
          );
        else this.rawScan(fed, text);
      }
    }
    for (let j = 1; j < stages.length; j++) {
      const stage = stages[j];
      if (!stage || !SQL_CLIENTS.has(stage.last.name)) continue;
      const fed = outputs[j - 1];
      if (fed !== undefined) for (const hit of sqlDangers(fed)) this.addDanger(hit, text);
    }
  }

  private onFunction(fn: FunctionNode): void {
    const name = tokenOf(fn.name);
    if (!name.static) return;
    let bomb = false;
    const walk = (node: SyntaxNode, spawning: boolean): void => {
      if (bomb || node.type === 'Function') return;
      if (node.type === 'Command' && spawning && node.name?.value === name.value) {
        bomb = true;
        return;
      }
      const nowSpawning =
        spawning ||
        (node.type === 'Pipeline' && node.commands.length > 1) ||
        (node.type === 'Statement' && node.background === true);
      forEachChild(node, (child) => walk(child, nowSpawning));
    };
    forEachChild(fn.body, (child) => walk(child, false));
    if (bomb)
      this.addDanger(
        { id: 'fork-bomb', reason: `fork bomb: function ${name.value} spawns copies of itself` },
        this.text(fn),
      );
  }

  private checkRedirects(redirects: readonly Redirection[], text: string): void {
    for (const r of redirects) {
      if (r.type !== 'Redirect' || !r.target) continue;
      const target = tokenOf(r.target);
      if (/^\/dev\/(?:tcp|udp)\//.test(target.value)) {
        this.unsafeHere(`redirection ${r.operator} ${clip(target.text)} opens a network connection`);
        continue;
      }
      if (/^\/proc\/[^/]+\/environ$/.test(target.value))
        this.unsafeHere(`reads ${target.value} (a process environment may hold credentials)`);
      const write =
        WRITE_OPERATORS.has(r.operator) ||
        (r.operator === '>&' && !(target.static && /^(?:[0-9]+-?|-)$/.test(target.value)));
      if (!write) continue;
      const hit = writeTargetDanger(target.value);
      if (hit) this.addDanger(hit, text);
      const problem = writeTargetProblem(target, this.workspace, this.scope.cwd);
      if (problem) this.unsafeHere(`redirection ${r.operator} ${clip(target.text)}: ${problem}`);
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // expansions that evaluate code
  // ---------------------------------------------------------------------------------------------------

  private checkArithmetic(expr: ArithmeticExpression | undefined, text: string): void {
    if (!expr) {
      this.unsafeHere(`arithmetic ${clip(text)} could not be parsed`);
      return;
    }
    let assigns = false;
    const variables = new Set<string>();
    const walk = (node: SyntaxNode): void => {
      if (node.type === 'ArithmeticBinary' && ASSIGNMENT_OPERATORS.has(node.operator)) assigns = true;
      if (node.type === 'ArithmeticUnary' && (node.operator === '++' || node.operator === '--'))
        assigns = true;
      if (node.type === 'ArithmeticWord' && !isArithmeticLiteral(node.value)) variables.add(node.value);
      if (node.type === 'ArithmeticCommandExpansion') return;
      forEachChild(node, walk);
    };
    walk(expr);
    if (assigns) this.unsafeHere(`arithmetic ${clip(text)} assigns variables (side effect)`);
    if (variables.size > 0) {
      this.unsafeHere(
        `arithmetic ${clip(text)} evaluates ${[...variables].join(', ')} (a value like a[$(cmd)] runs commands)`,
      );
    }
  }

  private checkTest(expr: TestExpression): void {
    const walk = (node: SyntaxNode): void => {
      if (node.type === 'TestBinary' && ARITHMETIC_TEST_OPERATORS.has(node.operator)) {
        for (const side of [node.left, node.right]) {
          if (!isArithmeticLiteral(side.value) || !tokenOf(side).static) {
            this.unsafeHere(
              `[[ … ${node.operator} … ]] evaluates ${clip(side.text)} as arithmetic (a value like a[$(cmd)] runs commands)`,
            );
          }
        }
      }
      if (node.type === 'TestUnary' && node.operator === '-v') {
        const t = tokenOf(node.operand);
        if (!t.static || !IDENTIFIER.test(t.value))
          this.unsafeHere(`[[ -v ${clip(node.operand.text)} ]] evaluates an array subscript`);
      }
      forEachChild(node, walk);
    };
    walk(expr);
  }

  private checkParameterExpansion(pe: ParameterExpansionPart): void {
    if (pe.prefix === '!')
      this.unsafeHere(`indirect expansion ${clip(pe.text)} can evaluate a subscript held in a variable`);
    if (pe.index && !['@', '*'].includes(pe.index.value) && !isArithmeticLiteral(pe.index.value)) {
      this.unsafeHere(`array subscript in ${clip(pe.text)} is evaluated as arithmetic`);
    }
    const op = pe.operation;
    if (op?.type === 'Slice') {
      for (const w of [op.offset, op.length]) {
        if (w && !isArithmeticLiteral(w.value.replace(/^\s*-/, '')))
          this.unsafeHere(`substring offset in ${clip(pe.text)} is evaluated as arithmetic`);
      }
    }
    if (op?.type === 'Transform' && op.operand.value.includes('P'))
      this.unsafeHere(`${clip(pe.text)} prompt expansion runs command substitutions held in the variable`);
  }
}

// -----------------------------------------------------------------------------------------------------
// helpers
// -----------------------------------------------------------------------------------------------------

function clip(text: string, max = 120): string {
  const oneLine = text.replace(/\s*\n\s*/g, ' ⏎ ');
  return oneLine.length > max ? oneLine.slice(0, max - 1) + '…' : oneLine;
}

function staticToken(value: string): ArgToken {
  return { value, text: value, static: true, patterned: false, expanded: false };
}

/** A shell or interpreter reading its program from standard input somewhere inside `node` (`tee >(sh)`). */
function stdinRunnerIn(node: SyntaxNode): string | undefined {
  let found: string | undefined;
  const walk = (n: SyntaxNode): void => {
    if (found) return;
    if (n.type === 'ProcessSubstitution' && n.operator === '>' && n.script) {
      forEachChild(n.script, function inner(m: SyntaxNode): void {
        if (found) return;
        if (m.type === 'Command' && m.name) {
          const name = basename(m.name.value);
          const args = argTokens(m).map((a) => a.value);
          if (readsCodeFromStdin(name, args)) found = name;
        }
        forEachChild(m, inner);
      });
    }
    forEachChild(n, walk);
  };
  walk(node);
  return found;
}

/** Name of a downloader run anywhere in `node`, including inside command/process substitutions. */
function downloaderIn(word: SyntaxNode): string | undefined {
  let found: string | undefined;
  const walk = (node: SyntaxNode): void => {
    if (found) return;
    if (node.type === 'Command' && node.name) {
      const n = basename(node.name.value);
      if (DOWNLOADERS.has(n)) {
        found = n;
        return;
      }
    }
    forEachChild(node, walk);
  };
  walk(word);
  return found;
}

/** Output of `$(echo a b)` / `$(printf %s x)` with literal arguments, else undefined. */
function echoOutput(script: ParsedScript | undefined): string | undefined {
  if (!script || script.commands.length !== 1) return undefined;
  const c = script.commands[0].command;
  return c.type === 'Command' ? staticOutput(c) : undefined;
}

/** What makes a computed command name an obfuscation rather than an ordinary `$VAR`, if anything. */
function obfuscation(word: Word): string | undefined {
  let found: string | undefined;
  const walk = (parts: readonly WordPart[] | undefined): void => {
    for (const part of parts ?? []) {
      if (found) return;
      if (part.type === 'CommandExpansion' || part.type === 'ProcessSubstitution')
        found = 'a command substitution';
      else if (part.type === 'ArithmeticExpansion') found = 'an arithmetic expansion';
      else if (part.type === 'Glob' || part.type === 'ExtendedGlob') found = 'a glob';
      else if (part.type === 'BraceExpansion') found = 'a brace expansion';
      else if (
        (part.type === 'SimpleExpansion' || part.type === 'ParameterExpansion') &&
        /^\$\{?IFS\b/.test(part.text)
      )
        found = '${IFS}';
      else if (part.type === 'ParameterExpansion' && part.operation) found = 'a parameter transformation';
      else if (part.type === 'DoubleQuoted' || part.type === 'LocaleString') walk(part.parts);
    }
  };
  walk(word.parts);
  return found;
}

/** Cyrillic and Greek letters that look like Latin ones; NFKC handles full-width forms. */
const CONFUSABLES: Readonly<Record<string, string>> = {
  а: 'a',
  в: 'b',
  с: 'c',
  е: 'e',
  һ: 'h',
  і: 'i',
  ј: 'j',
  к: 'k',
  м: 'm',
  о: 'o',
  р: 'p',
  ѕ: 's',
  т: 't',
  х: 'x',
  у: 'y',
  ԁ: 'd',
  ɡ: 'g',
  ո: 'n',
  α: 'a',
  ε: 'e',
  ι: 'i',
  κ: 'k',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ν: 'v',
};

/** The ASCII name a non-ASCII command name imitates (`ｒｍ`, Cyrillic `сat`), else undefined. */
function lookalikeOf(name: string): string | undefined {
  const mapped = [...name.normalize('NFKC')]
    .map((ch) => CONFUSABLES[ch] ?? ch)
    .join('')
    .replace(/[\u200B-\u200F\u2060-\u2064\uFEFF]/g, '');
  return mapped !== name && /^[\x21-\x7E]+$/.test(mapped) ? mapped : undefined;
}

/** Decodes the escapes printf and echo -e understand (\xHH, \NNN, \n, \t, …). */
function decodeEscapes(text: string): string {
  return text.replace(/\\(x[0-9A-Fa-f]{1,2}|0?[0-7]{1,3}|[abefnrtv\\])/g, (_m, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return (
      (
        { a: '\x07', b: '\b', e: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' } as Record<
          string,
          string
        >
      )[e] ?? e
    );
  });
}

/** Applies a decoding pipeline stage (`base64 -d`, `rev`, `xxd -r -p`) to known input, else undefined. */
function decodeStage(cmd: Command, input: string): string | undefined {
  if (!cmd.name) return undefined;
  const name = basename(cmd.name.value);
  const args = argTokens(cmd).map((a) => a.value);
  try {
    if (name === 'base64' && args.some((a) => a === '-d' || a === '--decode' || a === '-D'))
      return Buffer.from(input.trim(), 'base64').toString('utf8');
    if (name === 'rev')
      return input
        .split('\n')
        .map((l) => [...l].reverse().join(''))
        .join('\n');
    if (name === 'xxd' && args.includes('-r') && args.includes('-p'))
      return Buffer.from(input.replace(/\s+/g, ''), 'hex').toString('utf8');
  } catch {
    return undefined;
  }
  return undefined;
}

/** What `echo …`, `printf …` or `cat <<EOF …` with literal input print, else undefined. */
function staticOutput(cmd: Command): string | undefined {
  if (!cmd.name) return undefined;
  const name = tokenOf(cmd.name);
  if (!name.static) return undefined;
  const base = basename(name.value);
  const args = argTokens(cmd);
  if (args.some((a) => !a.static)) return undefined;
  const values = args.map((a) => a.value);
  if (base === 'echo') {
    let escapes = false;
    while (values.length > 0 && /^-[neE]+$/.test(values[0]))
      escapes = escapes || (values.shift() as string).includes('e');
    return escapes ? decodeEscapes(values.join(' ')) : values.join(' ');
  }
  if (base === 'printf') {
    if (values[0] === '%s' || values[0] === '%s\\n' || values[0] === '%s\n') return values.slice(1).join('');
    return decodeEscapes(values.join(' '));
  }
  if (base === 'cat' && values.length === 0) {
    const here = cmd.redirects.find((r) => r.type === 'HereDoc' || r.type === 'HereString');
    if (here?.type === 'HereDoc') return here.body.text;
    if (here?.type === 'HereString') return here.target?.value;
  }
  return undefined;
}

/** A regular expression for a command name made of literal text and globs (`/???/r?`), else undefined. */
function globRegExp(word: Word): RegExp | undefined {
  if (!word.parts) return undefined;
  let re = '';
  for (const part of word.parts) {
    if (part.type === 'Literal' || part.type === 'SingleQuoted')
      re += part.value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (part.type === 'Glob' && part.kind === 'question') re += '[^/]';
    else if (part.type === 'Glob' && part.kind === 'star') re += '[^/]*';
    else if (part.type === 'Glob' && part.kind === 'bracket') re += part.text.replace(/^\[!/, '[^');
    else if (part.type === 'ExtendedGlob' && part.operator !== '!') {
      const alternatives = part.pattern
        .split('|')
        .map((alt) =>
          alt
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '[^/]*')
            .replace(/\?/g, '[^/]'),
        )
        .join('|');
      re += `(?:${alternatives})${{ '?': '?', '*': '*', '+': '+', '@': '' }[part.operator]}`;
    } else return undefined;
  }
  try {
    return new RegExp(`^${re}$`);
  } catch {
    return undefined;
  }
}
