// A small lab of Linux network namespaces for proving the layout with real traffic: one namespace per
// VM and per outside network, each joined by a veth pair to a router namespace (a Linux bridge for the
// VMs' private network, one routed link per outside network). Names carry a random prefix so parallel
// runs never collide; destroy() removes every namespace (and with it every veth, table and process
// bound to it) even after a failure. Needs root, iproute2 and nft.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface WorkerReply {
  ok: boolean;
  detail?: string;
}

export class NsWorker {
  private next = 1;
  private readonly pending = new Map<number, (reply: WorkerReply) => void>();
  private constructor(
    readonly ns: string,
    private readonly child: ChildProcess,
  ) {}

  static async start(ns: string, name: string, cwd: string): Promise<NsWorker> {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, join(__dirname, 'netns-worker.js'), name], {
      cwd,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const worker = new NsWorker(ns, child);
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`worker in ${ns} exited (${code})`)));
      lines.on('line', (line) => {
        const message = JSON.parse(line) as WorkerReply & { id?: number; ready?: boolean };
        if (message.ready) return resolve();
        const done = message.id !== undefined ? worker.pending.get(message.id) : undefined;
        if (done) {
          worker.pending.delete(message.id!);
          done(message);
        }
      });
    });
    return worker;
  }

  call(command: Record<string, unknown>): Promise<WorkerReply> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.stdin!.write(`${JSON.stringify({ id, ...command })}\n`);
    });
  }

  stop(): void {
    this.child.stdin?.end();
    this.child.kill('SIGKILL');
  }
}

export async function ipNetns(ns: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('ip', ['netns', 'exec', ns, ...args]);
  return stdout;
}

export interface LabHost {
  /** Namespace name. */
  ns: string;
  address: string;
}

export class NetnsLab {
  readonly prefix = `pz${randomBytes(2).toString('hex')}`;
  readonly router: string;
  readonly hosts = new Map<string, LabHost>();
  private readonly created: string[] = [];
  private readonly processes: ChildProcess[] = [];

  constructor() {
    this.router = `${this.prefix}-router`;
  }

  nsOf(name: string): string {
    return `${this.prefix}-${name}`;
  }

