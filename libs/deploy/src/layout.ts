// The VM layout (vm-layout/layout.yaml): load, validate against vm-layout/layout.schema.json, then
// check what a schema cannot (cross-references between VMs, networks, services and flows).
// Every error names the path in the file it is about, e.g. `flows[3].to`.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';

export type Protocol = 'tcp' | 'udp';
export type DestinationList = 'cloud_endpoints' | 'sandbox_egress' | 'dns_resolvers' | 'ntp_servers';

export interface LayoutNetwork {
  description: string;
  cidrs: string[];
}

export interface LayoutService {
  name: string;
  kind: 'palisade' | 'infrastructure' | 'third-party';
  port?: number;
  protocol?: Protocol;
  /** private: listens on the VM's address (reachable only through flows); loopback: 127.0.0.1; none: no listener. */
  bind: 'private' | 'loopback' | 'none';
  tls?: boolean;
}

export interface LayoutVm {
  description: string;
  address: string;
  compose_profile: string;
  /** none: the VM starts no connection at all (only replies to allowed inbound flows leave it). */
  egress: 'restricted' | 'none';
  runs: LayoutService[];
}

export interface CloudEndpoint {
  name: string;
  host: string;
  cidrs: string[];
}

export interface LayoutFlow {
  id: string;
  from: string;
  to: string;
  service?: string;
  port: number;
  protocol: Protocol;
  destinations?: DestinationList;
  why: string;
}

export interface Layout {
  version: 1;
  private_network: { cidr: string };
  networks: Record<string, LayoutNetwork>;
  cloud_endpoints: CloudEndpoint[];
  /** Where the sandbox's egress proxy may connect (HTTPS); the same hosts as PALISADE_SANDBOX_EGRESS_ALLOWLIST. */
  sandbox_egress: CloudEndpoint[];
  dns_resolvers: string[];
  ntp_servers: string[];
  vms: Record<string, LayoutVm>;
  flows: LayoutFlow[];
}

export class LayoutError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: invalid layout\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'LayoutError';
  }
}

/** The repository's vm-layout directory, found from this file (works from src and from dist). */
export function layoutDir(): string {
  let dir = __dirname;
  while (dir !== dirname(dir)) {
    if (existsSync(join(dir, 'vm-layout', 'layout.schema.json'))) return join(dir, 'vm-layout');
    dir = dirname(dir);
  }
  return resolve('vm-layout');
}

export const defaultLayoutFile = (): string => join(layoutDir(), 'layout.yaml');

let compiled: ReturnType<Ajv['compile']> | undefined;
function schemaValidator(): ReturnType<Ajv['compile']> {
  if (!compiled) {
    const schema = JSON.parse(readFileSync(join(layoutDir(), 'layout.schema.json'), 'utf8'));
    compiled = new Ajv({ allErrors: true, strict: true, strictRequired: false, verbose: true }).compile(schema);
  }
  return compiled;
}

/** `/flows/3/to` → `flows[3].to`. */
export function toPath(pointer: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let out = '';
  for (const part of parts) out += /^\d+$/.test(part) ? `[${part}]` : out ? `.${part}` : part;
  return out || '(top level)';
}

