/**
 * Broken-config cases for the ipam, policy and node.labels sections, run by
 * load.test.ts with the rest of the table (kept apart to keep files small).
 */
import { yaml, type Want } from './test-fixtures.js';

export interface BadCase {
  name: string;
  text: string;
  issues: Want[];
}

export const NODE = 'node: { asn: 65001, sourceAddress: 192.0.2.10 }';

export const BAD_SECTIONS: BadCase[] = [
  // ------------------------------------------------------------ ipam
  {
    name: 'ipam: overlapping pools',
    text: yaml`
      ${NODE}
      ipam:
        pools:
          - { name: a, cidr: 10.244.0.0/16 }
          - { name: b, cidr: 10.244.128.0/17 }
    `,
    issues: [{ line: 5, column: 24, path: 'ipam.pools[1].cidr', message: '10.244.128.0/17 overlaps pool a (10.244.0.0/16, ipam.pools[0].cidr at line 4)' }],
  },
  {
    name: 'ipam: a pool name used twice',
    text: yaml`
      ${NODE}
      ipam:
        pools:
          - { name: a, cidr: 10.244.0.0/16 }
          - { name: a, cidr: 10.245.0.0/16 }
    `,
    issues: [{ line: 5, column: 15, path: 'ipam.pools[1].name', message: 'pool name a is used twice (also ipam.pools[0].name at line 4)' }],
  },
  {
    name: 'ipam: block sizes out of range or larger than the pool',
    text: yaml`
      ${NODE}
      ipam:
        pools:
          - { cidr: 10.244.0.0/16, blockSize: 19 }
          - { cidr: "fd00::/64", blockSize: 26 }
          - { cidr: 10.250.0.0/28, blockSize: 26 }
    `,
    issues: [
      { line: 4, column: 41, path: 'ipam.pools[0].blockSize', message: 'block size /19 is out of range for IPv4 (20..32)' },
      { line: 5, column: 39, path: 'ipam.pools[1].blockSize', message: 'block size /26 is out of range for IPv6 (116..128)' },
      { line: 6, column: 41, path: 'ipam.pools[2].blockSize', message: 'block size /26 is larger than the pool 10.250.0.0/28 itself' },
    ],
  },
  {
    name: 'ipam: a node selector that does not parse',
    text: yaml`
      ${NODE}
      ipam:
        pools:
          - cidr: 10.244.0.0/16
            nodeSelector: zone = "a"
    `,
    issues: [{ line: 5, column: 21, path: 'ipam.pools[0].nodeSelector', message: '"zone = \\"a\\"": unexpected character "=" at column 6' }],
  },
  {
    name: 'ipam: reservations outside every pool, twice, or not an address',
    text: yaml`
      ${NODE}
      ipam:
        pools: [{ cidr: 10.244.0.0/16 }]
        reservations: [10.244.0.0/30, 192.0.2.0/24, 10.244.0.0/30, 10.244.1.300]
    `,
    issues: [
      { line: 4, column: 33, path: 'ipam.reservations[1]', message: '192.0.2.0/24 lies outside every pool (a reservation only matters inside one)' },
      { line: 4, column: 47, path: 'ipam.reservations[2]', message: '10.244.0.0/30 is listed twice (also ipam.reservations[0] at line 4)' },
      { line: 4, column: 62, path: 'ipam.reservations[3]', message: '"10.244.1.300" is not an IP address or CIDR prefix' },
    ],
  },
  // ------------------------------------------------------------ policy
  {
    name: 'kubernetes: relative kubeconfig, bad and repeated CIDRs, grace out of range, unknown key',
    text: yaml`
      ${NODE}
      kubernetes:
        enabled: yes
        kubeconfig: kube/config
        nodeAddressCidrs: [192.0.2.0/33, 10.0.0.0/8, 10.0.0.0/8]
        nodeGcGraceSec: 100000
        namespace: x
    `,
    issues: [
      { line: 3, column: 12, path: 'kubernetes.enabled', has: 'expected true or false' },
      { line: 4, column: 15, path: 'kubernetes.kubeconfig', message: '"kube/config" is not an absolute path' },
      { line: 5, column: 22, path: 'kubernetes.nodeAddressCidrs[0]', has: 'prefix length 33 is out of range' },
      { line: 5, column: 48, path: 'kubernetes.nodeAddressCidrs[2]', has: 'is listed twice' },
      { line: 6, column: 19, path: 'kubernetes.nodeGcGraceSec', message: '100000 is out of range (0..86400 seconds)' },
      { line: 7, column: 3, path: 'kubernetes.namespace', has: 'unknown field' },
    ],
  },
  {
    name: 'policy: enabled without a manifest directory, a bad prefix and backend',
    text: yaml`
      ${NODE}
      policy:
        enabled: true
        ifacePrefix: "veth prefix"
        backend: iptables
    `,
    issues: [
      { line: 3, column: 12, path: 'policy.enabled', has: 'policy needs a source: policy.manifestDir' },
      { line: 4, column: 16, path: 'policy.ifacePrefix', has: 'is not a valid prefix' },
      { line: 5, column: 12, path: 'policy.backend', message: '"iptables" is not one of auto, nft, legacy' },
    ],
  },
  {
    name: 'policy: kube-proxy\'s mark, a relative manifest dir, a family twice, a bad node address',
    text: yaml`
      ${NODE}
      policy:
        manifestDir: manifests
        markBit: 0x4000
        families: [ipv4, ipv4]
        nodeAddresses: [192.0.2.300]
        cniWaitMs: 120000
    `,
    issues: [
      { line: 3, column: 16, path: 'policy.manifestDir', message: '"manifests" is not an absolute path' },
      { line: 4, column: 12, path: 'policy.markBit', has: 'kube-proxy\'s masquerade mark' },
      { line: 5, column: 20, path: 'policy.families[1]', message: 'ipv4 is listed twice (also policy.families[0] at line 5)' },
      { line: 6, column: 19, path: 'policy.nodeAddresses[0]', message: '"192.0.2.300" is not an IP address' },
      { line: 7, column: 14, path: 'policy.cniWaitMs', message: '120000 is out of range (0..60000 ms)' },
    ],
  },
  {
    name: 'policy: a mark of two bits',
    text: yaml`
      ${NODE}
      policy: { markBit: 0x300000 }
    `,
    issues: [{ line: 2, column: 20, path: 'policy.markBit', message: '0x300000 is not a single bit' }],
  },
  {
    name: 'ipam: kubernetes datastore without kubernetes, a directory for it, wrong types',
    text: yaml`
      ${NODE}
      ipam:
        datastore: { type: kubernetes, directory: /var/lib/x }
        strictAffinity: "no"
        releaseCooldownSec: -1
    `,
    issues: [
      { line: 3, column: 22, path: 'ipam.datastore.type', has: 'the kubernetes datastore needs kubernetes.enabled' },
      { line: 3, column: 45, path: 'ipam.datastore.directory', message: 'is only for the local datastore (type: local)' },
      { line: 4, column: 19, path: 'ipam.strictAffinity', message: 'expected true or false, got a string ("no")' },
      { line: 5, column: 23, path: 'ipam.releaseCooldownSec', message: '-1 is out of range (0..86400 seconds)' },
    ],
  },
  {
    name: 'ipam: a pool with host bits, a misspelt field and a bad name',
    text: yaml`
      ${NODE}
      ipam:
        pools:
          - cidr: 10.244.0.1/16
            blocksize: 26
            name: Bad_Name
    `,
    issues: [
      { line: 4, column: 13, path: 'ipam.pools[0].cidr', message: '"10.244.0.1/16" has host bits set (the network is 10.244.0.0/16)' },
      { line: 5, column: 7, path: 'ipam.pools[0].blocksize', message: 'unknown field (did you mean blockSize?)' },
      { line: 6, column: 13, path: 'ipam.pools[0].name', has: '"Bad_Name" is not a valid pool name' },
    ],
  },
  {
    name: 'node.labels: a number, a bad key, a bad value',
    text: yaml`
      node:
        asn: 65001
        sourceAddress: 192.0.2.10
        labels:
          zone: 1
          "bad key!": x
          example.com/rack: "r 1"
    `,
    issues: [
      { line: 5, column: 11, path: 'node.labels.zone', message: 'expected a string (quote numbers and booleans), got an integer (1)' },
      { line: 6, column: 5, path: 'node.labels.bad key!', has: 'is not a valid label key' },
      { line: 7, column: 23, path: 'node.labels.example.com/rack', has: '"r 1" is not a valid label value' },
    ],
  },
];
