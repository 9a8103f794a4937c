/**
 * The end-to-end suite, run once per topology: build the lab with the netns
 * runner, create pods through the tortie CNI plugin, and check what the
 * issue asks of every topology (sessions, blocks, ToR tables with their AS
 * paths, kernel routes, all-pairs reachability over plain IP, agent
 * restarts without loss, withdrawal of a stopped node within the hold time).
 *
 * Each topology file (mesh3, leaf-spine, leaf-spine-ds) describes only what
 * it expects; the checks live here. The lab gets a unique name per process
 * (`<name>-e<pid>`), so a lab someone left up, or the demo, never collides.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { SessionView } from '../../../agent/api-types.js';
import { allEstablished, bgpRoutesOf, ownBlocks, sessionsOf, type Family, type LabRoute } from '../../../lab/bgp-views.js';
import { sleep, waitFor } from '../../../lab/command.js';
import { bindFor } from '../../../lab/clab-file.js';
import { CONFIG_PATHS, REPO_ROOT } from '../../../lab/daemons.js';
import { Lab } from '../../../lab/lab.js';
import { addPod } from '../../../lab/pods.js';
import type { PodRecord } from '../../../lab/state.js';
import { kernelRoutes, tortiectl } from '../../../lab/tools.js';
import { captureLinks, pingMatrix, startPinger, tcpTransfer, TUNNEL_FILTER } from '../../../lab/probes.js';

export interface SuiteSpec {
  /** Topology file, relative to the repository. */
  file: string;
  families: readonly (4 | 6)[];
  /** Pod pools: every block must lie inside one. */
  pools: { 4: string; 6?: string };
  podsPerNode: number;
  /** The negotiated hold time of the node sessions, seconds. */
  holdTimeSec: number;
  /**
   * Per router (ToR or spine): the AS path it must hold for each tortie
   * node's blocks. A router listed here must hold exactly these nodes' blocks.
   */
  routerPaths: Record<string, Record<string, number[]>>;
  /**
   * Per tortie node: the AS path of each other node's blocks in its Loc-RIB;
   * `null` means the node must not hold them (e.g. rejected by AS-path loop
   * detection: the rack-mate's blocks come back with its own AS).
   */
  nodePaths: Record<string, Record<string, number[] | null>>;
  /** Agent restarts: `node`'s agent restarts while pods on `from` ping pods on `node` (and back). */
  restart: { node: string; from: string[] };
  /** The node stopped at the end. */
  stop: string;
}

function fam(f: 4 | 6): Family {
  return f === 4 ? 'ipv4' : 'ipv6';
}