function describeSchemaError(error: ErrorObject): string {
  const path = toPath(error.instancePath);
  switch (error.keyword) {
    case 'additionalProperties':
      return `${path}: unknown key "${(error.params as { additionalProperty: string }).additionalProperty}"`;
    case 'required':
      return `${path}: missing "${(error.params as { missingProperty: string }).missingProperty}"`;
    case 'enum':
      return `${path}: must be one of ${((error.params as { allowedValues: unknown[] }).allowedValues ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern':
      return `${path}: ${JSON.stringify(error.data)} is not valid here (must match ${(error.params as { pattern: string }).pattern})`;
    default:
      return `${path}: ${error.message}`;
  }
}

export function ipv4ToInt(address: string): number {
  return address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function cidrContains(cidr: string, address: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (bits === 0) return true;
  const mask = bits === 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
  return ((ipv4ToInt(base) & mask) >>> 0) === ((ipv4ToInt(address) & mask) >>> 0);
}

/** Cross-reference checks the schema cannot express. Returns problems; empty means valid. */
export function checkLayout(layout: Layout): string[] {
  const problems: string[] = [];
  const vmNames = Object.keys(layout.vms);
  const netNames = Object.keys(layout.networks);
  for (const name of vmNames) {
    if (layout.networks[name]) problems.push(`vms.${name}: also a network name; VM and network names must differ`);
  }
  const addresses = new Map<string, string>();
  const profiles = new Map<string, string>();
  for (const [name, vm] of Object.entries(layout.vms)) {
    if (!cidrContains(layout.private_network.cidr, vm.address)) {
      problems.push(`vms.${name}.address: ${vm.address} is outside private_network.cidr ${layout.private_network.cidr}`);
    }
    const other = addresses.get(vm.address);
    if (other) problems.push(`vms.${name}.address: ${vm.address} is already vms.${other}.address`);
    addresses.set(vm.address, name);
    const otherProfile = profiles.get(vm.compose_profile);
    if (otherProfile) problems.push(`vms.${name}.compose_profile: "${vm.compose_profile}" is already used by vms.${otherProfile}`);
    profiles.set(vm.compose_profile, name);
    const seen = new Map<string, number>();
    vm.runs.forEach((service, i) => {
      if (service.port === undefined) return;
      const key = `${service.protocol}/${service.port}`;
      if (seen.has(key)) problems.push(`vms.${name}.runs[${i}].port: ${key} is already taken by vms.${name}.runs[${seen.get(key)}]`);
      seen.set(key, i);
    });
    const names = new Set<string>();
    vm.runs.forEach((service, i) => {
      if (names.has(service.name)) problems.push(`vms.${name}.runs[${i}].name: "${service.name}" appears twice`);
      names.add(service.name);
    });
  }
  const ids = new Set<string>();
  layout.flows.forEach((flow, i) => {
    const at = `flows[${i}]`;
    if (ids.has(flow.id)) problems.push(`${at}.id: "${flow.id}" appears twice`);
    ids.add(flow.id);
    const known = `known: ${[...vmNames, ...netNames].join(', ')}`;
    const fromVm = layout.vms[flow.from];
    const toVm = layout.vms[flow.to];
    if (!fromVm && !layout.networks[flow.from]) problems.push(`${at}.from: "${flow.from}" is neither a VM nor a network (${known})`);
    if (!toVm && !layout.networks[flow.to]) problems.push(`${at}.to: "${flow.to}" is neither a VM nor a network (${known})`);
    if (flow.from === flow.to) problems.push(`${at}: from and to are both "${flow.from}"`);
    if (!fromVm && !toVm && layout.networks[flow.from] && layout.networks[flow.to]) {
      problems.push(`${at}: a flow between two networks (${flow.from} → ${flow.to}) is enforced by no VM`);
    }
    if (fromVm?.egress === 'none') {
      problems.push(`${at}.from: vms.${flow.from} has egress: none, so no flow may start from it`);
    }
    if (toVm) {
      const service = toVm.runs.find((s) => s.port === flow.port && s.protocol === flow.protocol);
      if (!service) {
        problems.push(`${at}.port: nothing on vms.${flow.to} listens on ${flow.protocol}/${flow.port} (see vms.${flow.to}.runs)`);
      } else {
        if (service.bind !== 'private') {
          problems.push(`${at}.port: vms.${flow.to} service "${service.name}" binds ${service.bind}, so ${flow.protocol}/${flow.port} is not reachable from another host`);
        }
        if (flow.service && flow.service !== service.name) {
          problems.push(`${at}.service: "${flow.service}" does not match "${service.name}", which listens on ${flow.protocol}/${flow.port} on vms.${flow.to}`);
        }
      }
      if (flow.destinations) problems.push(`${at}.destinations: only for flows to a network, not to vms.${flow.to}`);
    } else if (flow.service && layout.networks[flow.to]) {
      problems.push(`${at}.service: only for flows to a VM`);
    }
  });
  return problems;
}

/** Parse and fully validate layout text. Throws LayoutError listing every problem with its path. */
export function parseLayout(text: string, source = 'layout.yaml'): Layout {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) throw new LayoutError(source, doc.errors.map((e) => e.message.split('\n')[0]));
  const data: unknown = doc.toJS();
  const validate = schemaValidator();
  if (!validate(data)) throw new LayoutError(source, (validate.errors ?? []).map(describeSchemaError));
  const layout = data as Layout;
  const problems = checkLayout(layout);
  if (problems.length) throw new LayoutError(source, problems);
  return layout;
}

export function loadLayout(file = defaultLayoutFile()): Layout {
  return parseLayout(readFileSync(file, 'utf8'), file);
}
