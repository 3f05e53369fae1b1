// The sandbox egress allowlist has two halves that must agree: sandbox-exec's proxy allowlist
// (PALISADE_SANDBOX_EGRESS_ALLOWLIST, host:port pairs the proxy will CONNECT to) and the layout's
// sandbox_egress (the addresses the agent VM's firewall lets the proxy reach on 443). A host on the
// proxy's list but not in the layout is dropped by the host firewall; a layout entry missing from the
// proxy's list is an opening nobody uses. Both are reported, so neither side drifts silently.
import { egressAllowlistEntries, parseEgressEntry } from '@palisade/contracts';
import type { Layout } from './layout';

export const SANDBOX_EGRESS_PORT = 443;

/** The PALISADE_SANDBOX_EGRESS_ALLOWLIST value the layout implies ("" when sandboxes have no egress). */
export function sandboxAllowlistOf(layout: Layout): string {
  return layout.sandbox_egress.map((d) => `${d.host.toLowerCase()}:${SANDBOX_EGRESS_PORT}`).join(',');
}

/** Problems between a configured proxy allowlist and the layout; empty when they agree. */
export function sandboxAllowlistProblems(layout: Layout, allowlist: string | undefined): string[] {
  const inLayout = new Set(layout.sandbox_egress.map((d) => d.host.toLowerCase()));
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const raw of egressAllowlistEntries(allowlist ?? '')) {
    const entry = raw.toLowerCase();
    const parsed = parseEgressEntry(entry);
    if (!parsed) {
      problems.push(`${JSON.stringify(entry)} is not host:port`);
      continue;
    }
    const { host, port } = parsed;
    if (port !== SANDBOX_EGRESS_PORT) {
      problems.push(`${entry}: the layout opens sandbox egress on port ${SANDBOX_EGRESS_PORT} only, so the host firewall drops port ${port} (add a flow with your reason)`);
      continue;
    }
    seen.add(host);
    if (!inLayout.has(host)) problems.push(`${entry}: not in the layout's sandbox_egress, so the host firewall drops it (add { name, host: ${host}, cidrs } there)`);
  }
  for (const host of inLayout) {
    if (!seen.has(host)) problems.push(`${host}: in the layout's sandbox_egress but not on the proxy allowlist — an opening nobody uses (remove it, or add ${host}:${SANDBOX_EGRESS_PORT})`);
  }
  return problems;
}
