/**
 * tortiectl against a control server with canned answers: formats, exit
 * codes, and the message when no agent runs.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { silentLogger } from '../lib/log.js';
import type { IpamCheckView, IpamShowView, PolicyShowView, PolicyVerifyView, RouteView, SessionView, StatusView } from './api-types.js';
import { ControlServer } from './control-server.js';
import { runCtl } from './ctl.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');

const SESSIONS: SessionView[] = [
  { peer: '192.0.2.1', peerAsn: 65100, type: 'explicit', source: 'file', state: 'Established', since: '2026-11-22T11:57:00Z', uptimeSec: 180, families: ['ipv4-unicast'], received: 10, accepted: 9, advertised: 2, stale: 0, flaps: 1, updatesIn: 3, updatesOut: 1, peerRouterId: '192.0.2.1', description: 'tor-a' },
  { peer: '192.0.2.12', peerAsn: 65001, type: 'mesh', source: 'node/node-b', state: 'Active', uptimeSec: 0, families: [], received: 0, accepted: 0, advertised: 0, stale: 0, flaps: 0, updatesIn: 0, updatesOut: 0,
    lastError: { text: 'OPEN rejected: bad peer AS 65002, expected 65001', reason: 'open-message-error', code: 2, subcode: 2, direction: 'sent', at: '2026-11-22T11:59:00Z' } },
];
const ROUTES: RouteView[] = [{
  prefix: '10.244.2.0/26', reason: 'as-path-length',
  best: { peer: '192.0.2.12', nextHops: ['192.0.2.12'], asPath: '', origin: 'igp', localPref: 100, communities: [], largeCommunities: [], stale: false },
  multipath: [], alternatives: [{ peer: '192.0.2.1', nextHops: ['192.0.2.1'], asPath: '65100 65002', origin: 'igp', communities: ['65000:1'], largeCommunities: [], stale: false }],
}];
const STATUS: StatusView = {
  version: '0.1.0', node: 'node-a', asn: 65001, routerId: '192.0.2.11', startedAt: '2026-11-22T11:50:00Z', uptimeSec: 600, ready: false,
  notReady: ['session 192.0.2.12 not established yet'], configFile: '/etc/tortie/tortie.yaml', configLoadedAt: '2026-11-22T11:50:00Z',
  sessions: { configured: 2, established: 1 }, routes: { bgp: 12, kernel: 11, originated: 1, failed: 1 },
  routeFailures: [{ prefix: '198.18.5.0/24', error: 'Nexthop has invalid gateway' }],
  policy: { error: 'ERR_POLICY_BACKEND_MIXED: rules in both iptables-nft and iptables-legacy', pods: 0, programmed: 0 },
  kubernetes: {
    state: 'stale', stale: true, since: '2026-11-22T11:55:00Z', server: 'https://127.0.0.1:6443', selfFound: true, meshMembers: 1, bgpPeers: 0, ipPools: 1,
    problems: ['node node-x: bad tortie.io/asn annotation "x"'], nodesWithoutAddress: [], changes: 2,
    resources: [{ resource: 'nodes', synced: true, connected: false, objects: 3, lastError: 'connect ECONNREFUSED 127.0.0.1:6443' }],
  },
};

const IPAM_SHOW: IpamShowView = {
  node: 'node-a', datastore: { kind: 'local', location: '/var/lib/tortie/ipam' }, strictAffinity: true, releaseCooldownSec: 30, gcGraceSec: 60,
  reservations: ['10.244.0.0/32'],
  pools: [{
    name: 'default', cidr: '10.244.0.0/24', family: 'ipv4', blockSize: 26, nodeSelector: 'all()', disabled: false, selectsThisNode: true,
    blocks: { total: '4', claimed: 4, thisNode: 2 }, addresses: { total: '256', inClaimedBlocks: 256, used: 200, reserved: '1' }, blockUtilizationPct: 78.13,
    lastError: { at: '2026-11-22T11:58:00Z', code: 'ERR_IPAM_POOL_EXHAUSTED', message: 'no IPv4 address left for node node-a: pool default (10.244.0.0/24, /26 blocks): no free block (all 4 blocks are claimed (2 by node-a, 2 by other nodes)), node-a\'s 2 blocks are full, and borrowing from other nodes\' blocks is disabled (ipam.strictAffinity is true)' },
  }],
  blocks: [
    { cidr: '10.244.0.0/26', pool: 'default', node: 'node-a', size: 64, used: 63, free: 0, cooling: 0, reserved: 1, lentOut: 0, claimedAt: '2026-11-22T10:00:00Z' },
    { cidr: '10.244.0.64/26', pool: 'default', node: 'node-b', size: 64, used: 10, free: 54, cooling: 2, reserved: 0, lentOut: 1, claimedAt: '2026-11-22T10:00:00Z' },
  ],
  borrowed: [{ address: '10.244.0.70', block: '10.244.0.64/26', blockNode: 'node-b', node: 'node-c', handle: 'abc/eth0' }],
  nodes: [{ name: 'node-a', lastSeen: '2026-11-22T11:59:00Z', blocks: 2 }],
  originated: ['10.244.0.0/26'],
  stats: { batches: 10, writes: 12, conflicts: 1, unknownOutcomes: 0, retries: 1, lists: 2 },
};
const IPAM_CHECK: IpamCheckView = {
  node: 'node-a', checkedAt: '2026-11-22T12:00:00Z', allocations: 3, basis: 'netns', unknown: 1, ok: false,
  leaks: [{ address: '10.244.0.9', handle: 'dead/eth0', node: 'node-a', reason: 'its network namespace /var/run/netns/x is gone', namespace: 'default', pod: 'web-1', assignedAt: '2026-11-22T09:00:00Z' }],
  orphanedBlocks: [{ cidr: '10.244.0.128/26', node: 'node-z', used: 0, reason: 'its node node-z is gone (no node record)' }],
};

const POLICY_SHOW: PolicyShowView = {
  pod: 'x/a', local: true, ifName: 'tortie1a2b3c', ips: ['10.244.0.5'],
  ingress: {
    isolated: true, chain: 'TORTIE-PI-0123456789abcdef',
    policies: [{ policy: 'x/allow-b', chain: 'TORTIE-NI-fedcba9876543210', rules: [{ index: 0, peers: ['pods app=b in namespace x'], ports: ['TCP 80'] }] }],
  },
  egress: { isolated: false, policies: [] },
  issues: [],
  status: { pod: 'x/a', state: 'programmed', ifName: 'tortie1a2b3c', ingressIsolated: true, egressIsolated: false },
};
const POLICY_VERIFY: PolicyVerifyView = {
  ok: false, backend: 'nft', applyPending: false,
  tables: [{ family: 4, missingChains: ['TORTIE-PI-0123456789abcdef'], extraChains: [], differingChains: [], missingJumps: [], duplicateJumps: [] }],
  missingSets: [], extraSets: [], differingSets: [{ name: 'TORTIE-SP-1111222233334444', missingMembers: ['10.244.0.6'], extraMembers: [] }],
  conflictingSets: [], podsAffected: ['x/a'], chainsChecked: 9, rulesChecked: 30, setsChecked: 3,
};

describe('agent: tortiectl', () => {
  let dir: string;
  let sock: string;
  let server: ControlServer;
  let lastQuery = '';
  let lastBody: unknown;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tortiectl-'));
    sock = join(dir, 'ctl.sock');
    server = new ControlServer(sock, {
      'GET /v1/status': () => STATUS,
      'GET /v1/bgp/sessions': () => ({ sessions: SESSIONS }),
      'GET /v1/bgp/routes': (url) => {
        lastQuery = url.search;
        return { routes: ROUTES };
      },
      'GET /v1/ipam/show': (url) => {
        lastQuery = url.search;
        return IPAM_SHOW;
      },
      'GET /v1/ipam/check': () => IPAM_CHECK,
      'POST /v1/ipam/check': (_url, body) => {
        lastBody = body;
        return { ...IPAM_CHECK, basis: 'attachments', leaks: [], orphanedBlocks: [], ok: true };
      },
      'GET /v1/policy/pods/*': (url) => {
        lastQuery = url.pathname;
        return POLICY_SHOW;
      },
      'GET /v1/policy/verify': () => POLICY_VERIFY,
      'POST /v1/ipam/release': (_url, body) => {
        lastBody = body;
        return { released: [{ address: '10.244.0.9', handle: 'dead/eth0', block: '10.244.0.0/26', node: 'node-a' }] };
      },
    }, silentLogger);
    await server.start();
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function ctl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await runCtl([...args, '--socket', sock], { out: (s) => { out += s; }, err: (s) => { err += s; }, now: () => NOW });
    return { code, out, err };
  }

  it('creates the control socket with mode 0600', () => {
    expect(statSync(sock).mode & 0o777).to.equal(0o600);
  });

  it('bgp sessions prints a table with plain-word errors', async () => {
    const r = await ctl('bgp', 'sessions');
    expect(r.code).to.equal(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).to.match(/^PEER\s+ASN\s+TYPE\s+SOURCE\s+STATE\s+SINCE\s+RCVD\s+ACCEPTED\s+ADVERTISED\s+LAST ERROR$/);
    expect(lines[1]).to.match(/^192\.0\.2\.1\s+65100\s+explicit\s+file\s+Established\s+3m0s\s+10\s+9\s+2$/);
    expect(lines[2]).to.contain('OPEN rejected: bad peer AS 65002, expected 65001');
    expect(lines[2]).to.match(/\bmesh\s+node\/node-b\s+Active\s+never\b/);
  });

  it('-o json and -o yaml print the API objects unchanged', async () => {
    expect(JSON.parse((await ctl('bgp', 'sessions', '-o', 'json')).out)).to.deep.equal(SESSIONS);
    expect(parseYaml((await ctl('bgp', 'sessions', '-o', 'yaml')).out)).to.deep.equal(SESSIONS);
    expect(JSON.parse((await ctl('status', '-o', 'json')).out)).to.deep.equal(STATUS);
  });

  it('-o wide adds router ID, families, stale, flaps and description', async () => {
    const r = await ctl('bgp', 'sessions', '-o', 'wide');
    expect(r.out.split('\n')[0]).to.contain('ROUTER ID').and.contain('DESCRIPTION');
    expect(r.out).to.contain('tor-a');
  });

  it('bgp routes passes the prefix and shows the reason; wide shows alternatives', async () => {
    const r = await ctl('bgp', 'routes', '10.244.2.0/26');
    expect(lastQuery).to.contain('prefix=10.244.2.0%2F26');
    expect(r.out).to.match(/10\.244\.2\.0\/26\s+192\.0\.2\.12\s+\(empty\)\s+192\.0\.2\.12\s+as-path-length\s+2/);
    const w = await ctl('bgp', 'routes', '-o', 'wide');
    expect(w.out).to.contain('65100 65002').and.contain('65000:1');
  });

  it('status explains why the agent is not ready', async () => {
    const r = await ctl('status');
    expect(r.out).to.contain('Ready:         no: session 192.0.2.12 not established yet');
    expect(r.out).to.contain('Sessions:      1/2 established');
    expect(r.out).to.contain('Not in kernel: 198.18.5.0/24: Nexthop has invalid gateway');
    expect(r.out).to.contain('NetworkPolicy: NOT ENFORCING: ERR_POLICY_BACKEND_MIXED: rules in both');
    expect(r.out).to.contain('Kubernetes:    STALE since 2026-11-22T11:55:00Z (API unreachable; the last peers and routes stay): 1 mesh member(s)');
    expect(r.out).to.contain('Left out:      node node-x: bad tortie.io/asn annotation');
    expect(r.out).to.contain('API error:     nodes: connect ECONNREFUSED');
  });

  it('says clearly when the agent is not running, with exit status 3', async () => {
    let err = '';
    const code = await runCtl(['bgp', 'sessions', '--socket', join(dir, 'missing.sock')], { out: () => undefined, err: (s) => { err += s; } });
    expect(code).to.equal(3);
    expect(err).to.contain('tortie-agent is not running');
  });

  it('ipam show: pools with their state, blocks per node, borrowed addresses, the exhaustion in words', async () => {
    const r = await ctl('ipam', 'show');
    expect(r.code, r.err).to.equal(0);
    expect(lastQuery).to.equal('');
    expect(r.out).to.match(/^POOL\s+CIDR\s+BLOCK\s+STATE\s+BLOCKS\s+MINE\s+USED\s+UTIL$/m);
    expect(r.out).to.match(/^default\s+10\.244\.0\.0\/24\s+\/26\s+EXHAUSTED\s+4\/4\s+2\s+200\/256\s+78%$/m);
    expect(r.out).to.contain('Pool default exhausted at 2026-11-22T11:58:00Z (ERR_IPAM_POOL_EXHAUSTED):');
    expect(r.out).to.contain('borrowing from other nodes\' blocks is disabled');
    expect(r.out).to.match(/^10\.244\.0\.64\/26\s+default\s+node-b\s+10\/64\s+54\s+2\s+1$/m);
    expect(r.out).to.match(/^10\.244\.0\.70\s+10\.244\.0\.64\/26\s+node-b\s+node-c\s+abc\/eth0$/m);
    const w = await ctl('ipam', 'show', '-o', 'wide');
    expect(lastQuery).to.equal('?allocations=1');
    expect(w.out).to.contain('SELECTOR').and.contain('Reservations: 10.244.0.0/32').and.contain('Allocator: 10 batches, 12 block writes, 1 CAS conflicts');
    expect(JSON.parse((await ctl('ipam', 'show', '-o', 'json')).out)).to.deep.equal(IPAM_SHOW);
    expect(parseYaml((await ctl('ipam', 'show', '-o', 'yaml')).out)).to.deep.equal(IPAM_SHOW);
  });

  it('ipam check: leaks and orphaned blocks, exit status 1 when it finds any; --attachments posts the list', async () => {
    const r = await ctl('ipam', 'check');
    expect(r.code).to.equal(1);
    expect(r.out).to.contain('PROBLEMS FOUND: 3 allocations checked');
    expect(r.out).to.match(/^10\.244\.0\.9\s+dead\/eth0\s+node-a\s+default\/web-1\s+\S+\s+its network namespace \/var\/run\/netns\/x is gone$/m);
    expect(r.out).to.match(/^10\.244\.0\.128\/26\s+node-z\s+0\s+its node node-z is gone/m);
    const file = join(dir, 'att.json');
    writeFileSync(file, JSON.stringify([{ containerId: 'c1', ifname: 'eth0' }]));
    const ok = await ctl('ipam', 'check', '--attachments', file, '--network', 'podnet');
    expect(ok.code).to.equal(0);
    expect(lastBody).to.deep.equal({ attachments: [{ containerId: 'c1', ifname: 'eth0' }], network: 'podnet' });
    expect(ok.out).to.match(/^OK: /);
  });

  it('ipam release --ip / --handle, exactly one of them', async () => {
    const r = await ctl('ipam', 'release', '--ip', '10.244.0.9');
    expect(r.code).to.equal(0);
    expect(lastBody).to.deep.equal({ ip: '10.244.0.9' });
    expect(r.out).to.equal('released 10.244.0.9 (handle dead/eth0, block 10.244.0.0/26, node node-a)\n');
    await ctl('ipam', 'release', '--handle', 'dead/eth0');
    expect(lastBody).to.deep.equal({ handle: 'dead/eth0' });
    const both = await ctl('ipam', 'release', '--ip', '10.244.0.9', '--handle', 'x/eth0');
    expect(both.code).to.equal(2);
    expect(both.err).to.contain('give exactly one of --ip and --handle');
    expect((await ctl('ipam', 'release')).code).to.equal(2);
  });

  it('policy show: per direction, isolation, policies and rules; wide adds chains; json unchanged', async () => {
    const r = await ctl('policy', 'show', 'x/a');
    expect(r.code, r.err).to.equal(0);
    expect(lastQuery).to.equal('/v1/policy/pods/x/a');
    expect(r.out).to.contain('State:      programmed');
    expect(r.out).to.contain('Ingress: isolated\n  policy x/allow-b\n    rule 0: from pods app=b in namespace x; ports TCP 80');
    expect(r.out).to.contain('Egress: not isolated');
    expect(r.out).not.to.contain('TORTIE-PI-');
    expect((await ctl('policy', 'show', 'x/a', '-o', 'wide')).out).to.contain('(chain TORTIE-PI-0123456789abcdef)');
    expect(JSON.parse((await ctl('policy', 'show', 'x/a', '-o', 'json')).out)).to.deep.equal(POLICY_SHOW);
    expect(parseYaml((await ctl('policy', 'show', 'x/a', '-o', 'yaml')).out)).to.deep.equal(POLICY_SHOW);
    const bad = await ctl('policy', 'show', 'just-a-name');
    expect(bad.code).to.equal(1);
    expect(bad.err).to.contain('expected <namespace>/<pod>');
  });

  it('policy verify: what differs and the pods affected, exit status 1 when out of sync', async () => {
    const r = await ctl('policy', 'verify');
    expect(r.code).to.equal(1);
    expect(r.out).to.match(/^OUT OF SYNC: 9 chains, 30 rules, 3 sets checked \(backend nft\)$/m);
    expect(r.out).to.contain('iptables: missing chains: TORTIE-PI-0123456789abcdef');
    expect(r.out).to.contain('ipset: TORTIE-SP-1111222233334444: missing 10.244.0.6; extra -');
    expect(r.out).to.contain('pods affected: x/a');
    expect(JSON.parse((await ctl('policy', 'verify', '-o', 'json')).out)).to.deep.equal(POLICY_VERIFY);
  });

  it('rejects an unknown command with usage help and exit status 2', async () => {
    const r = await ctl('bgp', 'neighbours');
    expect(r.code).to.equal(2);
    expect(r.err).to.contain('tortiectl --help');
  });
});
