// terraform/: every .tf parses (@cdktf/hcl2json); every cloud firewall rule comes from the layout (no
// hand-written rule); cloud-init renders to valid YAML that installs Docker, loads the VM's generated
// ruleset and starts its Compose profile. Provider plugins cannot be downloaded here, so no `plan`:
// when a `terraform` binary is present, `terraform fmt -check` runs and the provider-free modules are
// evaluated offline with `terraform console` and compared with the layout.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { parse as parseYaml } from 'yaml';
import { cloudFirewallRules, loadLayout, nftRuleset } from './index';

const root = join(__dirname, '..', '..', '..');
const tfRoot = join(root, 'terraform');
const layout = loadLayout();
const tfEnv = { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null', TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' };
const hasTerraform = spawnSync('terraform', ['version'], { env: tfEnv }).status === 0;

function tfFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name.startsWith('.') ? [] : tfFiles(path);
    return name.endsWith('.tf') ? [path] : [];
  });
}

type Hcl = Record<string, unknown>;
const parsed = new Map<string, Hcl>();
beforeAll(async () => {
  for (const file of tfFiles(tfRoot)) parsed.set(relative(tfRoot, file), (await parse(file, readFileSync(file, 'utf8'))) as Hcl);
});

function console_(moduleDir: string, expression: string, vars: Record<string, string>): unknown {
  const out = execFileSync('terraform', ['console', ...Object.entries(vars).flatMap(([k, v]) => ['-var', `${k}=${v}`])], {
    cwd: moduleDir,
    input: `jsonencode(${expression})\n`,
    env: tfEnv,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return JSON.parse(JSON.parse(out.trim()) as string);
}

/** cloud-init's template inserts values only as ${jsonencode(name)}: render it the same way. */
function renderTemplate(template: string, values: Record<string, string>): string {
  const other = template.replace(/\$\{jsonencode\(([a-z_]+)\)\}/g, '').match(/\$\{|%\{/g);
  if (other) throw new Error('cloud-init template uses an interpolation other than ${jsonencode(name)}');
  return template.replace(/\$\{jsonencode\(([a-z_]+)\)\}/g, (_m, name: string) => {
    if (!(name in values)) throw new Error(`template variable ${name} not provided`);
    return JSON.stringify(values[name]);
  });
}

function checkCloudInit(yamlText: string, vm: string, imagePinsEnv = ''): void {
  const doc = parseYaml(yamlText) as { packages: string[]; write_files: Array<{ path: string; content: string; permissions: string }>; runcmd: unknown[][] };
  expect(yamlText.startsWith('#cloud-config\n')).toBe(true);
  expect(doc.packages).toEqual(expect.arrayContaining(['docker.io', 'nftables']));
  const nft = doc.write_files.find((f) => f.path === '/etc/palisade/palisade_fw.nft');
  expect(nft?.content).toBe(nftRuleset(layout, vm));
  expect(nft?.permissions).toBe('0600');
  const commands = doc.runcmd.map((c) => c.join(' '));
  const composeAt = commands.findIndex((c) => c.includes(`docker compose --profile ${layout.vms[vm].compose_profile} up -d`));
  const firewallAt = commands.findIndex((c) => c.includes('enable --now palisade-firewall.service'));
  expect(composeAt).toBeGreaterThan(-1);
  expect(firewallAt).toBeGreaterThan(composeAt); // pulled/started before lock-down
  // The digest pins (var.image_pins) become /opt/palisade/.env after the clone, before Compose starts.
  expect(doc.write_files.find((f) => f.path === '/etc/palisade/image-pins.env')?.content).toBe(imagePinsEnv);
  const pinsAt = commands.indexOf('cp /etc/palisade/image-pins.env /opt/palisade/.env');
  expect(pinsAt).toBeGreaterThan(commands.findIndex((c) => c.startsWith('git clone')));
  expect(pinsAt).toBeLessThan(composeAt);
  expect(doc.write_files.find((f) => f.path === '/etc/systemd/system/palisade-firewall.service')?.content).toContain('ExecStart=/usr/sbin/nft -f /etc/palisade/palisade_fw.nft');
}

describe('terraform/', () => {
  it('has the modules, the cloud-init template and the Hetzner example, and every .tf parses', () => {
    expect([...parsed.keys()].sort()).toEqual(
      expect.arrayContaining(['modules/firewall/main.tf', 'modules/vm/main.tf', 'examples/hetzner/main.tf', 'examples/hetzner/variables.tf', 'examples/hetzner/outputs.tf']),
    );
  });

  it('the firewall module reads the layout with yamldecode; no file holds a hand-written rule', () => {
    const locals = (parsed.get('modules/firewall/main.tf')!.locals as Array<Record<string, string>>)[0];
    expect(locals.layout).toBe('${yamldecode(file(var.layout_file))}');
    const firewall = (parsed.get('examples/hetzner/main.tf')!.resource as Record<string, Record<string, Hcl[]>>).hcloud_firewall.vm[0];
    expect(firewall.rule).toBeUndefined(); // only dynamic rules
    const dynamic = (firewall.dynamic as { rule: Array<{ for_each: string; content: Array<Record<string, unknown>> }> }).rule;
    expect(dynamic[0].for_each).toBe('${module.firewall.rules[each.key]}');
    expect(dynamic[0].content[0]).toMatchObject({ port: '${rule.value.port}', protocol: '${rule.value.protocol}', direction: '${rule.value.direction}' });
    // The one other block: the inert rule that makes Hetzner deny outbound for egress-none VMs.
    expect(dynamic).toHaveLength(2);
    expect(dynamic[1].for_each).toMatch(/module\.firewall\.egress_none/);
    expect(dynamic[1].content[0]).toMatchObject({ direction: 'out', protocol: 'icmp', description: 'egress-none' });
    // No literal port anywhere in Terraform: every port comes from the layout.
    for (const [file, hcl] of parsed) expect({ file, ports: JSON.stringify(hcl).match(/"port":\s*("?\d+"?)/g) }).toEqual({ file, ports: null });
    // Servers take their private address and user data from the VM module.
    const server = (parsed.get('examples/hetzner/main.tf')!.resource as Record<string, Record<string, Hcl[]>>).hcloud_server.vm[0];
    expect(server.user_data).toBe('${module.vm[each.key].user_data}');
    expect((server.network as Hcl[])[0].ip).toBe('${module.vm[each.key].private_ip}');
  });

  it('variables are validated and the outputs give the addresses', () => {
    const variables = parsed.get('examples/hetzner/variables.tf')!.variable as Record<string, Array<{ validation?: unknown[]; sensitive?: boolean }>>;
    for (const name of ['hcloud_token', 'name_prefix', 'location', 'network_zone', 'server_types', 'ssh_key_ids']) expect(variables[name][0].validation).toBeDefined();
    expect(variables.hcloud_token[0].sensitive).toBe(true);
    const vmVars = parsed.get('modules/vm/variables.tf')!.variable as Record<string, Array<{ validation?: unknown[] }>>;
    for (const name of ['vm_name', 'palisade_repo_url', 'palisade_ref', 'ollama_models', 'image_pins']) expect(vmVars[name][0].validation).toBeDefined();
    expect(Object.keys(parsed.get('examples/hetzner/outputs.tf')!.output as Hcl)).toEqual(expect.arrayContaining(['public_ipv4', 'private_ip']));
  });

  it('cloud-init renders to valid YAML: Docker, the generated ruleset, the Compose profile, lock-down last', () => {
    const template = readFileSync(join(tfRoot, 'modules', 'vm', 'cloud-init.yaml.tftpl'), 'utf8');
    for (const vm of Object.keys(layout.vms)) {
      const text = renderTemplate(template, {
        vm_name: vm,
        nft_ruleset: nftRuleset(layout, vm),
        firewall_unit: '[Service]\nExecStart=/usr/sbin/nft -f /etc/palisade/palisade_fw.nft\n',
        palisade_ref: 'main',
        palisade_repo_url: 'https://git.example.org/palisade.git',
        compose_up: `cd /opt/palisade && (docker compose --profile ${layout.vms[vm].compose_profile} up -d || docker-compose --profile ${layout.vms[vm].compose_profile} up -d)`,
        pull_models: 'true',
        image_pins_env: '',
      });
      checkCloudInit(text, vm);
    }
    // A value that would break naive YAML (quotes, colons, newlines) stays one string.
    expect(parseYaml(renderTemplate('a: ${jsonencode(x)}\n', { x: 'x: "y"\n- z' }))).toEqual({ a: 'x: "y"\n- z' });
  });

  it('with terraform (when present): fmt is clean, the firewall module equals the layout, cloud-init renders for real', () => {
    if (!hasTerraform) {
      // Nothing to download here: without the binary the checks above (parse, structure, render) are what runs.
      console.log('terraform binary not found: fmt -check and offline evaluation not run');
      expect(parsed.size).toBeGreaterThan(0);
      return;
    }
    execFileSync('terraform', ['fmt', '-check', '-recursive', tfRoot], { env: tfEnv });
    const layoutFile = join(root, 'vm-layout', 'layout.yaml');
    expect(console_(join(tfRoot, 'modules', 'firewall'), 'local.rules', { layout_file: layoutFile })).toEqual(cloudFirewallRules(layout));
    // With a cloud endpoint configured, the agent's 443 rule appears with exactly its addresses.
    const dir = mkdtempSync(join(tmpdir(), 'palisade-tf-'));
    try {
      const withCloud = readFileSync(layoutFile, 'utf8').replace(/^cloud_endpoints: \[\]$/m, 'cloud_endpoints:\n  - { name: test, host: api.example.com, cidrs: [203.0.113.7/32] }');
      writeFileSync(join(dir, 'layout.yaml'), withCloud);
      const rules = console_(join(tfRoot, 'modules', 'firewall'), 'local.rules', { layout_file: join(dir, 'layout.yaml') });
      expect(rules).toEqual(cloudFirewallRules({ ...layout, cloud_endpoints: [{ name: 'test', host: 'api.example.com', cidrs: ['203.0.113.7/32'] }] }));
      expect((rules as Record<string, Array<{ description: string; destination_ips: string[] }>>).agent.find((r) => r.description === 'agent-cloud-models')?.destination_ips).toEqual(['203.0.113.7/32']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const vm of Object.keys(layout.vms)) {
      const userData = console_(join(tfRoot, 'modules', 'vm'), 'local.user_data', { layout_file: layoutFile, vm_name: vm, palisade_repo_url: 'https://git.example.org/palisade.git' }) as string;
      checkCloudInit(userData, vm);
    }
    // Digest pins reach the VM's .env; a tag is refused by the variable's validation.
    const pin = `ollama/ollama:0.12.6@sha256:${'0123456789abcdef'.repeat(4)}`;
    const vars = { layout_file: layoutFile, vm_name: 'ollama', palisade_repo_url: 'https://git.example.org/palisade.git' };
    checkCloudInit(console_(join(tfRoot, 'modules', 'vm'), 'local.user_data', { ...vars, image_pins: `{PALISADE_OLLAMA_IMAGE="${pin}"}` }) as string, 'ollama', `PALISADE_OLLAMA_IMAGE=${pin}\n`);
    expect(() => console_(join(tfRoot, 'modules', 'vm'), 'local.user_data', { ...vars, image_pins: '{PALISADE_OLLAMA_IMAGE="ollama/ollama:0.12.6"}' })).toThrow(/Invalid value for variable/);
  });
});
