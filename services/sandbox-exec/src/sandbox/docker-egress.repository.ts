// Egress allowlist enforced at the network layer. A sandbox whose grant names the egress network sits
// on an `internal: true` Docker network (no NAT to the outside). The only other member is the egress
// proxy container, attached to that network and to one outside network; it relays only to
// allowlisted host:port pairs (egress-proxy.script.ts). Each refusal the proxy reports is handed to
// onDenied (sandbox-exec appends `exec.egress.denied`). An internal network alone is not enough: it
// still routes to the host (gateway, docker0) and between peers, and Docker drops the rest unaudited.
//
// What the proxy never sees — a direct connection, UDP, ICMP, DNS to an outside resolver, the host
// through the bridge gateway or docker0's address, a peer container on the same network — is dropped
// and recorded by the bridge's nftables table (egress-firewall.ts), installed by start() and read
// by drain(). Sandboxes on the network get the proxy as their DNS server: its sink answers REFUSED
// and reports each queried name to onDns. Without nft, or if the table cannot be installed, start()
// and drain() throw: egress runs fail closed.
//
// The proxy runs the sandbox image itself (python3), hardened like a sandbox: user 10001, read-only
// root, no capabilities, no-new-privileges, small limits, no log driver (its output — which names what
// a command tried to reach — is read live over attach and never written to disk by Docker).
import type Docker from 'dockerode';
import { DockerFrameDemuxer } from './exec-output';
import { EGRESS_DNS_PORT, EGRESS_PROXY_PORT, EGRESS_PROXY_SCRIPT } from './egress-proxy.script';
import { type EgressDrain, NftEgressFirewall, removeStaleEgressTables } from './egress-firewall';
import { SandboxFailedError, SandboxUnavailableError } from './sandbox.errors';
import type { SandboxLogger } from './sandbox.types';

/** Name under which sandboxes on the egress network reach the proxy. */
export const EGRESS_PROXY_ALIAS = 'egress-proxy';
const MIB = 1024 * 1024;

export interface EgressDenial {
  reason: 'not_allowlisted' | 'malformed';
  destination: string;
  method?: string;
  client?: string;
}

export interface EgressDnsQuery {
  client: string;
  name: string;
  qtype: number;
}

export interface DockerEgressOptions {
  docker: Docker;
  /** The internal network sandboxes with egress join (what a grant's limits.network names). */
  network: string;
  /** The outside network the proxy also joins (e.g. `bridge`). */
  upstreamNetwork: string;
  /** Allowed destinations, `host:port` each. */
  allow: readonly string[];
  /** The sandbox runner's instance labels, so a crashed instance's proxy is cleaned up as an orphan. */
  labels: Record<string, string>;
  onDenied: (denial: EgressDenial) => void;
  /** A name a sandbox asked the proxy's DNS sink for (answered REFUSED). */
  onDns?: (query: EgressDnsQuery) => void;
  /** The nft binary (default `nft` on PATH). */
  nft?: string;
  /** Entries per denied set of the bridge's table. */
  deniedSetSize?: number;
  logger?: SandboxLogger;
}

// The allowlist format is shared with the layout check: libs/contracts egress-allowlist.
export { parseEgressAllowlist } from '@palisade/contracts';

/** Container environment of sandboxes on the egress network: where the proxy is. */
export function egressProxyEnv(): string[] {
  const url = `http://${EGRESS_PROXY_ALIAS}:${EGRESS_PROXY_PORT}`;
  return [
    `http_proxy=${url}`,
    `https_proxy=${url}`,
    `HTTP_PROXY=${url}`,
    `HTTPS_PROXY=${url}`,
    'no_proxy=localhost,127.0.0.1',
    'NO_PROXY=localhost,127.0.0.1',
  ];
}

const statusOf = (error: unknown): number | undefined => (error as { statusCode?: number })?.statusCode;
const messageOf = (error: unknown): string =>
  (error as { json?: { message?: string } })?.json?.message ??
  (error instanceof Error ? error.message : String(error));

