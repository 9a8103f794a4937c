/**
 * The broken-config table: each case is a whole file and the exact issues
 * it must produce (line, column, field path, message), in file order.
 */
import { expect } from 'chai';
import { formatIssue, formatIssues } from './issues.js';
import { expectIssues, parse, yaml } from './test-fixtures.js';

import { BAD_SECTIONS, NODE, type BadCase } from './load-sections.fixtures.js';

const BAD: BadCase[] = [
  // ------------------------------------------------------------ types
  {
    name: 'wrong type: AS as a string',
    text: yaml`
      node:
        asn: "65001"
        sourceAddress: 192.0.2.10
    `,
    issues: [{ line: 2, column: 8, path: 'node.asn', message: 'expected an integer, got a string ("65001")' }],
  },
  {
    name: 'wrong type: peers as a mapping',
    text: yaml`
      ${NODE}
      bgp:
        peers:
          address: 192.0.2.1
    `,
    issues: [{ line: 4, column: 5, path: 'bgp.peers', message: 'expected a list, got a mapping' }],
  },
  {
    name: 'wrong type: passive as a string',
    text: yaml`
      ${NODE}
      bgp:
        peers:
          - address: 192.0.2.1
            asn: 65100
            passive: "yes"
    `,
    issues: [{ line: 6, column: 16, path: 'bgp.peers[0].passive', message: 'expected true or false, got a string ("yes")' }],
  },
  {
    name: 'wrong type: the file is a list',
    text: yaml`
      - node
      - bgp
    `,
    issues: [{ line: 1, column: 1, path: '', message: 'expected a mapping, got a list' }],
  },
  {
    name: 'wrong type: hold time as a float',
    text: yaml`
      ${NODE}
      bgp: { holdTimeSec: 1.5 }
    `,
    issues: [{ line: 2, column: 21, path: 'bgp.holdTimeSec', message: 'expected an integer, got a number (1.5)' }],
  },
  // ------------------------------------------------------------ unknown fields
  {
    name: 'unknown field at the top level, with a suggestion',
    text: yaml`
      ${NODE}
      bgpp:
        peers: []
    `,
    issues: [{ line: 2, column: 1, path: 'bgpp', message: 'unknown field (did you mean bgp?)' }],
  },
  {
    name: 'unknown nested field, suggestion by prefix',
    text: yaml`
      ${NODE}
      bgp:
        peers:
          - address: 192.0.2.1
            asn: 65100
            holdTime: 30
    `,
    issues: [{ line: 6, column: 7, path: 'bgp.peers[0].holdTime', message: 'unknown field (did you mean holdTimeSec?)' }],
  },
  {
    name: 'unknown nested field, snake_case spelling',
    text: yaml`
      ${NODE}
      bgp:
        hold_time_sec: 30
    `,
    issues: [{ line: 3, column: 3, path: 'bgp.hold_time_sec', message: 'unknown field (did you mean holdTimeSec?)' }],
  },
  {
    name: 'unknown nested field, nothing close',
    text: yaml`
      node:
        asn: 65001
        sourceAddress: 192.0.2.10
        colour: blue
    `,
    issues: [{ line: 4, column: 3, path: 'node.colour', message: 'unknown field' }],
  },
  {
    name: 'a field given twice',
    text: yaml`
      node:
        asn: 65001
        sourceAddress: 192.0.2.10
        asn: 65002
    `,
    issues: [{ line: 4, column: 3, path: 'node.asn', message: 'duplicate field (first at line 2)' }],
  },
  // ------------------------------------------------------------ duplicates
  {
    name: 'duplicate peers, same text',
    text: yaml`
      ${NODE}
      bgp:
        peers:
          - { address: 192.0.2.1, asn: 65100 }
          - { address: 192.0.2.1, asn: 65101 }
    `,
    issues: [{ line: 5, column: 18, path: 'bgp.peers[1].address', message: 'duplicate peer 192.0.2.1 (same as bgp.peers[0].address at line 4)' }],
  },
  {
    name: 'duplicate peers, IPv6 compressed vs expanded upper case',
    text: yaml`
      ${NODE}
      bgp:
        peers:
          - { address: "2001:db8::1", asn: 65100 }
          - { address: "2001:0DB8:0:0:0:0:0:1", asn: 65100 }
    `,
    issues: [{ line: 5, column: 18, path: 'bgp.peers[1].address', message: 'duplicate peer 2001:db8::1 (same as bgp.peers[0].address at line 4)' }],
  },
  {
    name: 'duplicate mesh members',
    text: yaml`
      ${NODE}
      bgp:
        nodeToNodeMesh:
          members:
            - { address: 192.0.2.11 }
            - { address: 192.0.2.11, name: again }
    `,
    issues: [{
      line: 6, column: 20, path: 'bgp.nodeToNodeMesh.members[1].address',
      message: 'duplicate mesh member 192.0.2.11 (same as bgp.nodeToNodeMesh.members[0].address at line 5)',
    }],
  },
  {
    name: 'the same prefix originated twice, written differently',
    text: yaml`
      ${NODE}
      routes:
        originate: ["2001:db8:244:1::/122", "2001:DB8:244:1:0::/122"]
    `,
    issues: [{ line: 3, column: 39, path: 'routes.originate[1]', message: '2001:db8:244:1::/122 is listed twice (also routes.originate[0] at line 3)' }],
  },
  // ------------------------------------------------------------ addresses and prefixes
  {
    name: 'bad CIDR: length out of range',
    text: yaml`
      ${NODE}
      routes:
        originate: ["10.244.1.0/26", "10.244.2.0/33"]
    `,
    issues: [{ line: 3, column: 32, path: 'routes.originate[1]', message: 'prefix length 33 is out of range for IPv4 (0..32)' }],
  },
  {
    name: 'CIDR with host bits set',
    text: yaml`
      ${NODE}
      routes:
        originate: ["10.244.1.5/26"]
    `,
    issues: [{ line: 3, column: 15, path: 'routes.originate[0]', message: '"10.244.1.5/26" has host bits set (the network is 10.244.1.0/26)' }],
  },
  {
    name: 'CIDR without a length',
    text: yaml`
      ${NODE}
      routes:
        originate: [10.244.1.0]
    `,
    issues: [{ line: 3, column: 15, path: 'routes.originate[0]', message: '"10.244.1.0" is not a CIDR prefix (it has no /length)' }],
  },
  {
    name: 'IPv4-mapped IPv6 peer address',
    text: yaml`
      ${NODE}
      bgp:
        peers: [{ address: "::ffff:192.0.2.1", asn: 65100 }]
    `,
    issues: [{
      line: 3, column: 22, path: 'bgp.peers[0].address',
      message: '"::ffff:192.0.2.1" is an IPv4-mapped IPv6 address; write the IPv4 address 192.0.2.1',
    }],
  },
  {
    name: 'peer at our own source address',
    text: yaml`
      ${NODE}
      bgp:
        peers: [{ address: 192.0.2.10, asn: 65100 }]
    `,
    issues: [{ line: 3, column: 22, path: 'bgp.peers[0].address', message: "192.0.2.10 is this node's own address" }],
  },
  // ------------------------------------------------------------ numbers
  {
    name: 'AS out of range',
    text: yaml`
      node:
        asn: 4294967296
        sourceAddress: 192.0.2.10
    `,
    issues: [{ line: 2, column: 8, path: 'node.asn', message: 'AS 4294967296 is out of range (0..4294967295)' }],
  },
  {
    name: 'AS 0 (RFC 7607)',
    text: yaml`
      ${NODE}
      bgp:
        peers: [{ address: 192.0.2.1, asn: 0 }]
    `,
    issues: [{ line: 3, column: 38, path: 'bgp.peers[0].asn', message: 'AS 0 is reserved (RFC 7607) and cannot be used' }],
  },
  {
    name: 'negative port',
    text: yaml`
      ${NODE}
      bgp:
        peers:
          - address: 192.0.2.1
            asn: 65100
            port: -1
    `,
    issues: [{ line: 6, column: 13, path: 'bgp.peers[0].port', message: 'port -1 is out of range (1..65535)' }],
  },
  {
    name: 'multihop 0',
    text: yaml`
      ${NODE}
      bgp:
        peers: [{ address: 192.0.2.1, asn: 65100, multihop: 0 }]
    `,
    issues: [{ line: 3, column: 55, path: 'bgp.peers[0].multihop', message: 'multihop 0 is out of range (1..255, the TTL)' }],
  },
  {
    name: 'hold time 2',
    text: yaml`
      ${NODE}
      bgp:
        holdTimeSec: 2
    `,
    issues: [{
      line: 3, column: 16, path: 'bgp.holdTimeSec',
      message: 'hold time 2 is not allowed: it must be 0 (no keepalives) or 3..65535 (RFC 4271 §4.2)',
    }],
  },
  {
    name: 'keepalive more than a third of the hold time',
    text: yaml`
      ${NODE}
      bgp:
        holdTimeSec: 30
        keepaliveSec: 11
    `,
    issues: [{ line: 4, column: 17, path: 'bgp.keepaliveSec', message: 'keepaliveSec 11 is more than a third of the hold time 30 (at most 10)' }],
  },
  {
    name: "a peer's keepalive against the inherited hold time",
    text: yaml`
      ${NODE}
      bgp:
        peers:
          - address: 192.0.2.1
            asn: 65100
            keepaliveSec: 31
    `,
    issues: [{ line: 6, column: 21, path: 'bgp.peers[0].keepaliveSec', message: 'keepaliveSec 31 is more than a third of the hold time 90 (at most 30)' }],
  },
  {
    name: 'keepalive with hold time 0',
    text: yaml`
      ${NODE}
      bgp: { holdTimeSec: 0, keepaliveSec: 10 }
    `,
    issues: [{ line: 2, column: 38, path: 'bgp.keepaliveSec', message: 'keepaliveSec 10 must be 0 when the hold time is 0 (no keepalives)' }],
  },
  // ------------------------------------------------------------ router ID
  {
    name: 'router ID that is IPv6',
    text: yaml`
      node:
        asn: 65001
        routerId: 2001:db8::1
    `,
    issues: [{
      line: 3, column: 13, path: 'node.routerId',
      message: '2001:db8::1 is not an IPv4 address (a router ID is a 32-bit identifier written as IPv4)',
    }],
  },
  {
    name: 'router ID that is no address',
    text: yaml`
      node:
        asn: 65001
        routerId: 192.0.2.300
    `,
    issues: [{ line: 3, column: 13, path: 'node.routerId', message: '"192.0.2.300" is not an IP address' }],
  },
  {
    name: 'router ID 0.0.0.0',
    text: yaml`
      node:
        asn: 65001
        routerId: 0.0.0.0
    `,
    issues: [{ line: 3, column: 13, path: 'node.routerId', message: 'router ID 0.0.0.0 is not allowed (the BGP identifier must be non-zero)' }],
  },
  {
    name: 'no router ID from anywhere',
    text: yaml`
      node:
        asn: 65001
        sourceAddressV6: 2001:db8::10
    `,
    issues: [{
      line: 2, column: 3, path: 'node.routerId',
      message: 'is required: set node.routerId, the environment variable TORTIE_ROUTER_ID, or an IPv4 node.sourceAddress',
    }],
  },
  {
    name: 'IPv6 source address in the IPv4 field',
    text: yaml`
      node:
        asn: 65001
        routerId: 192.0.2.10
        sourceAddress: 2001:db8::10
    `,
    issues: [{
      line: 4, column: 18, path: 'node.sourceAddress',
      message: '2001:db8::10 is not an IPv4 address; put an IPv6 source address in node.sourceAddressV6',
    }],
  },
  // ------------------------------------------------------------ required
  {
    name: 'missing node section',
    text: yaml`
      bgp:
        holdTimeSec: 90
    `,
    issues: [{ line: 1, column: 1, path: 'node', message: 'is required (at least node.asn)' }],
  },
  {
    name: 'missing node.asn and a peer without asn',
    text: yaml`
      node:
        routerId: 192.0.2.10
      bgp:
        peers:
          - address: 192.0.2.1
    `,
    issues: [
      { line: 2, column: 3, path: 'node.asn', message: "is required (this node's AS number)" },
      { line: 5, column: 7, path: 'bgp.peers[0].asn', message: "is required (the peer's AS number)" },
    ],
  },
  // ------------------------------------------------------------ kernel routes
  {
    name: 'route protocol out of range',
    text: yaml`
      ${NODE}
      routes:
        protocol: 256
    `,
    issues: [{ line: 3, column: 13, path: 'routes.protocol', message: 'protocol 256 is out of range (1..255)' }],
  },
  {
    name: "route protocol reserved for BIRD",
    text: yaml`
      ${NODE}
      routes:
        protocol: 12
    `,
    issues: [{ line: 3, column: 13, path: 'routes.protocol', message: 'protocol 12 is reserved for bird (BIRD); choose an unused number (the default is 201)' }],
  },
  {
    name: "route protocol reserved for FRR's bgpd",
    text: yaml`
      ${NODE}
      routes: { protocol: 186 }
    `,
    issues: [{ line: 2, column: 21, path: 'routes.protocol', has: 'protocol 186 is reserved for bgp (FRR bgpd)' }],
  },
  {
    name: 'route protocol reserved by the kernel (static)',
    text: yaml`
      ${NODE}
      routes: { protocol: 4 }
    `,
    issues: [{ line: 2, column: 21, path: 'routes.protocol', has: 'protocol 4 is reserved for static (kernel' }],
  },
  {
    name: 'the local routing table',
    text: yaml`
      ${NODE}
      routes: { table: 255 }
    `,
    issues: [{ line: 2, column: 18, path: 'routes.table', message: "table 255 is the kernel's local table" }],
  },
  // ------------------------------------------------------------ communities and families
  {
    name: 'bad communities',
    text: yaml`
      ${NODE}
      bgp:
        communities: ["65000:100", "65536:1", no-exprt]
    `,
    issues: [
      { line: 3, column: 30, path: 'bgp.communities[1]', has: '"65536:1" is not a community' },
      { line: 3, column: 41, path: 'bgp.communities[2]', has: '"no-exprt" is not a community' },
    ],
  },
  {
    name: 'a name from Object.prototype is no community',
    text: yaml`
      ${NODE}
      bgp: { communities: [toString] }
    `,
    issues: [{ line: 2, column: 22, path: 'bgp.communities[0]', has: '"toString" is not a community' }],
  },
  {
    name: 'the same community twice, by name and by number',
    text: yaml`
      ${NODE}
      bgp:
        communities: [no-export, "65535:65281"]
    `,
    issues: [{ line: 3, column: 28, path: 'bgp.communities[1]', message: 'community 65535:65281 is listed twice (also bgp.communities[0] at line 3)' }],
  },
  {
    name: 'bad large community',
    text: yaml`
      ${NODE}
      bgp:
        largeCommunities: ["65000:1"]
    `,
    issues: [{ line: 3, column: 22, path: 'bgp.largeCommunities[0]', has: '"65000:1" is not a large community' }],
  },
  {
    name: 'bad family',
    text: yaml`
      ${NODE}
      bgp:
        peers:
          - address: 192.0.2.1
            asn: 65100
            families: [ipv4, ipv5]
    `,
    issues: [{ line: 6, column: 24, path: 'bgp.peers[0].families[1]', message: '"ipv5" is not one of ipv4, ipv6 (did you mean ipv4?)' }],
  },
  {
    name: 'no families',
    text: yaml`
      ${NODE}
      bgp:
        peers: [{ address: 192.0.2.1, asn: 65100, families: [] }]
    `,
    issues: [{ line: 3, column: 55, path: 'bgp.peers[0].families', message: 'is an empty list; a peer needs at least one of ipv4, ipv6' }],
  },
  // ------------------------------------------------------------ policies
  {
    name: 'policy errors, all reported',
    text: yaml`
      ${NODE}
      bgp:
        peers:
          - address: 192.0.2.1
            asn: 65100
            import:
              defaultResult: maybe
              terms:
                - match:
                    prefixList:
                      - { prefix: 10.0.0.0/16, ge: 8 }
                  actions: { setMed: 5, stripMed: true }
                - name: no-result
    `,
    issues: [
      { line: 7, column: 24, path: 'bgp.peers[0].import.defaultResult', message: '"maybe" is not one of accept, reject' },
      { line: 9, column: 13, path: 'bgp.peers[0].import.terms[0].result', message: 'is required (accept, reject or continue)' },
      { line: 11, column: 46, path: 'bgp.peers[0].import.terms[0].match.prefixList[0].ge', message: 'ge 8 is shorter than the prefix length 16' },
      { line: 12, column: 45, path: 'bgp.peers[0].import.terms[0].actions.stripMed', message: 'setMed and stripMed cannot be used together' },
      { line: 13, column: 13, path: 'bgp.peers[0].import.terms[1].result', message: 'is required (accept, reject or continue)' },
    ],
  },
  {
    name: 'policy: missing defaultResult, misspelt action, bad prepend count',
    text: yaml`
      ${NODE}
      bgp:
        peers:
          - address: 192.0.2.1
            asn: 65100
            export:
              terms:
                - actions: { setLocalPrf: 200, prependAs: { count: 0 } }
                  result: accept
    `,
    issues: [
      { line: 7, column: 9, path: 'bgp.peers[0].export.defaultResult', message: 'is required (accept or reject)' },
      { line: 8, column: 24, path: 'bgp.peers[0].export.terms[0].actions.setLocalPrf', message: 'unknown field (did you mean setLocalPref?)' },
      { line: 8, column: 62, path: 'bgp.peers[0].export.terms[0].actions.prependAs.count', message: '0 is out of range (1..32)' },
    ],
  },
  {
    name: 'policy: duplicate term names and a bad le',
    text: yaml`
      ${NODE}
      bgp:
        peers:
          - address: 192.0.2.1
            asn: 65100
            import:
              defaultResult: accept
              terms:
                - { name: a, match: { prefixList: [{ prefix: "2001:db8::/32", ge: 48, le: 40 }] }, result: reject }
                - { name: a, result: accept }
    `,
    issues: [
      { line: 9, column: 85, path: 'bgp.peers[0].import.terms[0].match.prefixList[0].le', message: 'le 40 is less than ge 48' },
      { line: 10, column: 13, path: 'bgp.peers[0].import.terms[1].name', message: 'duplicate term name "a" (also bgp.peers[0].import.terms[0])' },
    ],
  },
  // ------------------------------------------------------------ paths and endpoints
  {
    name: 'relative control socket path',
    text: yaml`
      ${NODE}
      paths: { controlSocket: run/tortie.sock }
    `,
    issues: [{ line: 2, column: 25, path: 'paths.controlSocket', message: '"run/tortie.sock" is not an absolute path' }],
  },
  {
    name: 'metrics on the health port',
    text: yaml`
      ${NODE}
      metrics: { port: 9098 }
    `,
    issues: [{ line: 2, column: 18, path: 'metrics.port', message: 'port 9098 is also used by health ([127.0.0.1]:9098)' }],
  },
  {
    name: 'a readiness grace above an hour',
    text: yaml`
      ${NODE}
      health: { readinessGraceSec: 7200 }
    `,
    issues: [{ line: 2, column: 30, path: 'health.readinessGraceSec', message: '7200 is out of range (0..3600)' }],
  },
  {
    name: 'unknown log level',
    text: yaml`
      ${NODE}
      logLevel: warning
    `,
    issues: [{ line: 2, column: 11, path: 'logLevel', message: '"warning" is not one of trace, debug, info, warn, error (did you mean warn?)' }],
  },
  // ------------------------------------------------------------ YAML itself
  {
    name: 'YAML syntax error: unclosed flow sequence',
    text: yaml`
      ${NODE}
      bgp:
        peers: [ { address: 192.0.2.1, asn: 65100 }
      routes: {}
    `,
    // The parser notices at the next top-level key.
    issues: [{ line: 4, column: 1, path: '', has: 'YAML: Flow sequence in block collection must be sufficiently indented and end with a ]' }],
  },
  {
    name: 'YAML syntax error: tab indentation',
    text: 'node:\n\tasn: 65001\n',
    issues: [{ line: 2, column: 1, path: '', has: 'YAML: ' }],
  },
  {
    name: 'empty file',
    text: '',
    issues: [{ line: 1, column: 1, path: '', message: 'the file is empty; a configuration needs at least node.asn' }],
  },
  {
    name: 'comments only',
    text: '# nothing here yet\n\n',
    issues: [{ line: 1, column: 1, path: '', message: 'the file is empty; a configuration needs at least node.asn' }],
  },
  // ------------------------------------------------------------ many at once
  {
    name: 'several errors at once, in file order',
    text: yaml`
      node:
        asn: 65001
        routerId: 192.0.2.10
        nmae: node-a
      bgp:
        holdTimeSec: 2
        peers:
          - { address: 192.0.2.1, asn: 4294967296 }
          - { address: 192.0.2.1, asn: 65100 }
      routes:
        originate: [10.244.1.0/24, 10.244.2.1/24]
        protocol: 12
    `,
    issues: [
      { line: 4, column: 3, path: 'node.nmae', message: 'unknown field (did you mean name?)' },
      { line: 6, column: 16, path: 'bgp.holdTimeSec', has: 'hold time 2 is not allowed' },
      { line: 8, column: 34, path: 'bgp.peers[0].asn', message: 'AS 4294967296 is out of range (0..4294967295)' },
      { line: 9, column: 18, path: 'bgp.peers[1].address', message: 'duplicate peer 192.0.2.1 (same as bgp.peers[0].address at line 8)' },
      { line: 11, column: 30, path: 'routes.originate[1]', has: 'host bits set' },
      { line: 12, column: 13, path: 'routes.protocol', has: 'reserved for bird' },
    ],
  },
];


