import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasCode } from '../lib/errors.js';
import { ClabFileError, parseClab, resolvePath, roleOf } from './clab-file.js';
import { REPO_ROOT } from './daemons.js';

const FILE = '/labs/t.clab.yml';

function issuesOf(text: string): string[] {
  try {
    parseClab(text, FILE);
  } catch (err) {
    if (err instanceof ClabFileError) return err.issues.map((i) => `${i.line}:${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('lab/clab-file: containerlab topology files', () => {
  it('parses every topology in test/topologies, with each node\'s role and config bind on disk', () => {
    const dir = join(REPO_ROOT, 'test/topologies');
    const files = readdirSync(dir).filter((f) => f.endsWith('.clab.yml'));
    expect(files.sort()).to.deep.equal(['leaf-spine-ds.clab.yml', 'leaf-spine.clab.yml', 'mesh3.clab.yml', 'rr.clab.yml']);
    for (const f of files) {
      const t = parseClab(readFileSync(join(dir, f), 'utf8'), join(dir, f));
      expect(t.name, f).to.equal(f.replace('.clab.yml', ''));
      for (const n of t.nodes) {
        const wanted = { tortie: '/etc/tortie/tortie.yaml', frr: '/etc/frr/frr.conf', bird: '/etc/bird.conf', host: undefined }[n.role];
        if (wanted) expect(n.binds.map((b) => b.containerPath), `${f} ${n.name}`).to.include(wanted);
      }
      // Every link joins two known nodes, and each node interface is used once.
      const ends = t.links.flatMap((l) => [`${l.a.node}:${l.a.iface}`, `${l.b.node}:${l.b.iface}`]);
      expect(new Set(ends).size, f).to.equal(ends.length);
    }
  });

  it('merges defaults, kind settings and node settings (node wins; binds, exec and maps add up)', () => {
    const t = parseClab(`
name: m
topology:
  defaults: { image: "alpine:3", env: { A: "1" } }
  kinds:
    linux: { sysctls: { net.ipv4.ip_forward: 1 }, exec: ["echo kind"] }
  nodes:
    x: { kind: linux, image: "tortie:latest", exec: ["echo node"], env: { B: "2" }, binds: ["x/t.yaml:/etc/tortie/tortie.yaml:ro"] }
    y: { kind: linux }
  links:
    - endpoints: ["x:eth1", "y:eth1"]
`, FILE);
    const [x, y] = t.nodes;
    expect(x).to.deep.include({ name: 'x', role: 'tortie', image: 'tortie:latest', exec: ['echo kind', 'echo node'], env: { A: '1', B: '2' }, sysctls: { 'net.ipv4.ip_forward': '1' } });
    expect(x.binds).to.deep.equal([{ hostPath: '/labs/x/t.yaml', containerPath: '/etc/tortie/tortie.yaml', readOnly: true }]);
    expect(y).to.deep.include({ role: 'host', image: 'alpine:3' });
    expect(t.links).to.deep.equal([{ a: { node: 'x', iface: 'eth1' }, b: { node: 'y', iface: 'eth1' } }]);
  });

  it('reads extended veth links and keeps __clabDir__ binds for the runner to resolve', () => {
    const t = parseClab(`
name: e
topology:
  nodes:
    a: { image: tortie, binds: ["__clabDir__/ipam:/var/lib/tortie-ipam"] }
    b: { image: frrouting/frr:v8.4.1 }
  links:
    - type: veth
      mtu: 9000
      endpoints: [{ node: a, interface: eth1 }, { node: b, interface: eth2 }]
`, FILE);
    expect(t.links).to.deep.equal([{ a: { node: 'a', iface: 'eth1' }, b: { node: 'b', iface: 'eth2' }, mtu: 9000 }]);
    expect(t.nodes[0].binds[0].hostPath).to.equal('__clabDir__/ipam');
  });

  const bad: [string, string, RegExp][] = [
    ['a YAML syntax error', 'name: [x\n', /\(yaml\)/],
    ['a lab name with a dot', 'name: a.b\ntopology: { nodes: { x: { image: i } } }\n', /name: lab name "a\.b" must match/],
    ['no nodes', 'name: n\ntopology: { nodes: {} }\n', /topology\.nodes: expected a mapping of at least one node/],
    ['a node without an image', 'name: n\ntopology: { nodes: { x: { kind: linux } } }\n', /x\.image: no image/],
    ['a link to an unknown node', 'name: n\ntopology:\n  nodes: { x: { image: i } }\n  links: [{ endpoints: ["x:eth1", "z:eth1"] }]\n', /unknown node z/],
    ['an interface used twice', 'name: n\ntopology:\n  nodes: { x: { image: i }, y: { image: i } }\n  links:\n    - endpoints: ["x:eth1", "y:eth1"]\n    - endpoints: ["x:eth1", "y:eth2"]\n', /x:eth1 is already used/],
    ['an interface name over 15 characters', 'name: n\ntopology:\n  nodes: { x: { image: i }, y: { image: i } }\n  links: [{ endpoints: ["x:eth1234567890123", "y:eth1"] }]\n', /not a valid Linux name/],
    ['eth0 (containerlab management)', 'name: n\ntopology:\n  nodes: { x: { image: i }, y: { image: i } }\n  links: [{ endpoints: ["x:eth0", "y:eth1"] }]\n', /eth0 is reserved/],
    ['a link type other than veth', 'name: n\ntopology:\n  nodes: { x: { image: i } }\n  links: [{ type: macvlan, endpoints: ["x:eth1", "host:eno1"] }]\n', /only veth/],
    ['a bind without a container path', 'name: n\ntopology: { nodes: { x: { image: i, binds: ["only-host"] } } }\n', /binds\[0\]: expected HOST:CONTAINER/],
    ['an unknown role label', 'name: n\ntopology: { nodes: { x: { image: i, labels: { tortie.lab/role: router } } } }\n', /tortie\.lab\/role must be one of/],
    ['a kind other than linux', 'name: n\ntopology: { nodes: { x: { kind: nokia_srlinux, image: i } } }\n', /x\.kind: kind "nokia_srlinux" is not supported/],
    ['an unknown top-level field', 'name: n\ntopologie: {}\ntopology: { nodes: { x: { image: i } } }\n', /topologie: unknown field/],
  ];
  for (const [what, text, re] of bad) {
    it(`refuses ${what}, naming the line and field`, () => {
      const issues = issuesOf(text);
      expect(issues.join('\n')).to.match(re);
      expect(issues.every((i) => /^\d+:/.test(i))).to.equal(true);
    });
  }

  it('throws ERR_LAB_TOPOLOGY_INVALID with every problem at once', () => {
    try {
      parseClab('name: a.b\ntopology: { nodes: { x: {} } }\n', FILE);
      expect.fail('no error');
    } catch (err) {
      expect(hasCode(err, 'ERR_LAB_TOPOLOGY_INVALID')).to.equal(true);
      expect((err as ClabFileError).issues).to.have.length(2);
    }
  });

  const roles: [string, Record<string, string>, string | undefined][] = [
    ['tortie:latest', {}, 'tortie'],
    ['registry.example/team/tortie:v1', {}, 'tortie'],
    ['frrouting/frr:v8.4.1', {}, 'frr'],
    ['quay.io/frrouting/frr:9.0.0', {}, 'frr'],
    ['ghcr.io/srl-labs/bird:latest', {}, 'bird'],
    ['nicolaka/netshoot', {}, 'host'],
    ['nicolaka/netshoot', { 'tortie.lab/role': 'bird' }, 'bird'],
    ['alpine', { 'tortie.lab/role': 'router' }, undefined],
  ];
  for (const [image, labels, want] of roles) {
    it(`role of ${image}${Object.keys(labels).length ? ` with ${JSON.stringify(labels)}` : ''} is ${want ?? 'refused'}`, () => {
      expect(roleOf(image, labels)).to.equal(want);
    });
  }

  it('resolves bind paths against the file\'s folder', () => {
    expect(resolvePath('/a/b', 'c/../d/./e')).to.equal('/a/b/d/e');
    expect(resolvePath('/a/b', '/x/y')).to.equal('/x/y');
  });
});