export function describeLabSuite(title: string, spec: SuiteSpec): void {
  describe(title, function () {
    this.timeout(180_000);
    let lab: Lab;
    const pods: PodRecord[] = [];
    const blocks = new Map<string, string[]>(); // node -> its own blocks (both families)
    const tortieNodes = (): string[] => lab.nodesOf('tortie').map((n) => n.name);

    before(async function () {
      this.timeout(240_000);
      if (process.getuid?.() !== 0) throw new Error('the e2e tests need root (network namespaces); run them as root (CI does)');
      const base = Lab.load(`${REPO_ROOT}/${spec.file}`);
      lab = Lab.load(`${REPO_ROOT}/${spec.file}`, { name: `${base.name}-e${process.pid.toString(36)}` });
      await lab.down(); // leftovers of an earlier run with the same PID
      await lab.up();
      await waitFor('every BGP session to be Established', async () => (await allEstablished(lab)) ? true : undefined, 60_000, 250);
      for (const n of tortieNodes()) {
        for (let i = 1; i <= spec.podsPerNode; i++) pods.push(await addPod(lab, n, `p${i}`));
      }
      for (const n of tortieNodes()) blocks.set(n, await ownBlocks(lab, n));
      await waitFor('every router to hold every block', async () => {
        for (const r of Object.keys(spec.routerPaths)) {
          for (const f of spec.families) {
            const have = new Set((await bgpRoutesOf(lab, r, fam(f))).map((x) => x.prefix));
            for (const owner of Object.keys(spec.routerPaths[r])) if (blocksOf(owner, f).some((b) => !have.has(b))) return undefined;
          }
        }
        return true;
      }, 60_000, 250);
    });

    after(async function () {
      this.timeout(60_000);
      if (lab) await lab.down();
    });

    function blocksOf(node: string, f: 4 | 6): string[] {
      return (blocks.get(node) ?? []).filter((b) => b.includes(':') === (f === 6));
    }

    it('tortiectl bgp sessions -o json on every node lists exactly its configured peers, all Established, and each peer has the node back', async () => {
      for (const n of tortieNodes()) {
        const sessions = JSON.parse(await tortiectl(lab, n, ['bgp', 'sessions', '-o', 'json'])) as SessionView[];
        const want = configuredPeers(lab, n);
        expect(sessions.map((s) => `${s.peer} AS${s.peerAsn}`).sort(), `${n}: sessions`).to.deep.equal(want.map((p) => `${p.address} AS${p.asn}`).sort());
        for (const s of sessions) expect(s.state, `${n} -> ${s.peer}`).to.equal('Established');
      }
      // The other side: every router session toward a tortie node is Established too.
      for (const r of lab.topo.nodes.filter((x) => x.role === 'frr' || x.role === 'bird')) {
        for (const s of await sessionsOf(lab, r.name)) expect(s.state, `${r.name} -> ${s.peer}`).to.equal('Established');
      }
    });

    it('every node owns its blocks: inside the pools, disjoint, and its pods\' addresses are in them', () => {
      const seen = new Map<string, string>();
      for (const n of tortieNodes()) {
        for (const f of spec.families) {
          const own = blocksOf(n, f);
          expect(own.length, `${n}: IPv${f} blocks`).to.be.greaterThan(0);
          for (const b of own) {
            expect(inPrefix(b, spec.pools[f]!), `${n}: ${b} inside ${spec.pools[f]}`).to.equal(true);
            expect(seen.get(b), `${b} owned twice`).to.equal(undefined);
            seen.set(b, n);
          }
        }
      }
      for (const p of pods) {
        for (const a of p.addresses) {
          expect(blocks.get(p.node)!.some((b) => inPrefix(a, b)), `${p.node}/${p.name} ${a} inside ${blocks.get(p.node)!.join(', ')}`).to.equal(true);
        }
      }
    });

    it('each router holds exactly the expected blocks, each with the expected AS path', async () => {
      for (const [router, byOwner] of Object.entries(spec.routerPaths)) {
        for (const f of spec.families) {
          const routes = await bgpRoutesOf(lab, router, fam(f));
          const want = new Map<string, number[]>();
          for (const [owner, path] of Object.entries(byOwner)) for (const b of blocksOf(owner, f)) want.set(b, path);
          expect(routes.map((r) => r.prefix).sort(), `${router} IPv${f} prefixes`).to.deep.equal([...want.keys()].sort());
          for (const r of routes) {
            expect(r.paths.map((p) => p.asPath), `${router} ${r.prefix}: paths`).to.deep.equal([want.get(r.prefix)]);
          }
        }
      }
    });

    it('each node\'s Loc-RIB and kernel hold the other nodes\' blocks as expected', async () => {
      for (const n of tortieNodes()) {
        for (const f of spec.families) {
          const rib = new Map<string, LabRoute>((await bgpRoutesOf(lab, n, fam(f))).map((r) => [r.prefix, r]));
          const kernel = new Map((await kernelRoutes(lab, n, f)).map((r) => [r.dst, r]));
          for (const b of blocksOf(n, f)) expect(kernel.get(b)?.type, `${n}: blackhole for its own ${b}`).to.equal('blackhole');
          for (const [owner, path] of Object.entries(spec.nodePaths[n] ?? {})) {
            for (const b of blocksOf(owner, f)) {
              if (path === null) {
                expect(rib.get(b)?.paths.find((p) => p.best), `${n} must not use ${owner}'s ${b}`).to.equal(undefined);
                continue;
              }
              expect(rib.get(b)?.paths.find((p) => p.best)?.asPath, `${n}: AS path of ${owner}'s ${b}`).to.deep.equal(path);
              const k = kernel.get(b);
              expect(k?.protocol, `${n}: kernel route for ${owner}'s ${b}`).to.equal('201');
              expect(k?.gateway ?? k?.nexthops?.[0]?.gateway, `${n}: ${b} via a next hop`).to.be.a('string');
            }
          }
        }
      }
    });

    for (const f of spec.families) {
      it(`every pod reaches every other pod over IPv${f}`, async function () {
        this.timeout(120_000);
        const results = await pingMatrix(pods, f);
        const failed = results.filter((r) => !r.ok);
        expect(failed.map((r) => `${r.from} -> ${r.to} (${r.address}): ${r.detail}`), `${failed.length} of ${results.length} failed`).to.deep.equal([]);
        expect(results.length).to.equal(pods.length * (pods.length - 1));
      });
    }

    it('pod-to-pod packets (ICMP and TCP) cross the links as plain IP: no VXLAN, GENEVE, IP-in-IP or GRE', async function () {
      this.timeout(120_000);
      const a = pods[0];
      const b = pods[pods.length - 1];
      expect(a.node).to.not.equal(b.node);
      const cap = await captureLinks(lab);
      try {
        for (const f of spec.families) {
          await pingMatrix([a, b], f);
          expect(await tcpTransfer(b, a, { family: f, seconds: 1 }), `TCP over IPv${f}`).to.be.greaterThan(0);
        }
        await cap.stop();
        let tunnelled = 0;
        const plain: Record<string, number> = {};
        for (const c of cap.captures) {
          tunnelled += await cap.count(c, TUNNEL_FILTER);
          for (const f of spec.families) {
            const [x, y] = [a, b].map((p) => p.addresses.find((ad) => ad.includes(':') === (f === 6))!.replace(/\/\d+$/, ''));
            const icmp = f === 4 ? 'icmp' : 'icmp6';
            plain[`icmp${f}`] = (plain[`icmp${f}`] ?? 0) + await cap.count(c, `${icmp} and src host ${x} and dst host ${y}`);
            plain[`tcp${f}`] = (plain[`tcp${f}`] ?? 0) + await cap.count(c, `tcp and host ${x} and host ${y}`);
          }
        }
        expect(tunnelled, 'tunnelled packets on the links').to.equal(0);
        for (const f of spec.families) {
          expect(plain[`icmp${f}`], `plain ICMPv${f} between the pods on the links`).to.be.greaterThan(0);
          expect(plain[`tcp${f}`], `plain TCP/IPv${f} between the pods on the links`).to.be.greaterThan(100);
        }
      } finally {
        await cap.stop();
        cap.dispose();
      }
    });

    for (const sig of ['SIGKILL', 'SIGTERM'] as const) {
      it(`restarting an agent (${sig === 'SIGKILL' ? 'a crash' : 'a clean stop'}, ${sig}) loses no pod-to-pod packets`, async function () {
        this.timeout(120_000);
        const target = pods.filter((p) => p.node === spec.restart.node);
        const others = pods.filter((p) => spec.restart.from.includes(p.node));
        const pingers = [];
        for (const f of spec.families) {
          for (const o of others) {
            pingers.push({ what: `${o.node}/${o.name} -> ${spec.restart.node} IPv${f}`, p: startPinger(o, target[0], f) });
            pingers.push({ what: `${spec.restart.node} -> ${o.node}/${o.name} IPv${f}`, p: startPinger(target[0], o, f) });
          }
        }
        await sleep(1_000);
        await lab.restartAgent(spec.restart.node, sig);
        await waitFor(`${spec.restart.node} to re-establish`, async () => (await allEstablished(lab)) ? true : undefined, 60_000, 250);
        await sleep(2_000);
        const lost: string[] = [];
        for (const { what, p } of pingers) {
          const r = await p.stop();
          expect(r.transmitted, `${what}: pings sent`).to.be.greaterThan(20);
          if (r.lost > 0) lost.push(`${what}: ${r.lost} of ${r.transmitted} lost`);
        }
        // Zero: the kernel keeps the routes on the restarting node, and its peers keep
        // them as stale (graceful restart: SIGTERM closes sessions without a NOTIFICATION).
        expect(lost, 'lost pings').to.deep.equal([]);
      });
    }

    it('stopping a node withdraws its blocks from every router and node within the hold time', async function () {
      this.timeout(120_000);
      const victim = spec.stop;
      const gone = [...spec.families].flatMap((f) => blocksOf(victim, f));
      const t0 = Date.now();
      await lab.stopNode(victim, 'crash');
      const holders = async (): Promise<string[]> => {
        const out: string[] = [];
        for (const n of lab.topo.nodes.filter((x) => x.role !== 'host' && x.name !== victim)) {
          for (const f of spec.families) {
            const rib = await bgpRoutesOf(lab, n.name, fam(f));
            if (rib.some((r) => gone.includes(r.prefix))) out.push(`${n.name} (BGP)`);
            if (n.role === 'tortie' && (await kernelRoutes(lab, n.name, f)).some((r) => gone.includes(r.dst))) out.push(`${n.name} (kernel)`);
          }
        }
        return out;
      };
      const left = await waitFor('the stopped node\'s blocks to disappear', async () => ((await holders()).length === 0 ? [] : undefined), (spec.holdTimeSec + 5) * 1000, 250)
        .catch(async () => holders());
      const elapsedSec = (Date.now() - t0) / 1000;
      expect(left, 'still holding the blocks').to.deep.equal([]);
      expect(elapsedSec, 'seconds until withdrawn everywhere').to.be.at.most(spec.holdTimeSec);
    });
  });
}

