import { expect } from 'chai';
import { parseDocument } from 'yaml';
import { asPathNumbers, parseBirdProtocols, parseBirdRoutes, parseFrrRoutes } from './bgp-views.js';
import type { ClabNode } from './clab-file.js';
import { splitCommand } from './command.js';
import { frrPathspace, hostPathFor, rewriteAgentConfig } from './daemons.js';
import { belongsToLab, labPrefix, nodeNamespace, podNamespace } from './names.js';

describe('lab helpers', () => {
  describe('splitCommand: exec lines as a shell splits words (no expansion)', () => {
    const cases: [string, string[]][] = [
      ['ip addr add 10.0.0.1/30 dev eth1', ['ip', 'addr', 'add', '10.0.0.1/30', 'dev', 'eth1']],
      ['  sysctl   -w a=1 ', ['sysctl', '-w', 'a=1']],
      [`sh -c "echo 'a b'"`, ['sh', '-c', "echo 'a b'"]],
      [`echo 'x "y"' z\\ w`, ['echo', 'x "y"', 'z w']],
      [`echo ""`, ['echo', '']],
      ['echo $HOME', ['echo', '$HOME']],
    ];
    for (const [line, want] of cases) it(JSON.stringify(line), () => expect(splitCommand(line)).to.deep.equal(want));
    it('refuses an unterminated quote', () => expect(() => splitCommand(`echo 'x`)).to.throw(/unterminated/));
  });

  describe('names', () => {
    it('keeps each lab\'s namespaces apart, even when one lab name prefixes another', () => {
      expect(nodeNamespace('ls', 'r1')).to.equal('tl.ls.r1');
      expect(podNamespace('ls', 'r1', 'p1')).to.equal('tl.ls.r1.p1');
      expect(labPrefix('ls')).to.equal('tl.ls.');
      expect(belongsToLab('tl.ls.r1', 'ls')).to.equal(true);
      expect(belongsToLab('tl.ls.r1.p1', 'ls')).to.equal(true);
      expect(belongsToLab('tl.ls-2.r1', 'ls')).to.equal(false);
      expect(belongsToLab('tl.ls.', 'ls')).to.equal(false);
      expect(belongsToLab('tt123', 'ls')).to.equal(false);
    });
    it('gives FRR a dot-free pathspace, unique per namespace', () => {
      const a = frrPathspace('tl.ls.leaf1');
      expect(a).to.match(/^tl-[0-9a-f]{12}$/);
      expect(frrPathspace('tl.ls.leaf2')).to.not.equal(a);
    });
  });

  describe('rewriteAgentConfig: a node config as the netns runner runs it', () => {
    const node: ClabNode = {
      name: 'n1', kind: 'linux', image: 'tortie', role: 'tortie', exec: [], env: {}, labels: {}, sysctls: {},
      binds: [
        { hostPath: '/topo/n1/tortie.yaml', containerPath: '/etc/tortie/tortie.yaml', readOnly: true },
        { hostPath: '__clabDir__/ipam', containerPath: '/var/lib/tortie-ipam', readOnly: false },
      ],
    };
    const ctx = { node, hostPathOf: (p: string) => p.replace('__clabDir__', '/run/tortie-lab/x') };
    it('maps container paths through the covering bind', () => {
      expect(hostPathFor(ctx, '/var/lib/tortie-ipam')).to.equal('/run/tortie-lab/x/ipam');
      expect(hostPathFor(ctx, '/var/lib/tortie-ipam/sub')).to.equal('/run/tortie-lab/x/ipam/sub');
      expect(hostPathFor(ctx, '/var/lib/tortie-ipam2')).to.equal(undefined);
      expect(hostPathFor(ctx, '/var/lib/tortie')).to.equal(undefined);
    });
    it('moves the private paths into the node directory, maps the datastore, keeps comments', () => {
      const text = '# my node\nnode:\n  name: n1 # me\n  asn: 65001\nipam:\n  datastore:\n    type: local\n    directory: /var/lib/tortie-ipam\n';
      const out = rewriteAgentConfig(text, { config: '/d/tortie.yaml', socket: '/d/tortie.sock', stateDir: '/d/state' }, (c) => hostPathFor(ctx, c));
      expect(out).to.contain('# my node').and.to.contain('# me');
      expect(parseDocument(out).toJS()).to.deep.equal({
        node: { name: 'n1', asn: 65001 },
        ipam: { datastore: { type: 'local', directory: '/run/tortie-lab/x/ipam' } },
        paths: { stateDir: '/d/state', controlSocket: '/d/tortie.sock' },
      });
    });
  });

  describe('router output parsers', () => {
    it('BIRD show protocols all: one session per BGP protocol', () => {
      const text = [
        'BIRD 2.0.12 ready.',
        'Name       Proto      Table      State  Since         Info',
        'device1    Device     ---        up     14:17:36.769  ',
        '',
        'r2n1       BGP        ---        up     14:17:39.461  Established   ',
        '  Description:    r2n1',
        '  BGP state:          Established',
        '    Neighbor address: 10.2.1.2',
        '    Neighbor AS:      65102',
        '',
        'spine_v6   BGP        ---        start  14:17:39.461  Active        Socket: Connection refused',
        '  BGP state:          Active',
        '    Neighbor address: 2001:db8:0:2::1',
        '    Neighbor AS:      65000',
      ].join('\n');
      expect(parseBirdProtocols(text)).to.deep.equal([
        { peer: '10.2.1.2', peerAsn: 65102, state: 'Established', description: 'r2n1' },
        { peer: '2001:db8:0:2::1', peerAsn: 65000, state: 'Active' },
      ]);
    });

    it('BIRD show route all: prefixes, AS paths, gateways, the best path, and a second path', () => {
      const text = [
        'BIRD 2.0.12 ready.',
        'Table master4:',
        '10.244.22.0/26       unicast [r2n2 14:17:39.897] * (100) [AS65102i]',
        '\tvia 10.2.2.2 on eth2',
        '\tType: BGP univ',
        '\tBGP.as_path: 65102',
        '10.244.12.0/26       unicast [spine 14:17:39.882] * (100) [AS65101i]',
        '\tvia 10.0.2.1 on eth3',
        '\tBGP.as_path: 65000 65001 65101',
        '                     unicast [other 14:17:40.000] (100) [AS65101i]',
        '\tvia 10.0.9.1 on eth4',
        '\tBGP.as_path: 65009 65101',
      ].join('\n');
      expect(parseBirdRoutes(text)).to.deep.equal([
        { prefix: '10.244.22.0/26', paths: [{ asPath: [65102], nextHops: ['10.2.2.2'], best: true }] },
        { prefix: '10.244.12.0/26', paths: [
          { asPath: [65000, 65001, 65101], nextHops: ['10.0.2.1'], best: true },
          { asPath: [65009, 65101], nextHops: ['10.0.9.1'], best: false },
        ] },
      ]);
    });

    it('FRR show bgp … json: valid paths with AS path, next hops and the best flag', () => {
      const json = JSON.stringify({ routes: {
        '10.244.11.0/26': [{ valid: true, bestpath: true, path: '65101', nexthops: [{ ip: '10.1.1.2', used: true }] }],
        '2001:db8:244:21::/122': [
          { valid: true, bestpath: { overall: true }, path: '65000 65002 65102', nexthops: [{ ip: '2001:db8:0:1::1' }, { ip: 'fe80::1' }] },
          { valid: false, path: '65009', nexthops: [{ ip: '::' }] },
        ],
      } });
      expect(parseFrrRoutes(json)).to.deep.equal([
        { prefix: '10.244.11.0/26', paths: [{ asPath: [65101], nextHops: ['10.1.1.2'], best: true }] },
        { prefix: '2001:db8:244:21::/122', paths: [{ asPath: [65000, 65002, 65102], nextHops: ['2001:db8:0:1::1', 'fe80::1'], best: true }] },
      ]);
    });

    it('AS paths as numbers', () => {
      expect(asPathNumbers('')).to.deep.equal([]);
      expect(asPathNumbers('65000 65002 {1,2}')).to.deep.equal([65000, 65002, 1, 2]);
    });
  });
});
