/**
 * The dangerous floor: commands that always ask (smart, always) or are denied (never, unless an allow rule
 * names the exact command). The analyser applies the argv rules to every simple command it can resolve —
 * including commands hidden behind wrappers (sudo, env, xargs, find -exec, …) and inside strings it parses
 * as shell (sh -c, eval, watch, ssh, piped or here-doc scripts). The raw rules are the fallback for text the
 * parser cannot see into: unparseable input, interpreter one-liners, awk programs that run commands, and
 * command names computed at run time.
 */
import { posix } from 'node:path';

export interface DangerHit {
  id: DangerId;
  reason: string;
}

/** Every floor pattern, with the plain reason shown to the approver. */
export const DANGER_CATALOG = {
  'rm-recursive-root': 'recursive delete of /, ~, $HOME, /* or a top-level system directory',
  'rm-no-preserve-root': 'rm --no-preserve-root disables the guard against deleting /',
  mkfs: 'creates or wipes a file system (mkfs, mke2fs, mkswap, wipefs)',
  'dd-device': 'dd writes straight onto a device',
  'dd-zero': 'dd from /dev/zero or /dev/random overwrites its target',
  'device-write': 'writes onto a raw disk or memory device',
  'fork-bomb': 'fork bomb: a function that keeps spawning copies of itself',
  'download-exec': 'downloads code and executes it',
  'git-force-push': 'git push --force rewrites remote history',
  'sql-drop': 'SQL DROP TABLE / DATABASE / SCHEMA',
  'sql-truncate': 'SQL TRUNCATE empties a table',
  'terraform-destroy': 'terraform destroy removes managed infrastructure',
  'chmod-root': 'recursive or world-writable permission change on / or a system directory',
  'chown-root': 'recursive ownership change on / or a system directory',
  'docker-prune': 'docker system/volume prune deletes containers, images or volumes',
  'docker-mass-remove': 'force-removes every container or image',
  'kubectl-delete-all': 'kubectl delete --all removes every resource of a kind',
  shutdown: 'shuts down or reboots the machine',
  'kill-all': 'kill -9 -1 kills every process the user can signal',
  'crontab-remove': 'crontab -r deletes the whole crontab',
  'history-wipe': 'wipes or disables shell history',
  'firewall-flush': 'flushes or disables the firewall',
  'env-injection': 'sets an environment variable that loads code or hijacks command lookup',
  'protected-file-write': 'writes to a shell start-up file, ~/.ssh or a system file',
  'obfuscated-command': 'the program to run is hidden behind a command substitution, glob or brace/IFS trick',
} as const;

export type DangerId = keyof typeof DANGER_CATALOG;

// ---------------------------------------------------------------------------------------------------------
// Environment variables
// ---------------------------------------------------------------------------------------------------------

/** Variables that make a program load code, change which program runs, or change how the shell parses. */
const DANGEROUS_ENV = new Set([
  'PATH',
  'CDPATH',
  'HOME',
  'ENV',
  'BASH_ENV',
  'IFS',
  'PS4',
  'PROMPT_COMMAND',
  'SHELLOPTS',
  'BASHOPTS',
  'NODE_OPTIONS',
  'NODE_PATH',
  'PYTHONPATH',
  'PYTHONSTARTUP',
  'PYTHONHOME',
  'PYTHONWARNINGS',
  'PERL5LIB',
  'PERL5OPT',
  'PERLLIB',
  'PERL5DB',
  'RUBYOPT',
  'RUBYLIB',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'JDK_JAVA_OPTIONS',
  'DOTNET_STARTUP_HOOKS',
  'GCONV_PATH',
  'LESSOPEN',
  'LESSCLOSE',
  'PAGER',
  'MANPAGER',
  'EDITOR',
  'VISUAL',
  'BROWSER',
  'SSH_ASKPASS',
  'SUDO_ASKPASS',
  'XDG_CONFIG_HOME',
  'RIPGREP_CONFIG_PATH',
  'AWKLIBPATH',
  'GREP_OPTIONS',
  'TAR_OPTIONS',
  'MANOPT',
  'SYSTEMD_PAGER',
  'PERL_MB_OPT',
  'PERL_MM_OPT',
  // bash's own tables: BASH_CMDS[ls]=/tmp/x makes `ls` run /tmp/x
  'BASH_CMDS',
  'BASH_ALIASES',
  'BASH_LOADABLES_PATH',
  'EXECIGNORE',
]);