export class DockerEgressRepository {
  private container?: Docker.Container;
  private attached?: NodeJS.ReadableStream & { destroy?: () => void };
  private running = false;
  private closed = false;
  private firewall?: NftEgressFirewall;
  private proxyIp?: string;
  private draining: Promise<unknown> = Promise.resolve();
  private readonly logger: SandboxLogger;

  constructor(private readonly options: DockerEgressOptions) {
    this.logger = options.logger ?? { warn: () => undefined };
  }

  get network(): string {
    return this.options.network;
  }

  get proxyName(): string {
    return `${this.options.network}-proxy`;
  }

  /** The proxy's address on the egress network (sandboxes' DNS server), once started. */
  get proxyAddress(): string | undefined {
    return this.proxyIp;
  }

  /** The nftables table guarding the egress bridge, once installed. */
  get table(): string | undefined {
    return this.firewall?.table;
  }

  /** Creates (or reuses) the internal network and starts the proxy; resolves once it listens. */
  async start(imageId: string): Promise<void> {
    const { docker, network, upstreamNetwork, allow, labels } = this.options;
    await this.ensureInternalNetwork();
    try {
      await docker.getNetwork(upstreamNetwork).inspect();
    } catch (error) {
      if (statusOf(error) === 404)
        throw new SandboxFailedError(`egress upstream network ${upstreamNetwork} does not exist`);
      throw this.wrap('inspect the upstream network', error);
    }
    // A proxy left by an earlier instance of this service: this one takes over.
    await this.removeProxy();
    const container = await docker.createContainer({
      name: this.proxyName,
      Image: imageId,
      Entrypoint: ['python3'],
      Cmd: ['-c', EGRESS_PROXY_SCRIPT, String(EGRESS_PROXY_PORT), String(EGRESS_DNS_PORT), ...allow],
      User: '10001:10001',
      WorkingDir: '/tmp',
      Env: ['PYTHONDONTWRITEBYTECODE=1'],
      Labels: { ...labels, 'palisade.role': 'egress-proxy', 'palisade.egress.network': network },
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      OpenStdin: false,
      Tty: false,
      HostConfig: {
        NetworkMode: network,
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=8388608' },
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges:true'],
        Privileged: false,
        Memory: 128 * MIB,
        MemorySwap: 128 * MIB,
        NanoCpus: 500_000_000,
        PidsLimit: 64,
        // The DNS sink listens on port 53 as user 10001 without capabilities (this netns only).
        Sysctls: { 'net.ipv4.ip_unprivileged_port_start': String(EGRESS_DNS_PORT) },
        LogConfig: { Type: 'none', Config: {} },
        RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
        AutoRemove: false,
      },
      NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [EGRESS_PROXY_ALIAS] } } },
    });
    this.container = container;
    try {
      await docker.getNetwork(upstreamNetwork).connect({ Container: container.id });
      const stream = (await container.attach({
        stream: true,
        stdout: true,
        stderr: true,
      })) as NodeJS.ReadableStream & {
        destroy?: () => void;
      };
      this.attached = stream;
      const ready = this.follow(stream);
      await container.start();
      await ready;
    } catch (error) {
      await this.removeProxy();
      throw this.wrap('start the egress proxy', error);
    }
    // The packet filter, before any sandbox can join: fail closed if it cannot be installed.
    const [proxyInfo, networkInfo] = await Promise.all([
      container.inspect(),
      docker.getNetwork(network).inspect() as Promise<{ Id: string; Options?: Record<string, string> }>,
    ]).catch((error: unknown) => {
      throw this.wrap('inspect the egress proxy', error);
    });
    const proxyIp = proxyInfo.NetworkSettings?.Networks?.[network]?.IPAddress;
    if (!proxyIp) throw new SandboxFailedError(`the egress proxy has no address on ${network}`);
    const bridge =
      networkInfo.Options?.['com.docker.network.bridge.name'] ?? `br-${networkInfo.Id.slice(0, 12)}`;
    const firewall = new NftEgressFirewall({
      bridge,
      proxyAddress: proxyIp,
      proxyPort: EGRESS_PROXY_PORT,
      dnsPort: EGRESS_DNS_PORT,
      setSize: this.options.deniedSetSize,
      nft: this.options.nft,
    });
    await this.serialized(async () => {
      await removeStaleEgressTables(this.options.nft).catch(() => []);
      await firewall.install();
    });
    this.firewall = firewall;
    this.proxyIp = proxyIp;
    this.running = true;
  }

  /**
   * Reads and clears what the bridge's table dropped since the last drain, putting the table back
   * first if it went missing. Throws when the table is not in place and cannot be (fail closed).
   */
  drain(): Promise<EgressDrain> {
    return this.serialized(async () => {
      if (!this.firewall || !this.running)
        throw new SandboxFailedError(`egress firewall for ${this.options.network} is not installed`);
      const result = await this.firewall.drain();
      if (result.restored)
        this.logger.warn(`nftables table ${this.firewall.table} was missing and has been installed again`);
      return result;
    });
  }

  /** Addresses of the egress network's members → container ids. */
  async addresses(): Promise<Map<string, string>> {
    const info = (await this.options.docker.getNetwork(this.options.network).inspect()) as {
      Containers?: Record<string, { IPv4Address?: string; IPv6Address?: string }>;
    };
    const map = new Map<string, string>();
    for (const [id, endpoint] of Object.entries(info.Containers ?? {})) {
      const v4 = endpoint.IPv4Address?.split('/')[0];
      const v6 = endpoint.IPv6Address?.split('/')[0];
      if (v4) map.set(v4, id);
      if (v6) map.set(v6, id);
    }
    return map;
  }

  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const next = this.draining.then(task, task);
    this.draining = next.catch(() => undefined);
    return next;
  }

  /** Id of the container holding `address` on the egress network, if any. */
  async containerAt(address: string): Promise<string | undefined> {
    const info = (await this.options.docker.getNetwork(this.options.network).inspect()) as {
      Containers?: Record<string, { IPv4Address?: string; IPv6Address?: string }>;
    };
    for (const [id, endpoint] of Object.entries(info.Containers ?? {})) {
      const v4 = endpoint.IPv4Address?.split('/')[0];
      const v6 = endpoint.IPv6Address?.split('/')[0];
      if (address === v4 || address === v6) return id;
    }
    return undefined;
  }

  async health(): Promise<{ ok: boolean; detail: string }> {
    if (!this.running || !this.container)
      return { ok: false, detail: `egress proxy ${this.proxyName} is not running` };
    try {
      const info = await this.container.inspect();
      if (!info.State?.Running) return { ok: false, detail: `egress proxy ${this.proxyName} stopped` };
      return {
        ok: true,
        detail: `network ${this.options.network} (internal) via ${this.proxyName}; allow ${this.options.allow.join(', ')}`,
      };
    } catch (error) {
      return { ok: false, detail: `egress proxy: ${messageOf(error)}` };
    }
  }

  /** Removes the proxy and, once no container uses it any more, the internal network. */
  async close(): Promise<void> {
    this.closed = true;
    this.running = false;
    this.attached?.destroy?.();
    await this.removeProxy();
    let gone = true;
    try {
      await this.options.docker.getNetwork(this.options.network).remove();
    } catch (error) {
      const status = statusOf(error);
      if (status !== 404) {
        gone = false;
        this.logger.warn(`egress network ${this.options.network} not removed: ${messageOf(error)}`);
      }
    }
    // The filter stays as long as the bridge it guards does.
    const firewall = this.firewall;
    if (gone && firewall) await this.serialized(() => firewall.remove()).catch(() => undefined);
  }

  private async ensureInternalNetwork(): Promise<void> {
    const { docker, network, labels } = this.options;
    try {
      const info = await docker.getNetwork(network).inspect();
      // Never put sandboxes on a network that has a way out, or one this service did not make.
      if (!info.Internal || info.Labels?.['palisade.managed'] !== 'true')
        throw new SandboxFailedError(
          `Docker network ${network} exists but is not an internal network managed by Palisade; refusing to use it for egress`,
        );
      return;
    } catch (error) {
      if (statusOf(error) !== 404) throw this.wrap('inspect the egress network', error);
    }
    try {
      await docker.createNetwork({
        Name: network,
        Driver: 'bridge',
        Internal: true,
        CheckDuplicate: true,
        Labels: { ...labels, 'palisade.role': 'egress-network' },
      });
    } catch (error) {
      throw this.wrap('create the egress network', error);
    }
  }

  private async removeProxy(): Promise<void> {
    const { docker } = this.options;
    try {
      const info = await docker.getContainer(this.proxyName).inspect();
      if (info.Config?.Labels?.['palisade.managed'] !== 'true')
        throw new SandboxFailedError(`container ${this.proxyName} exists and is not Palisade's`);
      await docker.getContainer(info.Id).remove({ force: true, v: true });
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw this.wrap('remove the old egress proxy', error);
    }
  }

  /** Reads the proxy's JSON lines; resolves when it reports `ready`, rejects if it ends first. */
  private follow(stream: NodeJS.ReadableStream): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let buffered = '';
      let ready = false;
      const timer = setTimeout(
        () => reject(new SandboxFailedError('the egress proxy did not start within 20 s')),
        20_000,
      );
      const demux = new DockerFrameDemuxer((name, payload) => {
        if (name === 'stderr') {
          this.logger.warn(`egress proxy: ${payload.toString('utf8').slice(0, 500).trim()}`);
          return;
        }
        buffered += payload.toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          let record: Record<string, unknown>;
          try {
            record = JSON.parse(line) as Record<string, unknown>;
          } catch {
            continue;
          }
          if (record.event === 'ready' && !ready) {
            ready = true;
            clearTimeout(timer);
            resolve();
          } else if (record.event === 'dns') {
            if (typeof record.client === 'string' && typeof record.name === 'string')
              this.options.onDns?.({
                client: record.client,
                name: record.name,
                qtype: typeof record.qtype === 'number' ? record.qtype : 0,
              });
          } else if (record.event === 'denied') {
            const reason = record.reason === 'malformed' ? 'malformed' : 'not_allowlisted';
            const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
            this.options.onDenied({
              reason,
              destination: str(record.destination) ?? '',
              method: str(record.method),
              client: str(record.client),
            });
          }
        }
        if (buffered.length > 64 * 1024) buffered = ''; // a runaway line is not ours
      });
      stream.on('data', (data: Buffer) => demux.push(data));
      const ended = (): void => {
        clearTimeout(timer);
        if (!ready) reject(new SandboxFailedError('the egress proxy exited before it was ready'));
        else if (!this.closed) {
          this.running = false;
          this.logger.warn(`egress proxy ${this.proxyName} stopped; egress runs will fail`);
        }
      };
      stream.once('end', ended);
      stream.once('close', ended);
      stream.once('error', ended);
    });
  }

  private wrap(what: string, error: unknown): Error {
    if (error instanceof SandboxFailedError || error instanceof SandboxUnavailableError) return error;
    const code = (error as { code?: string })?.code;
    if (code && /^E[A-Z]+$/.test(code))
      return new SandboxUnavailableError(`Docker is unreachable (${code}) while trying to ${what}`, {
        cause: error,
      });
    return new SandboxFailedError(`Docker failed to ${what}: ${messageOf(error)}`, { cause: error });
  }
}
