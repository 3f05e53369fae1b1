/**
 * Conservative readers for the small languages some safe-list commands embed: sed scripts and awk programs.
 * They do not interpret the language; they answer one question — can this script run a command or write a
 * file? — and answer "yes" whenever unsure.
 */

const SED_SIMPLE = new Set([
  'p',
  'P',
  'd',
  'D',
  'n',
  'N',
  'g',
  'G',
  'h',
  'H',
  'x',
  '=',
  'l',
  'z',
  'F',
  '{',
  '}',
]);

/** Returns why a sed script may run a command or write a file (e, w, W, s///e, s///w), or undefined. */
export function sedScriptProblem(script: string): string | undefined {
  const s = script;
  let i = 0;
  const n = s.length;
  const skipBlank = (): void => {
    while (i < n && /[\s;]/.test(s[i])) i++;
  };
  const readDelimited = (delim: string): boolean => {
    // reads up to an unescaped delim; returns false when unterminated
    while (i < n) {
      const c = s[i];
      if (c === '\\') {
        i += 2;
        continue;
      }
      if (c === '\n' && delim !== '\n') return false;
      i++;
      if (c === delim) return true;
    }
    return false;
  };
  const readAddress = (): boolean => {
    if (/[0-9]/.test(s[i] ?? '')) {
      while (i < n && /[0-9~]/.test(s[i])) i++;
    } else if (s[i] === '$') {
      i++;
    } else if (s[i] === '/' || s[i] === '\\') {
      let delim = '/';
      if (s[i] === '\\') {
        delim = s[i + 1] ?? '';
        i += 2;
      } else i++;
      if (!readDelimited(delim)) return false;
      while (i < n && /[IM]/.test(s[i])) i++;
    }
    return true;
  };
  const toLineEnd = (): void => {
    while (i < n && s[i] !== '\n') i++;
  };
  const skipSpaces = (): void => {
    while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
  };

  while (true) {
    skipBlank();
    if (i >= n) return undefined;
    if (s[i] === '#') {
      toLineEnd();
      continue;
    }
    if (!readAddress()) return 'sed script could not be read';
    skipSpaces();
    if (s[i] === ',') {
      i++;
      skipSpaces();
      if (s[i] === '+' || s[i] === '~') i++;
      if (!readAddress()) return 'sed script could not be read';
      skipSpaces();
    }
    if (s[i] === '!') {
      i++;
      skipSpaces();
    }
    const cmd = s[i];
    i++;
    if (cmd === undefined) return 'sed script ends after an address';
    if (SED_SIMPLE.has(cmd)) continue;
    switch (cmd) {
      case 'q':
      case 'Q':
      case 'L':
        while (i < n && /[0-9 ]/.test(s[i])) i++;
        continue;
      case 'b':
      case 't':
      case 'T':
      case ':':
        while (i < n && s[i] !== '\n' && s[i] !== ';') i++;
        continue;
      case 'a':
      case 'i':
      case 'c':
      case 'r':
      case 'R':
        // text to append/insert/change, or a file to read: both harmless
        toLineEnd();
        continue;
      case 'w':
      case 'W':
        return `sed command ${cmd} writes a file`;
      case 'e':
        return 'sed command e runs a shell command';
      case 's':
      case 'y': {
        const delim = s[i];
        if (!delim || delim === '\n' || delim === '\\') return 'sed script could not be read';
        i++;
        if (!readDelimited(delim) || !readDelimited(delim)) return 'sed script could not be read';
        if (cmd === 'y') continue;
        while (i < n && /[gpiImM0-9ew]/.test(s[i])) {
          if (s[i] === 'w') return 'sed s///w writes a file';
          if (s[i] === 'e') return 'sed s///e runs the pattern space as a shell command';
          i++;
        }
        continue;
      }
      default:
        return `sed command ${JSON.stringify(cmd)} is not understood`;
    }
  }
}

/** Removes awk string literals so that `>` or `|` inside text is not taken for a redirection. */
function stripAwkStrings(program: string): string {
  return program.replace(/"(?:[^"\\\n]|\\.)*"/g, '""');
}

/** Returns why an awk program may run a command or write a file, or undefined. */
export function awkProgramProblem(program: string): string | undefined {
  const code = stripAwkStrings(program);
  if (/\bsystem\s*\(/.test(code)) return 'awk program calls system()';
  if (/@\s*(?:load|include|namespace)\b/.test(code)) return 'awk program loads an extension or include file';
  if (/@[A-Za-z_]\w*\s*\(/.test(code))
    return 'awk program makes an indirect function call (@f() can call system)';
  if (/\/inet[46]?\//.test(program)) return 'awk program opens a network connection (/inet special file)';
  if (/\|&?/.test(code.replace(/\|\|/g, '')))
    return 'awk program pipes to or from a command (| getline, print | "cmd")';
  for (const statement of code.split(/[;{}\n]/)) {
    if (/\bprintf?\b/.test(statement) && />/.test(statement))
      return 'awk print redirects output to a file (print > file)';
  }
  return undefined;
}
