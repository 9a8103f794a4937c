/**
 * Captures BGP messages from real BIRD 2, FRR and GoBGP (and ExaBGP)
 * sessions inside throw-away network namespaces and writes them as codec
 * vectors, one JSON file per session.
 *
 *   npx tsx tools/capture-vectors.ts [outdir]     (root; default test/vectors/captured)
 *
 * Each scenario builds namespaces joined by veths, starts tcpdump on every
 * link, starts the daemons, originates routes with rich attributes, waits
 * for convergence, withdraws some routes, triggers route refreshes, shuts
 * sessions down with a shutdown communication, and finally reassembles
 * each TCP direction from the pcap (tshark) and cuts it into messages.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type DirectionalStream,
  type FramedMessage,
  type OpenSummary,
  type VectorFile,
  type VectorMessage,
  type VectorSessionOptions,
  MESSAGE_TYPE_NAMES,
  TSHARK_FIELDS,
  bytesToHex,
  describeMessage,
  negotiateDirection,
  parseTsharkFields,
  readOpen,
  reassemble,
  sameOptions,
  splitMessages,
} from '../test/support/bgp-capture.js';
import {
  type RouteSpec,
  birdConfig,
  birdStaticName,
  exabgpConfig,
  familyOf,
  frrBgpdConfig,
  frrWithdrawCommands,
  gobgpConfig,
  gobgpRouteArgs,
  gobgpWithdrawArgs,
} from '../test/support/daemon-configs.js';
import {
  type BirdHandle,
  type DaemonHandle,
  type DaemonKind,
  type DaemonVersions,
  type ExabgpHandle,
  type FrrHandle,
  type GobgpHandle,
  DAEMON_COMMANDS,
  daemonVersions,
  startBird,
  startExabgp,
  startFrr,
  startGobgp,
} from '../test/support/daemons.js';
import {
  type Netns,
  type TrackedProcess,
  Topology,
  isRoot,
  requireCommands,
  run,
  sleep,
  waitFor,
} from '../test/support/netns.js';
import { TortieError } from '../lib/errors.js';
import {
  type LinkDef,
  type RouterDef,
  type Scenario,
  type SessionDef,
  EBGP_SCENARIO,
  IBGP_SCENARIO,
  SCENARIOS,
  peersOf,
  routerOf,
  routerSpec,
} from './capture-scenarios.js';

export { EBGP_SCENARIO, IBGP_SCENARIO, SCENARIOS, type Scenario, type SessionDef };

// ---------------------------------------------------------------- running a scenario

export interface CaptureOptions {
  /** Progress messages. Default: none. */
  log?: (line: string) => void;
  /** Capture date written into the files. Default: today (UTC). */
  capturedDate?: string;
  /** Per-phase wait limit. Default 45 s. */
  phaseTimeoutMs?: number;
}

interface Running {
  topo: Topology;
  scenario: Scenario;
  ns: Map<string, Netns>;
  daemons: Map<string, DaemonHandle>;
  captures: { link: LinkDef; pcap: string; proc: TrackedProcess }[];
}

/** Fails loudly (never skips) when something the capture needs is missing. */
export function checkPrerequisites(scenarios: readonly Scenario[] = SCENARIOS): void {
  if (!isRoot()) throw new TortieError('ERR_TEST_PREREQ', 'capturing BGP vectors needs root (network namespaces, daemons, tcpdump)');
  const kinds = new Set(scenarios.flatMap((s) => s.routers.map((r) => r.kind)));
  requireCommands(['ip', 'sysctl', 'tcpdump', 'tshark', ...[...kinds].flatMap((k) => DAEMON_COMMANDS[k])]);
}

