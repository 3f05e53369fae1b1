import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { defaultLayoutFile, flows, inboundFlows, loadLayout, outboundFlows, parseLayout, sandboxAllowlistOf, sandboxAllowlistProblems, toPath, type Layout, LayoutError } from './index';

const text = readFileSync(defaultLayoutFile(), 'utf8');
const base = (): Layout => parseDocument(text).toJS() as Layout;
const problemsOf = (layout: unknown): string[] => {
  try {
    parseLayout(JSON.stringify(layout), 'test.yaml');
  } catch (error) {
    if (error instanceof LayoutError) return error.problems;
    throw error;
  }
  return [];
};

describe('vm-layout/layout.yaml', () => {
  it('is valid and has the three VMs and four networks', () => {
    const layout = loadLayout();
    expect(Object.keys(layout.vms).sort()).toEqual(['agent', 'nextcloud', 'ollama']);
    expect(Object.keys(layout.networks).sort()).toEqual(['admin', 'internet', 'operator', 'soc']);
  });

  it('holds the default flows of the issue', () => {
    const layout = loadLayout();
    const has = (from: string, to: string, port: number, protocol = 'tcp') =>
      layout.flows.some((f) => f.from === from && f.to === to && f.port === port && f.protocol === protocol);
    expect(has('operator', 'agent', 18443)).toBe(true); // gateway HTTPS
    expect(has('nextcloud', 'agent', 18788)).toBe(true); // channels webhook HTTPS
    expect(has('agent', 'nextcloud', 443)).toBe(true);
    expect(has('agent', 'ollama', 11434)).toBe(true);
    expect(has('soc', 'agent', 4222)).toBe(true); // NATS over TLS
    for (const vm of ['nextcloud', 'agent', 'ollama']) expect(has('admin', vm, 22)).toBe(true);
    expect(has('agent', 'internet', 443)).toBe(true);
    // Ollama: no egress at all; the internet reaches nothing.
    expect(layout.vms.ollama.egress).toBe('none');
    expect(layout.flows.filter((f) => f.from === 'ollama')).toEqual([]);
    expect(layout.flows.filter((f) => f.from === 'internet')).toEqual([]);
    // Nextcloud reaches neither NATS nor PostgreSQL nor the gateway.
    expect(layout.flows.filter((f) => f.from === 'nextcloud' && f.to === 'agent').map((f) => f.port)).toEqual([18788]);
    // Every Palisade service listening off-host terminates TLS.
    for (const service of layout.vms.agent.runs.filter((s) => s.bind === 'private' && s.name !== 'sshd')) expect(service.tls).toBe(true);
  });

  it('resolves the cloud flow only when an endpoint is configured', () => {
    const layout = loadLayout();
    expect(outboundFlows(layout, 'agent').some((f) => f.id === 'agent-cloud-models')).toBe(false);
    const withCloud = { ...layout, cloud_endpoints: [{ name: 'anthropic', host: 'api.anthropic.com', cidrs: ['203.0.113.7/32'] }] };
    const cloud = outboundFlows(withCloud, 'agent').find((f) => f.id === 'agent-cloud-models');
    expect(cloud?.targets).toEqual(['203.0.113.7/32']);
    expect(flows(layout).find((f) => f.id === 'agent-cloud-models')?.active).toBe(false);
    expect(inboundFlows(layout, 'ollama').map((f) => f.from).sort()).toEqual(['admin', 'agent']);
    expect(outboundFlows(layout, 'ollama')).toEqual([]);
  });
});

