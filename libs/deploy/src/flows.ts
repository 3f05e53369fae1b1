// Flows resolved to addresses: what each rule of each VM's firewall is made of.
import type { Layout, LayoutFlow, Protocol } from './layout';

export interface ResolvedFlow {
  id: string;
  from: string;
  to: string;
  /** The service listening at the destination, when the destination is a VM. */
  service?: string;
  port: number;
  protocol: Protocol;
  why: string;
  /** Source addresses (the VM's address, or the network's CIDRs). */
  sources: string[];
  /** Destination addresses (the VM's address, the network's CIDRs, or the named destination list). */
  targets: string[];
  /** False when the flow names a destination list that is empty (e.g. no cloud endpoint configured). */
  active: boolean;
  /** Where the flow is enforced: the source VM's egress filter and/or the destination VM's ingress filter. */
  egressOf?: string;
  ingressOf?: string;
}

function addressesOf(layout: Layout, name: string): string[] {
  const vm = layout.vms[name];
  if (vm) return [vm.address];
  return layout.networks[name].cidrs;
}

function destinationList(layout: Layout, flow: LayoutFlow): string[] {
  switch (flow.destinations) {
    case 'cloud_endpoints':
      return layout.cloud_endpoints.flatMap((endpoint) => endpoint.cidrs);
    case 'sandbox_egress':
      return layout.sandbox_egress.flatMap((destination) => destination.cidrs);
    case 'dns_resolvers':
      return layout.dns_resolvers;
    case 'ntp_servers':
      return layout.ntp_servers;
    default:
      return addressesOf(layout, flow.to);
  }
}

export function flows(layout: Layout): ResolvedFlow[] {
  return layout.flows.map((flow) => {
    const targets = destinationList(layout, flow);
    return {
      id: flow.id,
      from: flow.from,
      to: flow.to,
      ...(flow.service ? { service: flow.service } : {}),
      port: flow.port,
      protocol: flow.protocol,
      why: flow.why,
      sources: addressesOf(layout, flow.from),
      targets,
      active: targets.length > 0,
      ...(layout.vms[flow.from] ? { egressOf: flow.from } : {}),
      ...(layout.vms[flow.to] ? { ingressOf: flow.to } : {}),
    };
  });
}

/** Flows a VM must let in (it is the destination). */
export const inboundFlows = (layout: Layout, vm: string): ResolvedFlow[] => flows(layout).filter((f) => f.active && f.ingressOf === vm);
/** Flows a VM may start (it is the source). */
export const outboundFlows = (layout: Layout, vm: string): ResolvedFlow[] => flows(layout).filter((f) => f.active && f.egressOf === vm);
