/**
 * tortiectl against a control server with canned answers: formats, exit
 * codes, and the message when no agent runs.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { silentLogger } from '../lib/log.js';
import type { RouteView, SessionView, StatusView } from './api-types.js';
import { ControlServer } from './control-server.js';
import { runCtl } from './ctl.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');

const SESSIONS: SessionView[] = [
  { peer: '192.0.2.1', peerAsn: 65100, type: 'explicit', state: 'Established', since: '2026-11-22T11:57:00Z', uptimeSec: 180, families: ['ipv4-unicast'], received: 10, accepted: 9, advertised: 2, stale: 0, flaps: 1, updatesIn: 3, updatesOut: 1, peerRouterId: '192.0.2.1', description: 'tor-a' },
  { peer: '192.0.2.12', peerAsn: 65001, type: 'mesh', state: 'Active', uptimeSec: 0, families: [], received: 0, accepted: 0, advertised: 0, stale: 0, flaps: 0, updatesIn: 0, updatesOut: 0,
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
};

describe('agent: tortiectl', () => {
  let dir: string;
  let sock: string;
  let server: ControlServer;
  let lastQuery = '';
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
    expect(lines[0]).to.match(/^PEER\s+ASN\s+TYPE\s+STATE\s+SINCE\s+RCVD\s+ACCEPTED\s+ADVERTISED\s+LAST ERROR$/);
    expect(lines[1]).to.match(/^192\.0\.2\.1\s+65100\s+explicit\s+Established\s+3m0s\s+10\s+9\s+2$/);
    expect(lines[2]).to.contain('OPEN rejected: bad peer AS 65002, expected 65001');
    expect(lines[2]).to.match(/\bmesh\s+Active\s+never\b/);
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
  });

  it('says clearly when the agent is not running, with exit status 3', async () => {
    let err = '';
    const code = await runCtl(['bgp', 'sessions', '--socket', join(dir, 'missing.sock')], { out: () => undefined, err: (s) => { err += s; } });
    expect(code).to.equal(3);
    expect(err).to.contain('tortie-agent is not running');
  });

  it('rejects an unknown command with usage help and exit status 2', async () => {
    const r = await ctl('bgp', 'neighbours');
    expect(r.code).to.equal(2);
    expect(r.err).to.contain('tortiectl --help');
  });
});