describe('sandbox egress: the proxy allowlist and the host firewall come from one list', () => {
  const withPypi = (): Layout => ({ ...loadLayout(), sandbox_egress: [{ name: 'pypi', host: 'PyPI.org', cidrs: ['151.101.0.223/32'] }] });

  it('opens agent → internet 443 only to the sandbox_egress addresses, and only when some are configured', () => {
    const shipped = loadLayout();
    expect(shipped.sandbox_egress).toEqual([]);
    expect(flows(shipped).find((f) => f.id === 'agent-sandbox-egress')).toMatchObject({ active: false, targets: [] });
    expect(sandboxAllowlistOf(shipped)).toBe('');
    const flow = outboundFlows(withPypi(), 'agent').find((f) => f.id === 'agent-sandbox-egress');
    expect(flow).toMatchObject({ port: 443, protocol: 'tcp', targets: ['151.101.0.223/32'], active: true });
    expect(sandboxAllowlistOf(withPypi())).toBe('pypi.org:443');
  });

  it('reports every disagreement between a configured allowlist and the layout', () => {
    const layout = withPypi();
    expect(sandboxAllowlistProblems(layout, 'pypi.org:443')).toEqual([]);
    expect(sandboxAllowlistProblems(layout, ' PYPI.ORG:443 ,')).toEqual([]);
    expect(sandboxAllowlistProblems(layout, 'pypi.org:443,evil.example:443')).toEqual([expect.stringMatching(/^evil\.example:443: not in the layout's sandbox_egress/)]);
    expect(sandboxAllowlistProblems(layout, 'pypi.org:8443')).toEqual([
      expect.stringMatching(/^pypi\.org:8443: the layout opens sandbox egress on port 443 only/),
      expect.stringMatching(/^pypi\.org: in the layout's sandbox_egress but not on the proxy allowlist/),
    ]);
    expect(sandboxAllowlistProblems(layout, '')).toEqual([expect.stringMatching(/^pypi\.org: in the layout's sandbox_egress but not on the proxy allowlist/)]);
    expect(sandboxAllowlistProblems(layout, 'pypi.org')).toEqual([expect.stringMatching(/is not host:port/), expect.anything()]);
    expect(sandboxAllowlistProblems(loadLayout(), undefined)).toEqual([]);
  });

  it('rejects a sandbox_egress entry that is not a CIDR list', () => {
    const layout = base() as unknown as Record<string, unknown>;
    layout.sandbox_egress = [{ name: 'pypi', host: 'pypi.org', cidrs: ['pypi.org'] }];
    expect(() => parseLayout(JSON.stringify(layout), 'test')).toThrow(/sandbox_egress\[0\]\.cidrs\[0\]/);
  });
});

describe('layout validation names the path of every problem', () => {
  it('rejects an unknown flow endpoint', () => {
    const layout = base();
    layout.flows[2].to = 'agnet';
    expect(problemsOf(layout)).toEqual([expect.stringMatching(/^flows\[2\]\.to: "agnet" is neither a VM nor a network/)]);
  });

  it('rejects a flow leaving a VM whose egress is none', () => {
    const layout = base();
    layout.flows.push({ id: 'ollama-out', from: 'ollama', to: 'internet', port: 443, protocol: 'tcp', why: 'download models at will' });
    expect(problemsOf(layout)).toContainEqual(expect.stringMatching(/^flows\[\d+\]\.from: vms\.ollama has egress: none/));
  });

  it('rejects a flow to a port nothing listens on, or to a loopback-only service', () => {
    const layout = base();
    layout.flows.push({ id: 'nc-pg', from: 'nextcloud', to: 'agent', port: 5432, protocol: 'tcp', why: 'reach the database directly' });
    layout.flows.push({ id: 'nc-x', from: 'nextcloud', to: 'agent', port: 9999, protocol: 'tcp', why: 'reach something else' });
    const problems = problemsOf(layout);
    expect(problems).toContainEqual(expect.stringMatching(/flows\[\d+\]\.port: vms\.agent service "postgres" binds loopback/));
    expect(problems).toContainEqual(expect.stringMatching(/flows\[\d+\]\.port: nothing on vms\.agent listens on tcp\/9999/));
  });

  it('rejects schema violations with their path', () => {
    const layout = base() as unknown as { vms: { agent: { address: string; extra?: number } }; flows: { protocol: string }[] };
    layout.vms.agent.address = '10.70.1.300';
    layout.vms.agent.extra = 1;
    layout.flows[0].protocol = 'sctp';
    const problems = problemsOf(layout);
    expect(problems).toContainEqual(expect.stringMatching(/^vms\.agent\.address: "10\.70\.1\.300" is not valid here/));
    expect(problems).toContainEqual('vms.agent: unknown key "extra"');
    expect(problems).toContainEqual(expect.stringMatching(/^flows\[0\]\.protocol: must be one of "tcp", "udp"/));
  });

  it('rejects a flow without a reason', () => {
    const layout = base();
    layout.flows.push({ ...layout.flows[0], why: '' });
    const problems = problemsOf(layout);
    expect(problems).toContainEqual(expect.stringMatching(/^flows\[\d+\]\.why: /));
  });

  it('rejects duplicate flow ids and addresses outside the private network', () => {
    const layout = base();
    layout.flows.push({ ...layout.flows[0] });
    layout.vms.ollama.address = '192.168.1.5';
    const problems = problemsOf(layout);
    expect(problems).toContainEqual(expect.stringMatching(/^flows\[\d+\]\.id: "operator-gateway" appears twice/));
    expect(problems).toContainEqual(expect.stringMatching(/^vms\.ollama\.address: 192\.168\.1\.5 is outside private_network\.cidr/));
  });

  it('reports YAML syntax errors and maps JSON pointers', () => {
    expect(() => parseLayout('version: 1\n  bad: [', 'x.yaml')).toThrow(LayoutError);
    expect(toPath('/flows/3/to')).toBe('flows[3].to');
    expect(toPath('')).toBe('(top level)');
  });
});