/**
 * Environment variables a proven-safe command may be given (`LC_ALL=C sort`). Anything else is not proven
 * harmless: a program may read a configuration path, a pager or a plug-in from a variable the policy does
 * not know about.
 */
const HARMLESS_ENV =
  /^(?:LANG|LANGUAGE|LC_[A-Z]+|TZ|TERM|COLUMNS|LINES|NO_COLOR|FORCE_COLOR|CLICOLOR(?:_FORCE)?|COLORTERM|CI|LS_COLORS|GREP_COLORS?|TIME_STYLE|QUOTING_STYLE|BLOCK_SIZE|DU_BLOCK_SIZE|DF_BLOCK_SIZE|POSIXLY_CORRECT|TMPDIR|JQ_COLORS|TREE_COLORS)$/;

export function isHarmlessEnv(name: string): boolean {
  return HARMLESS_ENV.test(name);
}
const DANGEROUS_ENV_PREFIXES = ['LD_', 'DYLD_', 'GIT_', 'BASH_FUNC_'];
const HISTORY_ENV = new Set(['HISTFILE', 'HISTSIZE', 'HISTFILESIZE']);

/** Floor hit for setting `name` (as a prefix, via env, export or a plain assignment), or undefined. */
export function envAssignmentDanger(name: string, value: string): DangerHit | undefined {
  if (DANGEROUS_ENV.has(name) || DANGEROUS_ENV_PREFIXES.some((p) => name.startsWith(p))) {
    return {
      id: 'env-injection',
      reason: `dangerous environment variable ${name}= (can load code or hijack command lookup)`,
    };
  }
  if (HISTORY_ENV.has(name) && (value === '/dev/null' || value === '0' || value === '')) {
    return { id: 'history-wipe', reason: `${name}=${value} disables shell history` };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------------------

const SYSTEM_DIRS = new Set([
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib32',
  '/lib64',
  '/opt',
  '/proc',
  '/root',
  '/sbin',
  '/srv',
  '/sys',
  '/usr',
  '/var',
]);
const HOME_FORM = /^(?:~|\$HOME|\$\{HOME\})(?=\/|$)(.*)$/;

/** `/`, `/*`, `~`, `$HOME/*`, `/tmp/..`, `/etc`, … — a target whose recursive deletion wrecks the system. */
export function isRootLike(value: string): boolean {
  if (/^~[A-Za-z_][\w.-]*\/?(?:\*|\.\*)?$/.test(value)) return true; // ~user: someone's home directory
  const home = HOME_FORM.exec(value);
  if (home) {
    const rest = posix.normalize('/' + home[1]).replace(/\/+$/, '');
    return rest === '' || rest === '/*' || rest === '/.*';
  }
  if (!value.startsWith('/')) return false;
  let norm = posix.normalize(value);
  if (norm.length > 1) norm = norm.replace(/\/+$/, '');
  if (norm === '/' || norm === '/*' || norm === '/.*') return true;
  return SYSTEM_DIRS.has(norm.replace(/\/\*$/, ''));
}

const BLOCK_DEVICE =
  /^\/dev\/(?:sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme[0-9]|mmcblk[0-9]|md[0-9]|dm-[0-9]|mapper\/|disk\/|loop[0-9]|sr[0-9]|fd[0-9]|mem$|kmem$|port$|root$)/;

export function isBlockDevice(value: string): boolean {
  return BLOCK_DEVICE.test(posix.normalize(value));
}

const SHELL_STARTUP = new Set([
  '.bashrc',
  '.bash_profile',
  '.bash_login',
  '.bash_logout',
  '.profile',
  '.zshrc',
  '.zprofile',
  '.zshenv',
  '.zlogin',
  '.kshrc',
  '.mkshrc',
  '.inputrc',
  '.gitconfig',
  '.npmrc',
  '.pam_environment',
]);
const HISTORY_FILE =
  /^(?:\.(?:bash|zsh|sh|ksh|python|mysql|psql|node_repl|sqlite)_history|\.history|\.local\/share\/fish\/fish_history)$/;

/** Path relative to a home directory (`~/x`, `$HOME/x`, `/root/x`, `/home/u/x`), or undefined. */
function homeRelative(value: string): string | undefined {
  const home = HOME_FORM.exec(value);
  if (home) return posix.normalize('/' + home[1]).slice(1);
  if (!value.startsWith('/')) return undefined;
  const norm = posix.normalize(value);
  const m = /^\/(?:root|home\/[^/]+)\/(.+)$/.exec(norm);
  return m ? m[1] : undefined;
}

/** Floor hit for writing to (or truncating) `value`, or undefined. */
export function writeTargetDanger(value: string): DangerHit | undefined {
  if (isBlockDevice(value)) return { id: 'device-write', reason: `writes onto device ${value}` };
  const rel = homeRelative(value);
  if (rel !== undefined) {
    if (HISTORY_FILE.test(rel)) return { id: 'history-wipe', reason: `overwrites shell history ${value}` };
    if (
      SHELL_STARTUP.has(rel) ||
      rel === '.ssh' ||
      rel.startsWith('.ssh/') ||
      rel.startsWith('.config/autostart')
    ) {
      return { id: 'protected-file-write', reason: `writes to ${value} (shell start-up file or SSH keys)` };
    }
  }
  if (value.startsWith('/')) {
    const norm = posix.normalize(value);
    if (/^\/(?:etc|boot|usr|bin|sbin|lib|lib64)(?:\/|$)/.test(norm)) {
      return { id: 'protected-file-write', reason: `writes to system file ${value}` };
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// SQL
// ---------------------------------------------------------------------------------------------------------

export const SQL_CLIENTS = new Set([
  'psql',
  'mysql',
  'mariadb',
  'sqlite3',
  'sqlite',
  'duckdb',
  'clickhouse-client',
  'cockroach',
  'sqlcmd',
  'mongosh',
]);

export function sqlDangers(text: string): DangerHit[] {
  const hits: DangerHit[] = [];
  const drop = /\bDROP\s+(TABLE|DATABASE|SCHEMA)\b/i.exec(text);
  if (drop) hits.push({ id: 'sql-drop', reason: `SQL DROP ${drop[1].toUpperCase()}` });
  if (/\bTRUNCATE\s+(?:TABLE\s+)?[A-Za-z_"`[]/i.test(text))
    hits.push({ id: 'sql-truncate', reason: 'SQL TRUNCATE empties a table' });
  return hits;
}

// ---------------------------------------------------------------------------------------------------------
// argv rules
// ---------------------------------------------------------------------------------------------------------

/** Options (before `--`) and operands. Good enough for the commands below, none of whose floor checks depend on option values. */
function split(args: readonly string[]): { options: string[]; operands: string[] } {
  const options: string[] = [];
  const operands: string[] = [];
  let ended = false;
  for (const a of args) {
    if (!ended && a === '--') ended = true;
    else if (!ended && a.length > 1 && a.startsWith('-')) options.push(a);
    else operands.push(a);
  }
  return { options, operands };
}

function hasShort(options: readonly string[], letters: string): boolean {
  return options.some((o) => /^-[A-Za-z0-9]+$/.test(o) && [...letters].some((l) => o.includes(l)));
}

/** git's subcommand and its arguments, skipping global options. */
export function gitSubcommand(args: readonly string[]): {
  sub: string | undefined;
  rest: string[];
  globals: string[];
} {
  const globals: string[] = [];
  let i = 0;
  while (i < args.length && args[i].startsWith('-')) {
    const a = args[i];
    globals.push(a);
    if (
      (a === '-C' ||
        a === '-c' ||
        a === '--git-dir' ||
        a === '--work-tree' ||
        a === '--namespace' ||
        a === '--config-env') &&
      i + 1 < args.length
    ) {
      globals.push(args[i + 1]);
      i += 2;
    } else i += 1;
  }
  return { sub: args[i], rest: args.slice(i + 1), globals };
}

const WORLD_WRITABLE_MODE = /^(?:0?777|[ugoa]*\+rwx|[ugoa]*=rwx|a\+w|o\+w)$/;

/** Floor hits for one resolved simple command: `name` is the program's basename, `args` its words after quote removal. */
export function argvDangers(name: string, args: readonly string[]): DangerHit[] {
  const hits: DangerHit[] = [];
  const { options, operands } = split(args);
  const writeTargets = (targets: readonly string[]): void => {
    for (const t of targets) {
      const hit = writeTargetDanger(t);
      if (hit) hits.push(hit);
    }
  };

  if (name.startsWith('mkfs') || name === 'mke2fs' || name === 'mkswap' || name === 'wipefs') {
    hits.push({ id: 'mkfs', reason: `${name} creates or wipes a file system` });
  }
  if (SQL_CLIENTS.has(name)) hits.push(...sqlDangers(args.join(' ')));

  switch (name) {
    case 'rm': {
      const recursive =
        hasShort(options, 'rR') || options.some((o) => o === '--recursive' || o.startsWith('--recursive='));
      if (options.includes('--no-preserve-root'))
        hits.push({ id: 'rm-no-preserve-root', reason: DANGER_CATALOG['rm-no-preserve-root'] });
      for (const t of operands) {
        if (recursive && isRootLike(t))
          hits.push({ id: 'rm-recursive-root', reason: `recursive delete of ${t}` });
        const rel = homeRelative(t);
        if (rel !== undefined && HISTORY_FILE.test(rel))
          hits.push({ id: 'history-wipe', reason: `deletes shell history ${t}` });
      }
      break;
    }
    case 'find': {
      const roots: string[] = [];
      for (const a of args) {
        if (a.startsWith('-') || a === '(' || a === '!') break;
        roots.push(a);
      }
      const execRm = args.some(
        (a, i) => /^-(?:exec|execdir|ok|okdir)$/.test(a) && /(?:^|\/)(?:rm|shred)$/.test(args[i + 1] ?? ''),
      );
      if (args.includes('-delete') || execRm) {
        for (const r of roots)
          if (isRootLike(r))
            hits.push({
              id: 'rm-recursive-root',
              reason: `recursive delete of ${r} (find ${execRm ? '-exec rm' : '-delete'})`,
            });
      }
      break;
    }
    case 'dd':
      for (const a of args) {
        if (a.startsWith('of=')) {
          const target = a.slice(3);
          if (target.startsWith('/dev/') && !/^\/dev\/(?:null|stdout|stderr|fd\/)/.test(target)) {
            hits.push({ id: 'dd-device', reason: `dd writes onto device ${target}` });
          } else {
            const hit = writeTargetDanger(target);
            if (hit) hits.push(hit);
          }
        }
        if (/^if=\/dev\/(?:zero|u?random)$/.test(a))
          hits.push({ id: 'dd-zero', reason: `dd from ${a.slice(3)} overwrites its target` });
      }
      break;
    case 'shred':
    case 'truncate':
    case 'tee':
      writeTargets(operands);
      break;
    case 'cp':
    case 'mv':
    case 'install':
    case 'ln': {
      const t = options.find((o) => o.startsWith('--target-directory='));
      if (t) writeTargets([t.slice('--target-directory='.length)]);
      else if (operands.length >= 2) writeTargets([operands[operands.length - 1]]);
      break;
    }
    case 'sed':
      if (options.some((o) => /^-[A-Za-z]*i/.test(o) || o.startsWith('--in-place'))) writeTargets(operands);
      break;
    case 'git': {
      const { sub, rest } = gitSubcommand(args);
      if (sub === 'push') {
        const force = rest.some(
          (a) =>
            a === '--force' ||
            a.startsWith('--force-with-lease') ||
            a === '--force-if-includes' ||
            /^-[A-Za-z]*f[A-Za-z]*$/.test(a),
        );
        const plus = split(rest).operands.find((a) => a.startsWith('+') || a.includes(':+'));
        if (force) hits.push({ id: 'git-force-push', reason: 'git push --force rewrites remote history' });
        else if (plus)
          hits.push({ id: 'git-force-push', reason: `git push ${plus} force-pushes (+refspec)` });
      }
      break;
    }
    case 'terraform':
    case 'tofu':
    case 'terragrunt': {
      const positional = args.filter((a) => !a.startsWith('-'));
      const sub = positional[0];
      if (
        sub === 'destroy' ||
        ((sub === 'apply' || sub === 'plan') && args.some((a) => a === '-destroy' || a === '--destroy'))
      ) {
        if (sub !== 'plan')
          hits.push({
            id: 'terraform-destroy',
            reason: `${name} ${sub}${sub === 'apply' ? ' -destroy' : ''} removes managed infrastructure`,
          });
      }
      break;
    }
    case 'chmod':
    case 'chown':
    case 'chgrp': {
      const recursive = hasShort(options, 'R') || options.includes('--recursive');
      const [modeOrOwner, ...targets] = operands;
      for (const t of targets) {
        if (!isRootLike(t)) continue;
        if (recursive) {
          hits.push({
            id: name === 'chmod' ? 'chmod-root' : 'chown-root',
            reason: `recursive ${name} on ${t}`,
          });
        } else if (name === 'chmod' && WORLD_WRITABLE_MODE.test(modeOrOwner ?? '')) {
          hits.push({ id: 'chmod-root', reason: `chmod ${modeOrOwner} on ${t} makes it world-writable` });
        }
      }
      break;
    }
    case 'docker':
    case 'podman': {
      const positional = args.filter((a) => !a.startsWith('-'));
      if ((positional[0] === 'system' || positional[0] === 'volume') && positional[1] === 'prune') {
        hits.push({
          id: 'docker-prune',
          reason: `${name} ${positional[0]} prune deletes unused containers, images or volumes`,
        });
      }
      if (
        (positional[0] === 'rm' || positional[0] === 'rmi') &&
        hasShort(options, 'f') &&
        args.some((a) =>
          /\$\(\s*(?:docker|podman)\s+(?:ps|images)\b|`\s*(?:docker|podman)\s+(?:ps|images)\b/.test(a),
        )
      ) {
        hits.push({
          id: 'docker-mass-remove',
          reason: `${name} ${positional[0]} -f on every container/image`,
        });
      }
      break;
    }
    case 'kubectl':
    case 'oc':
      if (
        args.includes('delete') &&
        args.some((a) => a === '--all' || a === '-A' || a === '--all-namespaces')
      ) {
        hits.push({
          id: 'kubectl-delete-all',
          reason: `${name} delete --all removes every resource of that kind`,
        });
      }
      break;
    case 'shutdown':
    case 'reboot':
    case 'halt':
    case 'poweroff':
      hits.push({ id: 'shutdown', reason: `${name} stops the machine` });
      break;
    case 'init':
    case 'telinit':
      if (operands[0] === '0' || operands[0] === '6')
        hits.push({ id: 'shutdown', reason: `${name} ${operands[0]} stops the machine` });
      break;
    case 'systemctl':
      if (args.some((a) => /^(?:poweroff|reboot|halt|kexec|soft-reboot)$/.test(a)))
        hits.push({ id: 'shutdown', reason: 'systemctl stops the machine' });
      break;
    case 'kill':
      if (args.length >= 2 && args.slice(1).includes('-1') && /^-(?:9|KILL|SIGKILL|s)$/.test(args[0])) {
        hits.push({ id: 'kill-all', reason: DANGER_CATALOG['kill-all'] });
      }
      break;
    case 'crontab':
      if (hasShort(options, 'r') || options.includes('--remove'))
        hits.push({ id: 'crontab-remove', reason: DANGER_CATALOG['crontab-remove'] });
      break;
    case 'history':
      if (hasShort(options, 'c'))
        hits.push({ id: 'history-wipe', reason: 'history -c clears shell history' });
      break;
    case 'unset':
      if (operands.includes('HISTFILE'))
        hits.push({ id: 'history-wipe', reason: 'unset HISTFILE disables shell history' });
      break;
    case 'set':
      if (args.join(' ').includes('+o history'))
        hits.push({ id: 'history-wipe', reason: 'set +o history disables shell history' });
      break;
    case 'iptables':
    case 'ip6tables':
    case 'iptables-legacy':
    case 'iptables-nft':
    case 'ip6tables-legacy':
    case 'ip6tables-nft':
      if (options.some((o) => o === '-F' || o === '--flush' || /^-[A-Za-z]*F$/.test(o)))
        hits.push({ id: 'firewall-flush', reason: `${name} -F flushes the firewall rules` });
      break;
    case 'nft':
      if (/\bflush\s+ruleset\b/.test(args.join(' ')))
        hits.push({ id: 'firewall-flush', reason: 'nft flush ruleset removes every firewall rule' });
      break;
    case 'ufw':
      if (operands[0] === 'disable' || operands[0] === 'reset')
        hits.push({ id: 'firewall-flush', reason: `ufw ${operands[0]} turns the firewall off` });
      break;
  }
  return hits;
}

// ---------------------------------------------------------------------------------------------------------
// Raw-text fallback
// ---------------------------------------------------------------------------------------------------------

const END = String.raw`(?=$|[\s;&|)\]},])`;
const HOME_OR_ROOT = String.raw`(?:\/(?:\*|\.)?|~\/?\*?|\$\{?HOME\}?\/?\*?)`;
/** A bounded stretch within one command: keeps every rule linear in the length of the text. */
const SAME_COMMAND = '[^;&|\\n]{0,300}';

interface RawRule {
  id: DangerId;
  reason: string;
  re: RegExp;
  /** Extra condition on the match (keeps the regular expression itself free of nested quantifiers). */
  accept?: (m: RegExpExecArray) => boolean;
}

/** Regular expressions for text the parser cannot see into; applied after {@link normalizeForRawScan}. */
export const RAW_RULES: readonly RawRule[] = [
  {
    id: 'rm-recursive-root',
    reason: 'recursive delete of / or ~',
    re: new RegExp(String.raw`\brm((?:\s+-[\w-]+){1,20})\s+(?:--\s+)?${HOME_OR_ROOT}${END}`, 'g'),
    accept: (m) => /\s-(?:[a-zA-Z]*[rR][a-zA-Z]*|-recursive)(?=\s|$)/.test(m[1] + ' '),
  },
  {
    id: 'rm-recursive-root',
    reason: 'recursive delete of / or ~ (Python shutil.rmtree)',
    re: /\brmtree\(\s*(?:\/|~|os\.path\.expanduser\(\s*~\s*\))\s*[,)]/,
  },
  { id: 'rm-no-preserve-root', reason: DANGER_CATALOG['rm-no-preserve-root'], re: /--no-preserve-root\b/ },
  { id: 'mkfs', reason: DANGER_CATALOG.mkfs, re: /\b(?:mkfs(?:\.\w+)?|mke2fs|mkswap|wipefs)\b/ },
  {
    id: 'dd-device',
    reason: DANGER_CATALOG['dd-device'],
    re: new RegExp(String.raw`\bdd\b${SAME_COMMAND}\bof=\/dev\/(?!null\b|stdout\b|stderr\b|fd\/)`),
  },
  {
    id: 'dd-zero',
    reason: DANGER_CATALOG['dd-zero'],
    re: new RegExp(String.raw`\bdd\b${SAME_COMMAND}\bif=\/dev\/(?:zero|u?random)\b`),
  },
  {
    id: 'device-write',
    reason: DANGER_CATALOG['device-write'],
    re: />\s*\/dev\/(?:sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme[0-9]|mmcblk[0-9])/,
  },
  {
    id: 'fork-bomb',
    reason: DANGER_CATALOG['fork-bomb'],
    re: /(?<![\w:.])([\w:.]{1,40})\s*\(\)\s*\{[^}]{0,200}?\1\s*\|\s*\1\s*&/,
  },
  {
    id: 'fork-bomb',
    reason: DANGER_CATALOG['fork-bomb'],
    re: /\bfork\s+while\s+fork\b|while\s*(?:True|1)\s*:\s*os\.fork\(\)|while\s*\(\s*1\s*\)\s*\{?\s*fork\(\)/,
  },
  {
    id: 'download-exec',
    reason: DANGER_CATALOG['download-exec'],
    re: /\b(?:curl|wget|fetch)\b[^|;&\n]{0,300}\|\s*(?:sudo\s+(?:-\w+\s+){0,5})?(?:(?:ba|da|z|k|a)?sh|python[0-9.]*|perl|ruby|node|php)\b/,
  },
  {
    id: 'download-exec',
    reason: DANGER_CATALOG['download-exec'],
    re: /\b(?:(?:ba|da|z|k)?sh|source|\.)\s+<\(\s*(?:curl|wget|fetch)\b/,
  },
  {
    id: 'download-exec',
    reason: DANGER_CATALOG['download-exec'],
    re: /\b(?:(?:ba|da|z|k)?sh\s+-\w*c|eval)\s+(?:\$\(|`)\s*(?:curl|wget|fetch)\b/,
  },
  {
    id: 'download-exec',
    reason: DANGER_CATALOG['download-exec'],
    re: /\b(?:exec|eval)\s*\([^)]{0,300}\b(?:urlopen|urlretrieve|requests\.get|httpx\.get|fetch)\b/,
  },
  {
    id: 'git-force-push',
    reason: DANGER_CATALOG['git-force-push'],
    re: new RegExp(
      String.raw`\bgit\b${SAME_COMMAND}\spush\b${SAME_COMMAND}?(?:\s-[a-zA-Z]*f[a-zA-Z]*\b|\s--force(?:-with-lease)?\b|\s\+[\w/.-]+)`,
    ),
  },
  { id: 'sql-drop', reason: DANGER_CATALOG['sql-drop'], re: /\bDROP\s+(?:TABLE|DATABASE|SCHEMA)\b/i },
  {
    id: 'sql-truncate',
    reason: DANGER_CATALOG['sql-truncate'],
    re: /\bTRUNCATE\s+(?:TABLE\s+)?[A-Za-z_"`[]/i,
  },
  {
    id: 'terraform-destroy',
    reason: DANGER_CATALOG['terraform-destroy'],
    re: new RegExp(
      String.raw`\b(?:terraform|tofu|terragrunt)\b${SAME_COMMAND}\s(?:destroy\b|apply\b${SAME_COMMAND}\s-destroy\b)`,
    ),
  },
  {
    id: 'chmod-root',
    reason: DANGER_CATALOG['chmod-root'],
    re: new RegExp(
      String.raw`\bchmod((?:\s+-[\w-]+){0,20})\s+(?:0?777|a\+rwx|[^\s-]\S{0,40})\s+\/\*?${END}`,
      'g',
    ),
    accept: (m) =>
      /\s-[a-zA-Z]*R/.test(m[1]) || /\s(?:0?777|a\+rwx)\s+\/\*?$/.test(m[0].replace(/[\s;&|)\]},]*$/, '')),
  },
  {
    id: 'chown-root',
    reason: DANGER_CATALOG['chown-root'],
    re: new RegExp(String.raw`\bchown((?:\s+-[\w-]+){1,20})\s+[^\s-]\S{0,60}\s+\/\*?${END}`, 'g'),
    accept: (m) => /\s-[a-zA-Z]*R|\s--recursive/.test(m[1]),
  },
  {
    id: 'docker-prune',
    reason: DANGER_CATALOG['docker-prune'],
    re: /\b(?:docker|podman)\s+(?:system|volume)\s+prune\b/,
  },
  {
    id: 'docker-mass-remove',
    reason: DANGER_CATALOG['docker-mass-remove'],
    re: /\b(?:docker|podman)\s+rmi?(?:\s+-\w+){0,5}\s+(?:\$\(|`)\s*(?:docker|podman)\s+(?:ps|images)\b/,
  },
  {
    id: 'kubectl-delete-all',
    reason: DANGER_CATALOG['kubectl-delete-all'],
    re: new RegExp(
      String.raw`\bkubectl\b${SAME_COMMAND}\bdelete\b${SAME_COMMAND}(?:--all\b|--all-namespaces\b|\s-A\b)`,
    ),
  },
  {
    id: 'shutdown',
    reason: DANGER_CATALOG.shutdown,
    re: /(?:^|[\s;&|(])(?:shutdown|reboot|halt|poweroff)(?=$|[\s;&|)])|\b(?:tel)?init\s+[06]\b|\bsystemctl\s+(?:poweroff|reboot|halt|kexec)\b/,
  },
  {
    id: 'kill-all',
    reason: DANGER_CATALOG['kill-all'],
    re: /\bkill\s+-(?:9|KILL|SIGKILL|s\s+KILL)\s+(?:--\s+)?-1\b/,
  },
  {
    id: 'crontab-remove',
    reason: DANGER_CATALOG['crontab-remove'],
    re: /\bcrontab(?:\s+-\w+){0,5}?\s+-[a-z]*r\b/,
  },
  {
    id: 'history-wipe',
    reason: DANGER_CATALOG['history-wipe'],
    re: /\bhistory\s+-[a-z]*c\b|\bunset\s+HISTFILE\b|\bHISTFILE=\/dev\/null\b|\bHISTSIZE=0\b|>\s*\S{0,100}\.bash_history\b/,
  },
  {
    id: 'firewall-flush',
    reason: DANGER_CATALOG['firewall-flush'],
    re: new RegExp(
      String.raw`\bip6?tables(?:-legacy|-nft)?\b${SAME_COMMAND}\s(?:-F|--flush)\b|\bnft\s+flush\s+ruleset\b|\bufw\s+(?:disable|reset)\b`,
    ),
  },
  {
    id: 'env-injection',
    reason: DANGER_CATALOG['env-injection'],
    re: /(?:^|[\s;&|(])(?:LD_[A-Z_]+|DYLD_[A-Z_]+|PATH|NODE_OPTIONS|BASH_ENV|ENV|PYTHONPATH|PYTHONSTARTUP|PERL5LIB|PERL5OPT|RUBYOPT|GIT_[A-Z_]+|IFS|PS4|PROMPT_COMMAND|BASH_FUNC_\S+)=/,
  },
  {
    id: 'protected-file-write',
    reason: DANGER_CATALOG['protected-file-write'],
    re: />>?\s*(?:~|\$HOME|\$\{HOME\})\/\.(?:bashrc|bash_profile|profile|zshrc|ssh\/)|>>?\s*\/etc\/|\btee(?:\s+-\w+){0,5}\s+(?:~|\$HOME)\/\.(?:bashrc|bash_profile|profile|zshrc|ssh\/)/,
  },
];

/**
 * Undoes the cheap obfuscations before the raw scan: `${IFS}` and `$IFS` become spaces, backslash escapes
 * and quote characters disappear (`r''m`, `\rm`, `"rm"` all read `rm`), runs of blanks collapse.
 */
export function normalizeForRawScan(text: string): string {
  return text
    .replace(/\\\n/g, '')
    .replace(/\$\{IFS[^}]*\}|\$IFS\b/g, ' ')
    .replace(/\\(.)/g, '$1')
    .replace(/['"]/g, '')
    .replace(/[ \t]+/g, ' ');
}

/**
 * Rules precise enough to apply to the arguments of programs the policy does not model (`vim -c`,
 * `docker exec … sh -c`, `kubectl exec -- …`), where prose such as a commit message may also appear.
 */
const STRICT_IDS = new Set<DangerId>([
  'rm-recursive-root',
  'rm-no-preserve-root',
  'mkfs',
  'dd-device',
  'fork-bomb',
  'download-exec',
  'chmod-root',
  'chown-root',
]);

export function rawDangers(text: string, strict = false): DangerHit[] {
  const norm = normalizeForRawScan(text);
  const hits: DangerHit[] = [];
  for (const rule of RAW_RULES) {
    if (strict && !STRICT_IDS.has(rule.id)) continue;
    if (rule.accept) {
      rule.re.lastIndex = 0;
      for (let m = rule.re.exec(norm); m; m = rule.re.exec(norm)) {
        if (rule.accept(m)) {
          hits.push({ id: rule.id, reason: rule.reason });
          break;
        }
      }
    } else if (rule.re.test(norm)) hits.push({ id: rule.id, reason: rule.reason });
  }
  return hits;
}