/** Runs one scenario end to end and returns one vector file per session. Cleans up whatever happens. */
export async function captureScenario(scenario: Scenario, opts: CaptureOptions = {}): Promise<VectorFile[]> {
  const log = opts.log ?? (() => undefined);
  const timeoutMs = opts.phaseTimeoutMs ?? 45_000;
  const versions = await daemonVersions();
  const topo = new Topology();
  const r: Running = { topo, scenario, ns: new Map(), daemons: new Map(), captures: [] };
  try {
    log(`[${scenario.name}] building namespaces`);
    for (const router of scenario.routers) r.ns.set(router.label, await topo.addNamespace(router.label));
    for (const [i, link] of scenario.links.entries()) {
      const a = r.ns.get(link.a);
      const b = r.ns.get(link.b);
      if (!a || !b) throw new TortieError('ERR_CAPTURE_SCENARIO', `link ${link.a}-${link.b}: unknown router`);
      const veth = await topo.link(a, b, { aAddresses: link.aAddresses, bAddresses: link.bAddresses });
      const pcap = join(topo.tmpDir, `link${i}-${link.a}-${link.b}.pcap`);
      const logFile = join(topo.tmpDir, `link${i}.tcpdump.log`);
      const proc = a.spawn('tcpdump', ['-i', veth.a.ifname, '--immediate-mode', '-U', '-s', '0', '-Z', 'root', '-w', pcap, 'tcp port 179'], { logFile });
      r.captures.push({ link, pcap, proc });
    }
    for (const c of r.captures) {
      await waitFor(`tcpdump on ${c.link.a}-${c.link.b}`, () => Promise.resolve(/listening on/.test(c.proc.logTail(5)) ? true : undefined), {
        timeoutMs: 10_000,
        failFast: () => (c.proc.running ? undefined : `tcpdump exited: ${c.proc.logTail(5)}`),
      });
    }

    log(`[${scenario.name}] starting daemons`);
    await Promise.all(scenario.routers.map(async (router) => r.daemons.set(router.label, await startDaemon(r, router))));

    log(`[${scenario.name}] waiting for sessions`);
    await waitSessions(r, timeoutMs);
    log(`[${scenario.name}] waiting for routes`);
    await waitRoutes(r, () => true, timeoutMs);

    log(`[${scenario.name}] withdrawing`);
    await withdrawSome(r);
    await waitRoutes(r, (rt) => !rt.withdrawLater, timeoutMs);

    log(`[${scenario.name}] route refresh`);
    await routeRefresh(r);
    await sleep(2_500);

    log(`[${scenario.name}] shutting sessions down`);
    await shutdownSessions(r);
    await sleep(1_500);
    // Sessions still up (shutdownBy 'stop') end with whatever the daemon sends when it is stopped.
    for (const d of r.daemons.values()) await d.stop();
    await sleep(1_000);
    for (const c of r.captures) await c.proc.stop();
    // Only the kernel's drop counter means loss. "received by filter" may exceed
    // "captured" by packets still in the ring when tcpdump is stopped (a late ACK
    // or RST); a missing data segment is caught by reassembly as a gap (ERR_CAPTURE_GAP).
    for (const c of r.captures) {
      const dropped = /(\d+) packets? dropped by kernel/.exec(c.proc.logTail(5));
      if (dropped && dropped[1] !== '0') {
        throw new TortieError('ERR_CAPTURE_LOST', `tcpdump on ${c.link.a}-${c.link.b} lost packets: ${c.proc.logTail(5)}`);
      }
    }

    log(`[${scenario.name}] extracting messages`);
    const files: VectorFile[] = [];
    const streams: DirectionalStream[] = [];
    for (const c of r.captures) streams.push(...(await readPcap(c.pcap)));
    for (const session of scenario.sessions) files.push(buildVectorFile(scenario, session, streams, versions, opts.capturedDate ?? today()));
    return files;
  } catch (err) {
    const tails = [...r.daemons.values()].map((d) => `== ${d.name}\n${d.logTail(15)}`).join('\n');
    throw new TortieError('ERR_CAPTURE_FAILED', `capture scenario ${scenario.name} failed: ${err instanceof Error ? err.message : String(err)}\n${tails}`, {
      cause: err,
    });
  } finally {
    await topo.destroy();
  }
}

async function startDaemon(r: Running, router: RouterDef): Promise<DaemonHandle> {
  const ns = r.ns.get(router.label);
  if (!ns) throw new TortieError('ERR_CAPTURE_SCENARIO', `no namespace for ${router.label}`);
  const spec = routerSpec(r.scenario, router.label);
  const name = `${router.label}@${r.scenario.name}`;
  switch (router.kind) {
    case 'bird':
      return startBird(r.topo, ns, birdConfig(spec), { name });
    case 'frr':
      return startFrr(r.topo, ns, { name, bgpdConfig: frrBgpdConfig(spec) });
    case 'gobgp': {
      const d = await startGobgp(r.topo, ns, { name, config: gobgpConfig(spec) });
      for (const rt of spec.routes) await d.gobgp(gobgpRouteArgs(rt));
      return d;
    }
    case 'exabgp':
      return startExabgp(r.topo, ns, { name, config: exabgpConfig(spec) });
  }
}