/** The peers a node's configuration file names: explicit peers plus mesh members other than itself. */
export function configuredPeers(lab: Lab, node: string): { address: string; asn: number }[] {
  const file = bindFor(lab.node(node), ...CONFIG_PATHS.tortie)!.hostPath;
  const cfg = parseYaml(readFileSync(file, 'utf8')) as {
    node: { name: string; asn: number; sourceAddress?: string; sourceAddressV6?: string };
    bgp?: { peers?: { address: string; asn: number }[]; nodeToNodeMesh?: { enabled?: boolean; members?: { address: string; asn?: number; name?: string }[] } };
  };
  const self = new Set([cfg.node.sourceAddress, cfg.node.sourceAddressV6]);
  const mesh = cfg.bgp?.nodeToNodeMesh?.enabled === false ? [] : (cfg.bgp?.nodeToNodeMesh?.members ?? [])
    .filter((m) => !self.has(m.address) && m.name !== cfg.node.name)
    .map((m) => ({ address: m.address, asn: m.asn ?? cfg.node.asn }));
  return [...(cfg.bgp?.peers ?? []).map((p) => ({ address: p.address, asn: p.asn })), ...mesh];
}

/** True when address or prefix `a` lies inside prefix `p` (IPv4 or IPv6 text). */
export function inPrefix(a: string, p: string): boolean {
  const [addrA, lenA] = a.split('/');
  const [addrP, lenP] = p.split('/');
  const v6 = addrA.includes(':');
  if (v6 !== addrP.includes(':')) return false;
  const bits = (x: string): bigint => (v6 ? v6Bits(x) : x.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n));
  const width = v6 ? 128 : 32;
  const plen = Number(lenP);
  if (lenA !== undefined && Number(lenA) < plen) return false;
  const shift = BigInt(width - plen);
  return (bits(addrA) >> shift) === (bits(addrP) >> shift);
}

function v6Bits(x: string): bigint {
  const [head, tail] = x.includes('::') ? x.split('::') : [x, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}
