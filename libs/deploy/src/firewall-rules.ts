// The cloud-firewall rules of each VM as terraform/modules/firewall derives them from the layout
// (a mirror: the Terraform test evaluates the module with `terraform console` and compares).
import type { Layout } from './layout';
import { flows } from './flows';

export interface CloudFirewallRule {
  direction: 'in' | 'out';
  protocol: 'tcp' | 'udp';
  port: string;
  source_ips: string[];
  destination_ips: string[];
  description: string;
}

const cidr = (value: string): string => (value.includes('/') ? value : `${value}/32`);

export function cloudFirewallRules(layout: Layout): Record<string, CloudFirewallRule[]> {
  const all = flows(layout);
  return Object.fromEntries(
    Object.entries(layout.vms).map(([name, vm]) => [
      name,
      [
        ...all
          .filter((f) => f.to === name)
          .map((f) => ({ direction: 'in' as const, protocol: f.protocol, port: String(f.port), source_ips: f.sources.map(cidr), destination_ips: [], description: f.id })),
        ...all
          .filter((f) => f.from === name && vm.egress !== 'none' && f.targets.length > 0)
          .map((f) => ({ direction: 'out' as const, protocol: f.protocol, port: String(f.port), source_ips: [], destination_ips: f.targets.map(cidr), description: f.id })),
      ],
    ]),
  );
}