describe('config: broken files', () => {
  it('the table has at least 25 cases', () => {
    expect(BAD.length + BAD_SECTIONS.length).to.be.at.least(25);
  });

  for (const c of [...BAD, ...BAD_SECTIONS]) {
    it(c.name, () => {
      const r = parse(c.text);
      expect(r.ok, 'should be rejected').to.equal(false);
      if (r.ok) return;
      for (const i of r.issues) expect(i.file).to.equal('node.yaml');
      expectIssues(r.issues, c.issues);
    });
  }

  it('formats an issue as FILE:LINE:COL: path: message', () => {
    const r = parse(yaml`
      node:
        asn: 4294967296
        sourceAddress: 192.0.2.10
    `);
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(formatIssue(r.issues[0])).to.equal('node.yaml:2:8: node.asn: AS 4294967296 is out of range (0..4294967295)');
    expect(formatIssues(r.issues)).to.equal('node.yaml:2:8: node.asn: AS 4294967296 is out of range (0..4294967295)\n1 error\n');
  });

  it('reports a problem inside an aliased policy at the anchor', () => {
    const r = parse(yaml`
      ${NODE}
      bgp:
        peers:
          - address: 192.0.2.1
            asn: 65100
            import: &p { defaultResult: accept, terms: [{ result: acept }] }
    `);
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expectIssues(r.issues, [{ line: 6, column: 61, path: 'bgp.peers[0].import.terms[0].result', has: '"acept" is not one of' }]);
  });
});