async function waitSessions(r: Running, timeoutMs: number): Promise<void> {
  const missing = async (): Promise<string[]> => {
    const out: string[] = [];
    for (const s of r.scenario.sessions) {
      for (const side of ['a', 'b'] as const) {
        const d = r.daemons.get(s[side]);
        const peer = side === 'a' ? s.bAddress : s.aAddress;
        if (!d || !(await d.establishedPeers()).has(peer)) out.push(`${s.id} at ${s[side]}`);
      }
    }
    return out;
  };
  let last: string[] = [];
  await waitFor('all sessions to be Established', async () => ((last = await missing()).length === 0 ? true : undefined), {
    timeoutMs,
    intervalMs: 500,
    describe: () => `not established: ${last.join(', ')}`,
  });
}

/** Waits until every router with a RIB holds exactly the expected set among all routers' own prefixes. */
async function waitRoutes(r: Running, present: (rt: RouteSpec) => boolean, timeoutMs: number): Promise<void> {
  const all = r.scenario.routers.flatMap((x) => [...x.routes.map((rt) => ({ prefix: rt.prefix, want: present(rt) })), ...(x.aggregates ?? []).map((p) => ({ prefix: p, want: true }))]);
  const wanted = new Set(all.filter((x) => x.want).map((x) => x.prefix));
  const unwanted = new Set(all.filter((x) => !x.want && !wanted.has(x.prefix)).map((x) => x.prefix));
  let problems: string[] = [];
  await waitFor(
    'routes to converge',
    async () => {
      problems = [];
      for (const router of r.scenario.routers) {
        if (router.kind === 'exabgp') continue;
        const d = r.daemons.get(router.label);
        if (!d) continue;
        const have = new Set([...(await d.ribPrefixes('ipv4')), ...(await d.ribPrefixes('ipv6'))]);
        for (const p of wanted) if (!have.has(p)) problems.push(`${router.label} lacks ${p}`);
        for (const p of unwanted) if (have.has(p)) problems.push(`${router.label} still has ${p}`);
      }
      return problems.length === 0 ? true : undefined;
    },
    { timeoutMs, intervalMs: 500, describe: () => problems.join('; ') },
  );
}

async function withdrawSome(r: Running): Promise<void> {
  for (const router of r.scenario.routers) {
    const d = r.daemons.get(router.label);
    const doomed = router.routes.filter((rt) => rt.withdrawLater);
    if (!d || !doomed.length) continue;
    switch (router.kind) {
      case 'bird':
        for (const fam of new Set(doomed.map((rt) => familyOf(rt.prefix)))) {
          await (d as BirdHandle).birdc(`disable ${birdStaticName(fam, true)}`);
        }
        break;
      case 'frr':
        for (const rt of doomed) await (d as FrrHandle).vtysh(...frrWithdrawCommands(routerSpec(r.scenario, router.label), rt));
        break;
      case 'gobgp':
        for (const rt of doomed) await (d as GobgpHandle).gobgp(gobgpWithdrawArgs(rt));
        break;
      case 'exabgp':
        for (const rt of doomed) await (d as ExabgpHandle).exabgpcli(`withdraw route ${rt.prefix} next-hop self`);
        break;
    }
  }
}

async function routeRefresh(r: Running): Promise<void> {
  for (const router of r.scenario.routers) {
    const d = r.daemons.get(router.label);
    if (!d) continue;
    const peers = peersOf(r.scenario, router.label);
    switch (router.kind) {
      case 'bird':
        for (const p of peers) await (d as BirdHandle).birdc(`reload in ${p.name}`);
        break;
      case 'frr':
        for (const fam of ['ipv4', 'ipv6']) await (d as FrrHandle).vtysh(`clear bgp ${fam} unicast * soft in`);
        break;
      case 'gobgp':
        for (const p of peers) await (d as GobgpHandle).gobgp(['neighbor', p.peerAddress, 'softresetin']);
        break;
      case 'exabgp':
        break;
    }
  }
}

