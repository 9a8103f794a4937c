/** The ipam section and node.labels: defaults, canonical values, and what the service receives. (Broken files: load.test.ts.) */
import { expect } from 'chai';
import { poolFromSpec } from '../../ipam/core/pool.js';
import { checkConfigFile } from './check.js';
import { parseOk, yaml } from './test-fixtures.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NODE = 'node: { asn: 65001, sourceAddress: 192.0.2.10 }';

describe('config: ipam', () => {
  it('defaults: no pools, strict affinity, local datastore under paths.stateDir', () => {
    const cfg = parseOk(yaml`
      ${NODE}
      paths: { stateDir: /srv/tortie/ }
    `);
    expect(cfg.ipam).to.deep.equal({
      pools: [], reservations: [], strictAffinity: true, releaseCooldownSec: 30, gcGraceSec: 60,
      datastore: { type: 'local', directory: '/srv/tortie/ipam' },
    });
  });

  const pools: { name: string; pool: string; want: Record<string, unknown> }[] = [
    { name: 'IPv4 defaults', pool: '{ cidr: 10.244.0.0/16 }', want: { name: 'pool-10-244-0-0-16', cidr: '10.244.0.0/16', family: 'ipv4', blockSize: 26, nodeSelector: 'all()', disabled: false } },
    { name: 'IPv6 defaults, canonical CIDR', pool: '{ cidr: "FD00:244:0::/64" }', want: { name: 'pool-fd00-244---64', cidr: 'fd00:244::/64', family: 'ipv6', blockSize: 122, nodeSelector: 'all()', disabled: false } },
    { name: 'a pool smaller than the default block is one block', pool: '{ cidr: 10.250.0.0/28 }', want: { blockSize: 28 } },
    { name: 'everything set', pool: '{ name: rack-a, cidr: 10.1.0.0/20, blockSize: 28, nodeSelector: \'rack == "a"\', disabled: true }', want: { name: 'rack-a', blockSize: 28, nodeSelector: 'rack == "a"', disabled: true } },
    { name: 'the largest and smallest blocks', pool: '{ cidr: 10.2.0.0/16, blockSize: 20 }', want: { blockSize: 20 } },
    { name: '/32 blocks', pool: '{ cidr: 10.3.0.0/24, blockSize: 32 }', want: { blockSize: 32 } },
    { name: '/128 blocks', pool: '{ cidr: "fd00:3::/120", blockSize: 128 }', want: { blockSize: 128 } },
  ];
  for (const c of pools) {
    it(`pool: ${c.name}`, () => {
      const cfg = parseOk(`${NODE}\nipam:\n  pools: [${c.pool}]\n`);
      expect(cfg.ipam.pools[0]).to.deep.include(c.want);
      // The service can build every pool the file accepts.
      expect(() => poolFromSpec(cfg.ipam.pools[0])).to.not.throw();
    });
  }

  it('reservations are canonical prefixes; a bare address is a host prefix', () => {
    const cfg = parseOk(yaml`
      ${NODE}
      ipam:
        pools: [{ cidr: 10.244.0.0/16 }, { cidr: "fd00::/64" }]
        reservations: [10.244.0.1, "FD00::0:1", 10.244.255.0/24]
    `);
    expect(cfg.ipam.reservations).to.deep.equal(['10.244.0.1/32', 'fd00::1/128', '10.244.255.0/24']);
  });

  it('strict affinity off, timers, an explicit directory', () => {
    const cfg = parseOk(yaml`
      ${NODE}
      ipam:
        strictAffinity: false
        releaseCooldownSec: 0
        gcGraceSec: 600
        datastore: { type: local, directory: /var/lib/tortie-shared/ipam }
    `);
    expect(cfg.ipam).to.deep.include({ strictAffinity: false, releaseCooldownSec: 0, gcGraceSec: 600, datastore: { type: 'local', directory: '/var/lib/tortie-shared/ipam' } });
  });

  it('node.labels: strings, prefixed keys, empty values', () => {
    const cfg = parseOk(yaml`
      node:
        asn: 65001
        sourceAddress: 192.0.2.10
        labels:
          zone: a
          topology.kubernetes.io/rack: "r1"
          gpu:
    `);
    expect(cfg.node.labels).to.deep.equal({ zone: 'a', 'topology.kubernetes.io/rack': 'r1', gpu: '' });
  });

  it('--check-config mentions the pools', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tortie-cfg-'));
    try {
      const file = join(dir, 'n.yaml');
      writeFileSync(file, `${NODE}\nbgp: { peers: [] }\nipam: { pools: [{ name: a, cidr: 10.244.0.0/16 }, { name: b, cidr: "fd00::/64", disabled: true }] }\n`);
      const r = checkConfigFile(file);
      expect(r.ok).to.equal(true);
      expect(r.text).to.include('IPAM: a 10.244.0.0/16 /26, b fd00::/64 /122 (disabled); strict affinity on; local datastore in /var/lib/tortie/ipam');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
