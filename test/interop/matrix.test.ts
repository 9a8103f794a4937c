/**
 * The interop matrix: {BIRD 2, FRR bgpd, GoBGP, ExaBGP} × {eBGP, iBGP} ×
 * {IPv4, IPv6}. For each daemon, one tortie process peers with an eBGP and
 * an iBGP instance of the daemon, each in its own namespace, each with an
 * IPv4 and an IPv6 session (see lib/group.ts). Every cell checks, through
 * tortie's `status`/`rib` and the daemon's own CLI or API output:
 *   - Established on both sides;
 *   - routes both ways with next hop, AS path, LOCAL_PREF (iBGP only) and
 *     communities;
 *   - a withdraw both ways;
 *   - tortie's administrative shutdown reaches the daemon as Cease /
 *     Administrative Shutdown;
 *   - a frozen daemon (SIGSTOP) is declared down by tortie's hold timer;
 *   - the session comes back after the daemon restarts;
 *   - BIRD and FRR: graceful restart of tortie (the daemon keeps our routes,
 *     stale, never withdrawn, then refreshed) and of the daemon (tortie
 *     keeps its routes the same way).
 *
 * Needs root and the four daemons: fails, never skips, without them.
 */
import { expect } from 'chai';
import type { DaemonKind } from '../support/daemons.js';
import { waitFor } from '../support/netns.js';
import {
  checkPrerequisites, EBGP_PEER_ASN, HOLD_TIME_SEC, InteropGroup, TORTIE_ASN, TORTIE_COMMUNITY, type Cell,
} from './lib/group.js';
import { BIRD_DEFAULT_LOCAL_PREF, type PeerRoute } from './lib/peers.js';
import { Sampler, type Sample } from './lib/sampler.js';
import type { TortieRoute } from './lib/tortie.js';

const LABEL: Record<DaemonKind, string> = { bird: 'BIRD 2', frr: 'FRR bgpd', gobgp: 'GoBGP', exabgp: 'ExaBGP' };
const KINDS: DaemonKind[] = ['bird', 'frr', 'gobgp', 'exabgp'];
const GRACEFUL: ReadonlySet<DaemonKind> = new Set(['bird', 'frr']);
const WAIT_MS = 20_000;

/** Waits for `probe` to return a value (the last error or `describe` on timeout). */
function eventually<T>(what: string, probe: () => Promise<T | undefined>, describe: () => string, timeoutMs = WAIT_MS): Promise<T> {
  return waitFor(what, probe, { timeoutMs, intervalMs: 200, describe });
}

/** Samples that found nothing (a CLI error is not "nothing"). */
function gaps<T>(samples: Sample<T>[]): number {
  return samples.filter((s) => s.value === undefined && s.error === undefined).length;
}

