import { egressRuleset, egressTableName, NftEgressFirewall, parseDeniedTable } from './egress-firewall';

const base = { bridge: 'br-0123456789ab', proxyAddress: '172.18.0.2', proxyPort: 3128, dnsPort: 53 };

describe('egress firewall ruleset', () => {
  it('names one table per bridge, with only identifier characters', () => {
    expect(egressTableName('br-0123456789ab')).toBe('palisade_egress_br_0123456789ab');
    expect(egressTableName('pe.test')).toBe('palisade_egress_pe_test');
  });

  it('refuses names and addresses that could inject nft syntax', () => {
    expect(() => egressTableName('br-x"; flush ruleset')).toThrow(/bridge interface/);
    expect(() => egressTableName('a-very-long-bridge-name')).toThrow(/bridge interface/);
    expect(() => egressRuleset({ ...base, proxyAddress: '172.18.0.2 accept;' })).toThrow(/IPv4/);
    expect(() => egressRuleset({ ...base, proxyAddress: '300.1.1.1' })).toThrow(/IPv4/);
    expect(() => egressRuleset({ ...base, proxyPort: 0 })).toThrow(/port/);
    expect(() => egressRuleset({ ...base, setSize: 0 })).toThrow(/set size/);
  });

  it('replaces only its own table atomically, never the whole ruleset', () => {
    const rules = egressRuleset(base);
    const lines = rules.split('\n');
    // create-if-missing, delete, add: one `nft -f` transaction that works whether or not it exists
    expect(lines.slice(0, 3)).toEqual([
      'table inet palisade_egress_br_0123456789ab',
      'delete table inet palisade_egress_br_0123456789ab',
      'table inet palisade_egress_br_0123456789ab {',
    ]);
    expect(rules).not.toMatch(/flush ruleset/);
    expect(rules.match(/^table /gm)).toHaveLength(2);
  });

  it('hooks forward and input before Docker, for packets from the bridge only', () => {
    const rules = egressRuleset(base);
    for (const hook of ['forward', 'input'])
      expect(rules).toContain(
        `chain ${hook} { type filter hook ${hook} priority filter - 10; policy accept; iifname "br-0123456789ab" jump guard; }`,
      );
  });

  it('allows only established flows, TCP to the proxy port and UDP DNS to the proxy; records and drops the rest', () => {
    const guard = egressRuleset({ ...base, setSize: 77 });
    const body = guard.slice(guard.indexOf('chain guard {'), guard.indexOf('  }\n  chain forward'));
    const rules = body
      .split('\n')
      .slice(1)
      .map((l) => l.trim())
      .filter(Boolean);
    expect(rules).toEqual([
      'ct state established,related accept',
      'ip daddr 172.18.0.2 tcp dport 3128 accept',
      'ip daddr 172.18.0.2 udp dport 53 accept',
      'meta l4proto { tcp, udp } update @denied4 { ip saddr . ip daddr . meta l4proto . th dport } drop',
      'meta nfproto ipv4 update @denied4 { ip saddr . ip daddr . meta l4proto . 0 } drop',
      'meta l4proto { tcp, udp } update @denied6 { ip6 saddr . ip6 daddr . meta l4proto . th dport } drop',
      'meta nfproto ipv6 update @denied6 { ip6 saddr . ip6 daddr . meta l4proto . 0 } drop',
      'counter name "unrecorded" drop',
    ]);
    // every accept is one of the three; nothing else reaches an accept
    expect(rules.filter((r) => r.endsWith('accept'))).toHaveLength(3);
    expect(guard).toContain('set denied4 { type ipv4_addr . ipv4_addr . inet_proto . inet_service; size 77;');
    expect(guard).toContain('set denied6 { type ipv6_addr . ipv6_addr . inet_proto . inet_service; size 77;');
    expect(guard).toContain('counter unrecorded { }');
  });

  it('validates its options when constructed', () => {
    expect(() => new NftEgressFirewall({ ...base, bridge: 'bad name' })).toThrow();
    expect(new NftEgressFirewall(base).table).toBe('palisade_egress_br_0123456789ab');
  });
});

describe('parseDeniedTable', () => {
  const listing = JSON.stringify({
    nftables: [
      { metainfo: { version: '1.0.6', json_schema_version: 1 } },
      { table: { family: 'inet', name: 'palisade_egress_br_x', handle: 1 } },
      {
        counter: {
          family: 'inet',
          name: 'unrecorded',
          table: 'palisade_egress_br_x',
          packets: 7,
          bytes: 400,
        },
      },
      {
        set: {
          family: 'inet',
          name: 'denied4',
          table: 'palisade_egress_br_x',
          elem: [
            {
              elem: {
                val: { concat: ['172.18.0.3', '198.51.100.7', 'tcp', 80] },
                counter: { packets: 2, bytes: 120 },
              },
            },
            {
              elem: { val: { concat: ['172.18.0.3', '198.51.100.9', 'udp', 5000] }, counter: { packets: 1 } },
            },
            { elem: { val: { concat: ['172.18.0.3', '198.51.100.9', 1, 0] }, counter: { packets: 3 } } },
          ],
        },
      },
      { set: { family: 'inet', name: 'denied6', table: 'palisade_egress_br_x' } },
    ],
  });

  it('reads each flow with its packet count, and the unrecorded counter', () => {
    const parsed = parseDeniedTable(listing);
    expect(parsed.unrecorded).toBe(7);
    expect(parsed.flows).toEqual([
      { source: '172.18.0.3', destination: '198.51.100.7', protocol: 'tcp', port: 80, packets: 2 },
      { source: '172.18.0.3', destination: '198.51.100.9', protocol: 'udp', port: 5000, packets: 1 },
      { source: '172.18.0.3', destination: '198.51.100.9', protocol: 'icmp', port: 0, packets: 3 },
    ]);
  });

  it('deletes exactly the elements it read', () => {
    expect(parseDeniedTable(listing).deletes).toEqual([
      'delete element inet palisade_egress_br_x denied4 { 172.18.0.3 . 198.51.100.7 . tcp . 80, 172.18.0.3 . 198.51.100.9 . udp . 5000, 172.18.0.3 . 198.51.100.9 . 1 . 0 }',
    ]);
  });

  it('an empty table yields nothing to record or delete', () => {
    const empty = parseDeniedTable(JSON.stringify({ nftables: [{ metainfo: {} }] }));
    expect(empty).toEqual({ flows: [], unrecorded: 0, deletes: [] });
  });
});
