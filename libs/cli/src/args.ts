/** Minimal `--flag value` / `--flag` parser: unknown flags are an error, never silently ignored. */
export function parseArgs(args: string[], spec: Record<string, 'string' | 'boolean'>): { flags: Record<string, string | boolean>; positional: string[] } {
  const flags: Record<string, string | boolean> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    const kind = spec[name];
    if (!kind) throw new Error(`unknown option --${name}`);
    if (kind === 'boolean') flags[name] = true;
    else {
      const value = inline ?? args[++i];
      if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
      flags[name] = value;
    }
  }
  return { flags, positional };
}