const SHUTDOWN_MESSAGE = 'tortie vector capture complete';

async function shutdownSessions(r: Running): Promise<void> {
  for (const s of r.scenario.sessions) {
    if (s.shutdownBy === 'stop') continue;
    const side = s.shutdownBy;
    const router = routerOf(r.scenario, s[side]);
    const d = r.daemons.get(router.label);
    const peer = side === 'a' ? s.bAddress : s.aAddress;
    if (!d) continue;
    switch (router.kind) {
      case 'bird':
        await (d as BirdHandle).cli(['disable', s.id.replace(/-/g, '_'), `"${SHUTDOWN_MESSAGE}"`]);
        break;
      case 'frr':
        await (d as FrrHandle).vtysh('configure terminal', `router bgp ${router.asn}`, `neighbor ${peer} shutdown message ${SHUTDOWN_MESSAGE}`, 'end');
        break;
      case 'gobgp':
        await (d as GobgpHandle).gobgp(['neighbor', peer, 'disable', '--reason', SHUTDOWN_MESSAGE]);
        break;
      case 'exabgp':
        await (d as ExabgpHandle).exabgpcli(`neighbor ${peer} teardown 2`);
        break;
    }
  }
}

// ---------------------------------------------------------------- pcap → vectors

/** Reassembled TCP directions of one pcap file (via tshark). */
export async function readPcap(pcap: string): Promise<DirectionalStream[]> {
  const args = [
    '-r', pcap,
    '-n',
    '-o', 'tcp.desegment_tcp_streams:FALSE',
    '-o', 'tcp.relative_sequence_numbers:TRUE',
    '-Y', 'tcp.len > 0',
    '-T', 'fields',
    '-E', 'separator=/t',
    '-E', 'occurrence=f',
    ...TSHARK_FIELDS.flatMap((f) => ['-e', f]),
  ];
  const { stdout } = await run('tshark', args, { timeoutMs: 120_000 });
  return reassemble(parseTsharkFields(stdout));
}

interface TimedMessage extends FramedMessage {
  dir: string;
  stream: number;
}

