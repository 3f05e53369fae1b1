// The sandbox egress allowlist format (PALISADE_SANDBOX_EGRESS_ALLOWLIST): `host:port` entries separated
// by commas or white space, hosts case-insensitive. One definition for sandbox-exec, which enforces it,
// and for `palisade layout sandbox-allowlist --check`, which compares it with the layout.
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):([0-9]{1,5})$/;

/** The entries of an allowlist text, trimmed, empty ones dropped (not yet validated). */
export function egressAllowlistEntries(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((entry) => entry.trim())
    .filter(Boolean);
}

/** One entry as lower-case host and port, or undefined when it is not host:port (port 1–65535). */
export function parseEgressEntry(entry: string): { host: string; port: number } | undefined {
  const match = HOST_PORT.exec(entry);
  const port = match ? Number(match[3]) : 0;
  if (!match || port < 1 || port > 65535) return undefined;
  return { host: match[1].toLowerCase(), port };
}

/** Parses an allowlist (`host:port, host:port`); throws naming the first bad entry. */
export function parseEgressAllowlist(text: string): string[] {
  const entries = egressAllowlistEntries(text);
  for (const entry of entries) {
    if (!parseEgressEntry(entry)) throw new Error(`egress allowlist entry ${JSON.stringify(entry)} is not host:port`);
  }
  return entries.map((entry) => entry.toLowerCase());
}