  private async addNs(ns: string): Promise<void> {
    await run('ip', ['netns', 'add', ns]);
    this.created.push(ns);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  async createRouter(bridgeCidr: string): Promise<void> {
    await this.addNs(this.router);
    await run('ip', ['-n', this.router, 'link', 'add', 'br0', 'type', 'bridge']);
    await run('ip', ['-n', this.router, 'addr', 'add', bridgeCidr, 'dev', 'br0']);
    await run('ip', ['-n', this.router, 'link', 'set', 'br0', 'up']);
    await ipNetns(this.router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  }

  /** A host on the router's bridge (a VM on the private network). */
  async addBridged(name: string, cidr: string, gateway: string): Promise<LabHost> {
    const ns = this.nsOf(name);
    await this.addNs(ns);
    const veth = `v-${name}`.slice(0, 15);
    await run('ip', ['-n', this.router, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await run('ip', ['-n', this.router, 'link', 'set', veth, 'master', 'br0', 'up']);
    await this.configure(ns, cidr, gateway);
    const host = { ns, address: cidr.split('/')[0] };
    this.hosts.set(name, host);
    return host;
  }

  /** A host on its own routed link (an outside network). `extra` addresses are added to its eth0 and routed to it. */
  async addRouted(name: string, cidr: string, routerCidr: string, extra: string[] = []): Promise<LabHost> {
    const ns = this.nsOf(name);
    await this.addNs(ns);
    const veth = `v-${name}`.slice(0, 15);
    await run('ip', ['-n', this.router, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await run('ip', ['-n', this.router, 'addr', 'add', routerCidr, 'dev', veth]);
    await run('ip', ['-n', this.router, 'link', 'set', veth, 'up']);
    await this.configure(ns, cidr, routerCidr.split('/')[0]);
    for (const address of extra) {
      await run('ip', ['-n', ns, 'addr', 'add', `${address}/32`, 'dev', 'eth0']);
      await run('ip', ['-n', this.router, 'route', 'add', `${address}/32`, 'via', cidr.split('/')[0]]);
    }
    const host = { ns, address: cidr.split('/')[0] };
    this.hosts.set(name, host);
    return host;
  }

  async defaultRouteVia(name: string): Promise<void> {
    await run('ip', ['-n', this.router, 'route', 'add', 'default', 'via', this.hosts.get(name)!.address]);
  }

  /** A namespace behind `parent` on a veth named `ifname` in the parent (e.g. docker0: a container). */
  async addContainer(name: string, parentName: string, ifname: string, parentCidr: string, cidr: string): Promise<LabHost> {
    const ns = this.nsOf(name);
    const parent = this.hosts.get(parentName)!.ns;
    await this.addNs(ns);
    await run('ip', ['-n', parent, 'link', 'add', ifname, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await run('ip', ['-n', parent, 'addr', 'add', parentCidr, 'dev', ifname]);
    await run('ip', ['-n', parent, 'link', 'set', ifname, 'up']);
    await ipNetns(parent, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    await this.configure(ns, cidr, parentCidr.split('/')[0]);
    const host = { ns, address: cidr.split('/')[0] };
    this.hosts.set(name, host);
    return host;
  }

  private async configure(ns: string, cidr: string, gateway: string): Promise<void> {
    await run('ip', ['-n', ns, 'addr', 'add', cidr, 'dev', 'eth0']);
    await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    await run('ip', ['-n', ns, 'route', 'add', 'default', 'via', gateway]);
  }

  /** Load an nftables file (text) inside a namespace, as an operator would with `nft -f`. */
  async nft(name: string, ruleset: string): Promise<void> {
    const ns = this.hosts.get(name)!.ns;
    await new Promise<void>((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`nft -f in ${ns} failed: ${stderr}`))));
      child.stdin.end(ruleset);
    });
  }

  /** Sum of the palisade drop counters in a namespace (0 when it has no palisade table). */
  async dropCount(name: string): Promise<number> {
    const ns = this.hosts.get(name)!.ns;
    try {
      const out = await ipNetns(ns, 'nft', '-j', 'list', 'counters', 'table', 'inet', 'palisade_fw');
      const parsed = JSON.parse(out) as { nftables: Array<{ counter?: { name: string; packets: number } }> };
      return parsed.nftables.reduce((sum, item) => sum + (item.counter?.name.startsWith('dropped_') ? item.counter.packets : 0), 0);
    } catch {
      return 0;
    }
  }

  spawnIn(name: string, command: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): ChildProcess {
    const ns = this.hosts.get(name)!.ns;
    const child = spawn('ip', ['netns', 'exec', ns, command, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.processes.push(child);
    return child;
  }

  async worker(name: string, cwd: string): Promise<NsWorker> {
    return NsWorker.start(this.hosts.get(name)!.ns, name, cwd);
  }

  /** Remove every namespace this lab created; processes inside are killed first. Safe to call twice. */
  async destroy(): Promise<void> {
    for (const child of this.processes) child.kill('SIGKILL');
    for (const ns of this.created.reverse()) {
      try {
        const { stdout } = await run('ip', ['netns', 'pids', ns]);
        for (const pid of stdout.split('\n').filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      } catch {
        /* namespace already gone */
      }
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
    this.created.length = 0;
  }

  /** Namespaces left by this prefix (for the cleanup assertion). */
  async leftovers(): Promise<string[]> {
    const { stdout } = await run('ip', ['netns', 'list']);
    return stdout
      .split('\n')
      .map((line) => line.split(' ')[0])
      .filter((ns) => ns.startsWith(`${this.prefix}-`));
  }
}