/** Builds the vector file of one session from every reassembled stream between its two addresses. */
export function buildVectorFile(
  scenario: Scenario,
  session: SessionDef,
  streams: readonly DirectionalStream[],
  versions: DaemonVersions,
  capturedDate: string,
): VectorFile {
  const labelOf = (addr: string): string | undefined =>
    addr === session.aAddress ? session.a : addr === session.bAddress ? session.b : undefined;
  const mine = streams.filter((s) => labelOf(s.src) && labelOf(s.dst) && s.src !== s.dst);
  if (!mine.length) throw new TortieError('ERR_CAPTURE_EMPTY', `${session.id}: no TCP data captured between ${session.aAddress} and ${session.bAddress}`);

  const all: TimedMessage[] = [];
  for (const s of mine) {
    if (s.missing) throw new TortieError('ERR_CAPTURE_GAP', `${session.id}: stream ${s.stream} from ${s.src} misses ${s.missing} bytes`);
    const { messages, trailing, error } = splitMessages(s);
    if (error) throw new TortieError('ERR_CAPTURE_FRAMING', `${session.id}: stream ${s.stream} from ${s.src}: ${error}`);
    if (trailing) throw new TortieError('ERR_CAPTURE_FRAMING', `${session.id}: stream ${s.stream} from ${s.src}: ${trailing} trailing bytes`);
    const dir = `${labelOf(s.src)}->${labelOf(s.dst)}`;
    for (const m of messages) all.push({ ...m, dir, stream: s.stream });
  }
  all.sort((x, y) => x.timeSec - y.timeSec || x.stream - y.stream || x.offset - y.offset);

  // Negotiated options per direction, from each connection that exchanged both OPENs.
  const dirAB = `${session.a}->${session.b}`;
  const dirBA = `${session.b}->${session.a}`;
  const perDir = new Map<string, VectorSessionOptions>();
  const notes = [...(session.notes ?? [])];
  const streamsWithOpens = new Set(all.filter((m) => m.type === 1).map((m) => m.stream));
  for (const stream of streamsWithOpens) {
    const opens = new Map<string, OpenSummary>();
    for (const m of all) if (m.stream === stream && m.type === 1) opens.set(m.dir, readOpen(m.bytes));
    const oa = opens.get(dirAB);
    const ob = opens.get(dirBA);
    if (!oa || !ob) continue;
    for (const [dir, opt] of [
      [dirAB, negotiateDirection(oa, ob)],
      [dirBA, negotiateDirection(ob, oa)],
    ] as const) {
      const prev = perDir.get(dir);
      if (prev && !sameOptions(prev, opt)) notes.push(`connections negotiated different options for ${dir}; using the first`);
      if (!prev) perDir.set(dir, opt);
    }
  }
  const optAB = perDir.get(dirAB);
  const optBA = perDir.get(dirBA);
  if (!optAB || !optBA) throw new TortieError('ERR_CAPTURE_EMPTY', `${session.id}: no connection exchanged both OPENs`);

  const seen = new Set<string>();
  const messages: VectorMessage[] = [];
  for (const m of all) {
    const hex = bytesToHex(m.bytes);
    const key = `${m.dir}|${hex}`;
    if (seen.has(key)) continue;
    seen.add(key);
    messages.push({ dir: m.dir, type: MESSAGE_TYPE_NAMES[m.type] ?? `type-${m.type}`, note: describeMessage(m.bytes), hex });
  }

  const ra = routerOf(scenario, session.a);
  const rb = routerOf(scenario, session.b);
  const kindLabel = ra.asn === rb.asn ? 'iBGP' : 'eBGP';
  const traits = [kindLabel, session.families.join('+')];
  if (optAB.addPath.length || optBA.addPath.length) traits.push('add-path');
  if (!optAB.fourOctetAs) traits.push('2-octet AS');
  if (optAB.extendedMessage) traits.push('extended message');
  if (session.reflector) traits.push(`${session[session.reflector]} is route reflector`);
  const file: VectorFile = {
    source: `${daemonLabel(ra.kind, versions)} -> ${daemonLabel(rb.kind, versions)} (${traits.join(', ')})`,
    captured: capturedDate,
    session: session.id,
    sessionOptions: optAB,
    notes: [
      ...notes,
      `${session.a}: AS ${ra.asn}, ${session.aAddress}; ${session.b}: AS ${rb.asn}, ${session.bAddress}. Captured with tcpdump on the veth, reassembled per TCP direction with tshark, cut by the BGP header length; identical messages kept once.`,
      'OPEN, KEEPALIVE, NOTIFICATION and ROUTE-REFRESH decode with any options; UPDATEs need the options of their direction.',
    ],
    messages,
  };
  if (!sameOptions(optAB, optBA)) {
    file.directionOptions = { [dirAB]: optAB, [dirBA]: optBA };
    file.notes.push('The two directions negotiated different options: decode each message with directionOptions[dir].');
  }
  return file;
}

function daemonLabel(kind: DaemonKind, v: DaemonVersions): string {
  switch (kind) {
    case 'bird':
      return `bird2 ${v.bird}`;
    case 'frr':
      return `frr ${v.frr}`;
    case 'gobgp':
      return `gobgp ${v.gobgp}`;
    case 'exabgp':
      return `exabgp ${v.exabgp}`;
  }
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** Writes `<session>.json` files; returns their paths. */
export function writeVectorFiles(outDir: string, files: readonly VectorFile[]): string[] {
  mkdirSync(outDir, { recursive: true });
  return files.map((f) => {
    const path = join(outDir, `${f.session}.json`);
    writeFileSync(path, `${JSON.stringify(f, null, 2)}\n`);
    return path;
  });
}

// ---------------------------------------------------------------- CLI

export const DEFAULT_OUT_DIR = 'test/vectors/captured';

async function main(argv: readonly string[]): Promise<void> {
  const outDir = resolve(argv[0] ?? DEFAULT_OUT_DIR);
  const only = process.env.TORTIE_CAPTURE_SCENARIOS?.split(',');
  const scenarios = SCENARIOS.filter((s) => !only || only.includes(s.name));
  checkPrerequisites(scenarios);
  for (const s of scenarios) {
    const t0 = Date.now();
    const files = await captureScenario(s, { log: (l) => console.error(l) });
    for (const path of writeVectorFiles(outDir, files)) console.error(`wrote ${path}`);
    console.error(`[${s.name}] done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exitCode = 1;
  });
}