for (const kind of KINDS) {
  describe(`interop: tortie ↔ ${LABEL[kind]} (root)`, function () {
    this.timeout(60_000);
    const g = new InteropGroup(kind);
    const cells = g.cells;
    const peerName = LABEL[kind];
    /** A before() hook whose duration goes into the timing summary. */
    const phase = (name: string, timeoutMs: number, fn: () => Promise<void>): void => {
      before(async function () {
        this.timeout(timeoutMs);
        await g.timed(name, fn);
      });
    };

    before(async function () {
      this.timeout(90_000);
      checkPrerequisites([kind]);
      await g.timed('setup', () => g.setup());
    });

    after(async function () {
      this.timeout(60_000);
      await g.timed('teardown', () => g.teardown());
      process.stderr.write(`      [${kind}] ${g.timingSummary()}\n`);
    });

    describe('session', () => {
      for (const c of cells) {
        it(`${c.id}: Established on tortie and on ${peerName}`, async () => {
          const st = await g.cellEstablished(c, 30_000);
          expect(st.state).to.equal('Established');
          expect(st.asn).to.equal(c.peerAsn);
          expect(st.families).to.deep.equal([`${c.fam}-unicast`]);
          expect(await g.peerOf(c).established(c.tortieAddress), `${peerName} CLI shows the session Established`).to.equal(true);
        });
      }
    });

    describe('routes both ways', () => {
      for (const c of cells) {
        it(`${c.id}: tortie's route arrives at ${peerName} with next hop, AS path, LOCAL_PREF and communities`, async () => {
          const peer = g.peerOf(c);
          const r = await eventually(`${peer.name}: ${c.tortiePrefix} from tortie`, () => peer.route(c.tortiePrefix, c.tortieAddress), () => g.describe(c));
          expect(r.nextHop, 'next hop').to.equal(c.tortieAddress);
          expect(r.asPath, 'AS path: own AS prepended on eBGP only').to.deep.equal(c.mode === 'ebgp' ? [TORTIE_ASN] : []);
          if (c.mode === 'ibgp') {
            expect(r.localPref, 'LOCAL_PREF on iBGP').to.equal(100);
          } else if (kind === 'bird') {
            // BIRD drops a LOCAL_PREF received over eBGP and attaches its own default.
            expect(r.localPref, 'BIRD default, not a received LOCAL_PREF').to.equal(BIRD_DEFAULT_LOCAL_PREF);
          } else {
            expect(r.localPref, 'no LOCAL_PREF on eBGP').to.equal(undefined);
          }
          expect(r.communities, 'communities').to.include(TORTIE_COMMUNITY);
          expect(r.stale).to.equal(false);
        });

        it(`${c.id}: ${peerName}'s route arrives at tortie with next hop, AS path, LOCAL_PREF and communities`, async () => {
          const r = await eventually(`tortie: ${c.peerRoute.prefix}`, () => g.tortieRoute(c.peerRoute.prefix), () => g.describe(c));
          expect(r.peer, 'learned from this session').to.equal(c.peerAddress);
          expect(r.nextHops[0], 'next hop').to.equal(c.peerAddress);
          expect(r.asPath, 'AS path').to.equal(c.mode === 'ebgp' ? String(EBGP_PEER_ASN) : '');
          expect(r.localPref, 'LOCAL_PREF only from iBGP').to.equal(c.mode === 'ibgp' ? c.peerLocalPref : undefined);
          expect(r.communities, 'communities').to.include(c.peerCommunity);
          expect(r.stale).to.equal(false);
        });
      }
    });

    describe('withdraw both ways', () => {
      phase('withdraw', 60_000, async () => {
        // Both withdrawable routes must be there first, or "gone" proves nothing.
        await Promise.all(cells.map(async (c) => {
          const peer = g.peerOf(c);
          await eventually(`${peer.name}: ${c.tortieWithdrawPrefix}`, () => peer.route(c.tortieWithdrawPrefix, c.tortieAddress), () => g.describe(c));
          await eventually(`tortie: ${c.peerWithdrawRoute.prefix}`, () => g.tortieRoute(c.peerWithdrawRoute.prefix), () => g.describe(c));
        }));
        for (const c of cells) {
          if (c.mode === 'ebgp') await g.tortie.withdraw(c.tortieWithdrawPrefix);
          await g.peerOf(c).withdraw(c.peerWithdrawRoute);
        }
      });

      for (const c of cells) {
        it(`${c.id}: tortie's withdraw removes the route at ${peerName}`, async () => {
          const peer = g.peerOf(c);
          await eventually(`${peer.name}: ${c.tortieWithdrawPrefix} gone`, async () => ((await peer.route(c.tortieWithdrawPrefix, c.tortieAddress)) ? undefined : true), () => g.describe(c));
          // The route that was not withdrawn is still there.
          expect(await peer.route(c.tortiePrefix, c.tortieAddress), c.tortiePrefix).to.not.equal(undefined);
        });

        it(`${c.id}: ${peerName}'s withdraw removes the route at tortie`, async () => {
          await eventually(`tortie: ${c.peerWithdrawRoute.prefix} gone`, async () => ((await g.tortieRoute(c.peerWithdrawRoute.prefix)) ? undefined : true), () => g.describe(c));
          expect(await g.tortieRoute(c.peerRoute.prefix), c.peerRoute.prefix).to.not.equal(undefined);
        });
      }
    });

    // ExaBGP 4.2.21 cannot decode a Cease that carries an RFC 9003 shutdown
    // communication (its Notification class formats bytes with a str under
    // Python 3 and answers with Message Header Error), and SIGTERM makes
    // tortie send one. So ExaBGP gets the same administrative stop through
    // speaker-process's `stop` command, without text.
    const viaSigterm = kind !== 'exabgp';
    describe(`administrative shutdown of tortie (${viaSigterm ? 'SIGTERM' : 'stop command, no shutdown text'})`, () => {
      let stoppedAtMs = 0;
      phase('admin shutdown', 60_000, async () => {
        await g.allEstablished();
        stoppedAtMs = Date.now();
        if (viaSigterm) await g.tortie.terminate();
        else await g.tortie.stopCommand('');
        expect(g.tortie.proc.exit?.code, 'tortie exits 0 after an administrative stop').to.equal(0);
      });

      after(async function () {
        this.timeout(60_000);
        await g.timed('tortie back after shutdown', async () => {
          await g.startTortie();
          await g.allEstablished();
        });
      });

      for (const c of cells) {
        it(`${c.id}: ${peerName} received Cease / Administrative Shutdown`, async () => {
          const peer = g.peerOf(c);
          const n = await eventually(`${peer.name}: NOTIFICATION from ${c.tortieAddress}`, () => peer.notificationFrom(c.tortieAddress, stoppedAtMs), () => g.describe(c));
          expect({ code: n.code, subcode: n.subcode }, n.evidence).to.deep.equal({ code: 6, subcode: 2 });
        });
      }
    });

    describe(`a frozen ${peerName} (SIGSTOP) is declared down by the hold timer (${HOLD_TIME_SEC} s)`, () => {
      let frozenAtMs = 0;
      phase('hold timer', 60_000, async () => {
        await g.allEstablished();
        frozenAtMs = Date.now();
        for (const p of g.peers.values()) expect(p.freeze(), `SIGSTOP ${p.name}`).to.equal(true);
      });

      after(async function () {
        this.timeout(60_000);
        await g.timed('thawed peers back', async () => {
          for (const p of g.peers.values()) p.thaw();
          await g.allEstablished(45_000);
        });
      });

      for (const c of cells) {
        it(`${c.id}: tortie drops the session with hold-timer-expired`, async () => {
          const st = await eventually(`tortie: ${c.peerAddress} down`, async () => {
            const s = await g.tortie.peer(c.peerAddress);
            return s.state !== 'Established' && s.lastError ? s : undefined;
          }, () => g.describe(c), (HOLD_TIME_SEC + 5) * 1000);
          const elapsedMs = (st.lastError?.atMs ?? 0) - frozenAtMs;
          expect(st.lastError?.reason).to.equal('hold-timer-expired');
          expect(st.lastError?.notification).to.deep.include({ code: 4, subcode: 0, direction: 'sent' });
          expect(elapsedMs, 'declared down after about the hold time').to.be.within((HOLD_TIME_SEC - 1.5) * 1000, (HOLD_TIME_SEC + 3) * 1000);
        });
      }
    });

    describe(`${peerName} restarts`, () => {
      const flapsBefore = new Map<string, number>();
      phase('peer restart', 90_000, async () => {
        await g.allEstablished();
        for (const s of await g.tortie.status()) flapsBefore.set(s.address, s.flaps);
        await Promise.all([...g.peers.values()].map((p) => p.stop()));
        await Promise.all(cells.map((c) => eventually(`tortie: ${c.peerAddress} down`, async () => {
          const s = await g.tortie.peer(c.peerAddress);
          return s.state === 'Established' ? undefined : true;
        }, () => g.describe(c))));
        await Promise.all([...g.peers.values()].map((p) => p.start()));
      });

      for (const c of cells) {
        it(`${c.id}: the session comes back and the routes are learned again`, async () => {
          const st = await g.cellEstablished(c, 45_000);
          expect(st.flaps, 'one more flap').to.equal((flapsBefore.get(c.peerAddress) ?? 0) + 1);
          const r = await eventually(`tortie: ${c.peerRoute.prefix}`, () => g.tortieRoute(c.peerRoute.prefix), () => g.describe(c));
          expect(r.peer).to.equal(c.peerAddress);
          const peer = g.peerOf(c);
          await eventually(`${peer.name}: ${c.tortiePrefix}`, () => peer.route(c.tortiePrefix, c.tortieAddress), () => g.describe(c));
        });
      }
    });

    if (!GRACEFUL.has(kind)) return;

    describe('graceful restart: tortie restarts (SIGKILL, then restarting: true)', () => {
      const samplers = new Map<Cell, Sampler<PeerRoute>>();
      const staleSeen = new Map<Cell, PeerRoute>();
      const refreshed = new Map<Cell, PeerRoute>();
      phase('GR tortie restarts', 90_000, async () => {
        await g.allEstablished();
        for (const c of cells) {
          const peer = g.peerOf(c);
          await eventually(`${peer.name}: ${c.tortiePrefix}`, () => peer.route(c.tortiePrefix, c.tortieAddress), () => g.describe(c));
        }
        await g.tortie.kill();
        for (const c of cells) samplers.set(c, new Sampler(() => g.peerOf(c).route(c.tortiePrefix, c.tortieAddress), 100));
        await Promise.all(cells.map(async (c) => {
          const peer = g.peerOf(c);
          staleSeen.set(c, await eventually(`${peer.name}: ${c.tortiePrefix} kept as stale`, async () => {
            const r = await peer.route(c.tortiePrefix, c.tortieAddress);
            return r?.stale ? r : undefined;
          }, () => g.describe(c), 10_000));
        }));
        await g.startTortie({ restarting: true });
        await g.allEstablished(45_000);
        await Promise.all(cells.map(async (c) => {
          const peer = g.peerOf(c);
          refreshed.set(c, await eventually(`${peer.name}: ${c.tortiePrefix} refreshed`, async () => {
            const r = await peer.route(c.tortiePrefix, c.tortieAddress);
            return r && !r.stale ? r : undefined;
          }, () => g.describe(c), 30_000));
        }));
        for (const s of samplers.values()) await s.stop();
      });

      after(async () => {
        for (const s of samplers.values()) await s.stop();
      });

      for (const c of cells) {
        it(`${c.id}: ${peerName} keeps tortie's route, marked stale, and never withdraws it`, async () => {
          const samples = await samplers.get(c)!.stop(); // already stopped once refreshed
          const stale = staleSeen.get(c);
          expect(stale, 'seen as stale').to.not.equal(undefined);
          expect(stale?.nextHop).to.equal(c.tortieAddress);
          expect(samples.some((s) => s.value?.stale === true), 'a sample saw it stale').to.equal(true);
          expect(gaps(samples), `samples without the route: ${JSON.stringify(samples.filter((s) => !s.value))}`).to.equal(0);
        });

        it(`${c.id}: the route is refreshed (no longer stale) once tortie is back`, () => {
          const r = refreshed.get(c);
          expect(r?.stale).to.equal(false);
          expect(r?.communities).to.include(TORTIE_COMMUNITY);
        });
      }
    });

    describe(`graceful restart: ${peerName} restarts`, () => {
      const samplers = new Map<Cell, Sampler<TortieRoute>>();
      const staleSeen = new Map<Cell, TortieRoute>();
      const refreshed = new Map<Cell, TortieRoute>();
      phase('GR peer restarts', 90_000, async () => {
        await g.allEstablished();
        for (const c of cells) await eventually(`tortie: ${c.peerRoute.prefix}`, () => g.tortieRoute(c.peerRoute.prefix), () => g.describe(c));
        for (const c of cells) samplers.set(c, new Sampler(() => g.tortieRoute(c.peerRoute.prefix), 100));
        await Promise.all([...g.peers.values()].map((p) => p.gracefulDown()));
        await Promise.all(cells.map(async (c) => {
          staleSeen.set(c, await eventually(`tortie: ${c.peerRoute.prefix} kept as stale`, async () => {
            const r = await g.tortieRoute(c.peerRoute.prefix);
            return r?.stale ? r : undefined;
          }, () => g.describe(c), 10_000));
        }));
        await Promise.all([...g.peers.values()].map((p) => p.gracefulUp()));
        await g.allEstablished(45_000);
        await Promise.all(cells.map(async (c) => {
          refreshed.set(c, await eventually(`tortie: ${c.peerRoute.prefix} refreshed`, async () => {
            const r = await g.tortieRoute(c.peerRoute.prefix);
            return r && !r.stale ? r : undefined;
          }, () => g.describe(c), 30_000));
        }));
        for (const s of samplers.values()) await s.stop();
      });

      after(async () => {
        for (const s of samplers.values()) await s.stop();
      });

      for (const c of cells) {
        it(`${c.id}: tortie keeps ${peerName}'s route, marked stale, and never withdraws it`, async () => {
          const samples = await samplers.get(c)!.stop(); // already stopped once refreshed
          const stale = staleSeen.get(c);
          expect(stale?.stale).to.equal(true);
          expect(stale?.peer).to.equal(c.peerAddress);
          expect(samples.some((s) => s.value?.stale === true), 'a sample saw it stale').to.equal(true);
          expect(gaps(samples), `samples without the route: ${JSON.stringify(samples.filter((s) => !s.value))}`).to.equal(0);
          const st = await g.tortie.peer(c.peerAddress);
          expect(st.prefixesStale, 'no stale prefixes left').to.equal(0);
        });

        it(`${c.id}: the route is refreshed (no longer stale) once ${peerName} is back`, () => {
          const r = refreshed.get(c);
          expect(r?.stale).to.equal(false);
          expect(r?.communities).to.include(c.peerCommunity);
        });
      }
    });
  });
}
