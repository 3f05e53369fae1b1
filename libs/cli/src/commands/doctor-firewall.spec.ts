// The firewall check's pure parts: which VM, and how two `nft -j` listings are compared (real nft: the int-spec).
import { defaultLayoutFile } from '@palisade/deploy';
import { chooseVm, diffTables, parseNftTable } from './doctor-firewall';

const chain = (name: string, policy = 'drop') => ({ chain: { family: 'inet', table: 'palisade_fw', name, handle: 1, type: 'filter', hook: 'input', prio: 0, policy } });
const rule = (handle: number, port: number, packets = 0) => ({
  rule: {
    family: 'inet',
    table: 'palisade_fw',
    chain: 'input',
    handle,
    expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: port } }, { counter: { packets, bytes: packets * 60 } }, { accept: null }],
  },
});
const listing = (...items: object[]) => JSON.stringify({ nftables: [{ metainfo: { version: '1.0.6' } }, { table: { family: 'inet', name: 'palisade_fw', handle: 9 } }, ...items] });

describe('doctor firewall comparison', () => {
  test('the VM: --vm, else the one whose address is local, else agent', () => {
    const file = defaultLayoutFile();
    expect(chooseVm(file, 'ollama', [])).toEqual({ vm: 'ollama', reason: '--vm' });
    expect(chooseVm(file, undefined, ['127.0.0.1', '10.70.1.10'])).toMatchObject({ vm: 'nextcloud', reason: expect.stringContaining('10.70.1.10') });
    expect(chooseVm(file, undefined, ['127.0.0.1'])).toMatchObject({ vm: 'agent', reason: expect.stringContaining('default') });
  });

  test('handles and counter values are ignored; missing, extra, reordered rules and policies are reported', () => {
    const expected = parseNftTable(listing(chain('input'), rule(2, 22), rule(3, 443)));
    expect(diffTables(expected, parseNftTable(listing(chain('input'), rule(40, 22, 7), rule(41, 443, 9))))).toEqual([]);
    expect(diffTables(expected, parseNftTable(listing(chain('input', 'accept'), rule(5, 443), rule(6, 22), rule(7, 5432))))).toEqual([
      'chain input: policy is accept, expected drop',
      expect.stringMatching(/^chain input: rule out of order: .*(443|22).* \(handle [56]\)$/),
      expect.stringMatching(/^chain input: extra rule: .*5432.* \(handle 7\)$/),
    ]);
    expect(diffTables(expected, parseNftTable(listing(chain('input'), rule(2, 22))))).toEqual([expect.stringMatching(/^chain input: missing rule: .*443/)]);
  });
});
