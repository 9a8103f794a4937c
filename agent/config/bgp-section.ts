/** The `bgp` section: listener, timers, graceful restart, the mesh, peers and communities. */
import type { Node } from 'yaml';
import type { LargeCommunity } from '../../bgp/codec/index.js';
import { parseLargeCommunity } from '../../bgp/rib/communities.js';
import { AS_TRANS, readAddress, readAsn, readPort, Seen } from './common.js';
import { communityValue, readCommunityList, readLargeCommunityList, readPolicy } from './policy.js';
import {
  DEFAULTS, FAMILY_NAMES, type BgpConfig, type FamilyName, type GracefulRestartConfig, type ListenConfig, type MeshConfig,
  type MeshMember, type PeerDef,
} from './schema.js';
import { defaultKeepalive, holdTimeProblem, keepaliveProblem, MAX_HOLD_TIME_SEC, resolveTimers, type TimerLevel, type Timers } from './timers.js';
import type { Fields, Reader } from './yaml-reader.js';

const BGP_FIELDS = [
  'listen', 'holdTimeSec', 'keepaliveSec', 'connectRetrySec', 'gracefulRestart', 'maxPaths', 'nodeToNodeMesh', 'peers', 'communities',
  'largeCommunities',
] as const;
const LISTEN_FIELDS = ['enabled', 'address', 'port'] as const;
const GR_FIELDS = ['enabled', 'restartTimeSec', 'staleTimeSec', 'deferralSec'] as const;
const MESH_FIELDS = ['enabled', 'members', 'holdTimeSec', 'keepaliveSec', 'passive'] as const;
const MEMBER_FIELDS = ['address', 'asn', 'name'] as const;
const PEER_FIELDS = [
  'address', 'asn', 'port', 'passive', 'multihop', 'families', 'holdTimeSec', 'keepaliveSec', 'description', 'nextHopSelf',
  'gracefulRestart', 'import', 'export',
] as const;

/** What the bgp section needs to know about the node section. */
export interface NodeFacts {
  asn: number | undefined;
  /** Canonical addresses that are this node's own. */
  ownAddresses: readonly string[];
}

export function readBgp(r: Reader, node: Node | undefined, facts: NodeFacts): BgpConfig {
  const f = r.fields(node, 'bgp', BGP_FIELDS);
  const listen = readListen(f);
  const base = readBaseTimers(f);
  const gracefulRestart = readGracefulRestart(f);
  const connectRetrySec = f?.int('connectRetrySec', 1, 65535) ?? DEFAULTS.connectRetrySec;
  const maxPaths = f?.int('maxPaths', 1, 64, (v) => `maxPaths ${v} is out of range (1..64)`) ?? DEFAULTS.maxPaths;
  const mesh = readMesh(r, f, facts, base);
  const peers = readPeers(r, f, facts, base, gracefulRestart.enabled);
  const communities = (f ? readCommunityList(r, f.get('communities'), f.at('communities'), true) : undefined) ?? [];
  const large = (f ? readLargeCommunityList(r, f.get('largeCommunities'), f.at('largeCommunities'), true) : undefined) ?? [];
  return {
    listen,
    holdTimeSec: base.holdTimeSec,
    keepaliveSec: base.keepaliveSec,
    connectRetrySec,
    gracefulRestart,
    maxPaths,
    nodeToNodeMesh: mesh,
    peers,
    communities: communities.map((s) => communityValue(s) ?? 0),
    largeCommunities: large.map((s): LargeCommunity => parseLargeCommunity(s) ?? { global: 0, local1: 0, local2: 0 }),
  };
}

function readListen(bgp: Fields | undefined): ListenConfig {
  const f = bgp?.fields('listen', LISTEN_FIELDS);
  return {
    enabled: f?.bool('enabled') ?? true,
    address: (f ? readAddress(f, 'address', { unicast: true }) : undefined)?.text ?? DEFAULTS.listenAddress,
    port: (f ? readPort(f, 'port', 0) : undefined) ?? DEFAULTS.listenPort,
  };
}

/** A hold time, or 'invalid' when one is written but wrong (already reported). */
function readHold(f: Fields | undefined): number | 'invalid' | undefined {
  if (f?.has('holdTimeSec') !== true) return undefined;
  const h = f.int('holdTimeSec', 0, MAX_HOLD_TIME_SEC);
  if (h === undefined) return 'invalid';
  const problem = holdTimeProblem(h);
  if (problem !== undefined) {
    f.report('holdTimeSec', problem);
    return 'invalid';
  }
  return h;
}

/** The timers set at one level; `valid` is false when one of them was written wrong. */
function readLevel(f: Fields | undefined): { level: TimerLevel; valid: boolean } {
  const hold = readHold(f);
  const keepaliveSec = f?.int('keepaliveSec', 0, Math.floor(MAX_HOLD_TIME_SEC / 3));
  const valid = hold !== 'invalid' && (keepaliveSec !== undefined || f?.has('keepaliveSec') !== true);
  const level: TimerLevel = {
    ...(typeof hold === 'number' ? { holdTimeSec: hold } : {}),
    ...(keepaliveSec !== undefined ? { keepaliveSec } : {}),
  };
  return { level, valid };
}

/**
 * Resolves a peer's (or a level's) timers and reports a keepalive that does
 * not fit its hold time, at the most specific place that set either. Skipped
 * when a timer at this level was already reported as wrong.
 */
function checkTimers(site: { level: TimerLevel; valid: boolean }, f: Fields | undefined, base: Timers): Timers {
  const t = resolveTimers([site.level], base);
  const setHere = site.level.holdTimeSec !== undefined || site.level.keepaliveSec !== undefined;
  const problem = site.valid && setHere ? keepaliveProblem(t) : undefined;
  if (problem !== undefined && f !== undefined) {
    f.report(site.level.keepaliveSec !== undefined ? 'keepaliveSec' : 'holdTimeSec', problem);
  }
  return t;
}

/** The bgp section's pair; when it is wrong (and reported), a consistent stand-in so peers are not blamed for it. */
function readBaseTimers(f: Fields | undefined): Timers {
  const site = readLevel(f);
  const holdTimeSec = site.level.holdTimeSec ?? DEFAULTS.holdTimeSec;
  const fallback = { holdTimeSec, keepaliveSec: defaultKeepalive(holdTimeSec) };
  const t = checkTimers(site, f, fallback);
  return site.valid && keepaliveProblem(t) === undefined ? t : fallback;
}

function readGracefulRestart(bgp: Fields | undefined): GracefulRestartConfig {
  const f = bgp?.fields('gracefulRestart', GR_FIELDS);
  const d = DEFAULTS.gracefulRestart;
  return {
    enabled: f?.bool('enabled') ?? d.enabled,
    // The Restart Time field of the capability is 12 bits (RFC 4724 §3).
    restartTimeSec: f?.int('restartTimeSec', 0, 4095) ?? d.restartTimeSec,
    staleTimeSec: f?.int('staleTimeSec', 1, 86400) ?? d.staleTimeSec,
    deferralSec: f?.int('deferralSec', 1, 3600) ?? d.deferralSec,
  };
}

function readMesh(r: Reader, bgp: Fields | undefined, facts: NodeFacts, base: Timers): MeshConfig {
  const f = bgp?.fields('nodeToNodeMesh', MESH_FIELDS);
  const site = readLevel(f);
  checkTimers(site, f, base);
  const passive = f?.bool('passive');
  const members: MeshMember[] = [];
  const seen = new Seen(r);
  for (const item of f?.list('members') ?? []) {
    if (item.node === undefined) {
      r.report(item.at, item.path, 'is empty; expected { address, asn, name }');
      continue;
    }
    const m = r.fields(item.node, item.path, MEMBER_FIELDS);
    if (m === undefined || !m.require('address', 'the member\'s BGP address')) continue;
    const addr = readAddress(m, 'address', { specified: true, unicast: true });
    const asn = readAsn(m, 'asn');
    const name = m.str('name');
    if (name !== undefined && name.trim() === '') m.report('name', 'is empty');
    if (addr === undefined) continue;
    if (!seen.add(addr.text, m.get('address'), m.at('address'), (first) => `duplicate mesh member ${addr.text} (same as ${first})`)) continue;
    members.push({ address: addr.text, asn: asn ?? facts.asn ?? 0, ...(name !== undefined ? { name } : {}) });
  }
  return {
    enabled: f?.bool('enabled') ?? DEFAULTS.meshEnabled,
    members,
    ...site.level,
    ...(passive !== undefined ? { passive } : {}),
  };
}

function readPeers(r: Reader, bgp: Fields | undefined, facts: NodeFacts, base: Timers, grEnabled: boolean): PeerDef[] {
  const peers: PeerDef[] = [];
  const seen = new Seen(r);
  for (const item of bgp?.list('peers') ?? []) {
    if (item.node === undefined) {
      r.report(item.at, item.path, 'is empty; expected a peer { address, asn, ... }');
      continue;
    }
    const f = r.fields(item.node, item.path, PEER_FIELDS);
    if (f === undefined) continue;
    const { peer, address } = readPeer(f, facts, base, grEnabled);
    if (address !== undefined && !seen.add(address, f.get('address'), f.at('address'), (first) => `duplicate peer ${address} (same as ${first})`)) continue;
    if (peer !== undefined) peers.push(peer);
  }
  return peers;
}

/** The peer when it is valid, and its canonical address whenever that is. */
function readPeer(f: Fields, facts: NodeFacts, base: Timers, grEnabled: boolean): { peer?: PeerDef; address?: string } {
  const r = f.reader;
  const hasAddress = f.require('address', 'the peer\'s IP address');
  const hasAsn = f.require('asn', 'the peer\'s AS number');
  const addr = hasAddress ? readAddress(f, 'address', { specified: true, unicast: true }) : undefined;
  if (addr !== undefined && facts.ownAddresses.includes(addr.text)) f.report('address', `${addr.text} is this node's own address`);
  const asn = hasAsn ? readAsn(f, 'asn') : undefined;
  const port = readPort(f, 'port', 1);
  const passive = f.bool('passive');
  const multihop = f.int('multihop', 1, 255, (v) => `multihop ${v} is out of range (1..255, the TTL)`);
  const families = readFamilies(f);
  const site = readLevel(f);
  checkTimers(site, f, base);
  const description = f.str('description');
  const nextHopSelf = f.bool('nextHopSelf');
  const gracefulRestart = f.bool('gracefulRestart');
  if (gracefulRestart === true && !grEnabled) {
    f.report('gracefulRestart', 'cannot be on for one peer while bgp.gracefulRestart.enabled is false');
  }
  const localAs = facts.asn ?? AS_TRANS;
  const importPolicy = readPolicy(r, f.get('import'), f.at('import'), localAs);
  const exportPolicy = readPolicy(r, f.get('export'), f.at('export'), localAs);
  if (addr === undefined || asn === undefined) return { ...(addr !== undefined ? { address: addr.text } : {}) };
  const peer: PeerDef = {
    address: addr.text,
    asn,
    ...(port !== undefined ? { port } : {}),
    ...(passive !== undefined ? { passive } : {}),
    ...(multihop !== undefined ? { multihop } : {}),
    ...(families !== undefined ? { families } : {}),
    ...site.level,
    ...(description !== undefined ? { description } : {}),
    ...(nextHopSelf !== undefined ? { nextHopSelf } : {}),
    ...(gracefulRestart !== undefined ? { gracefulRestart } : {}),
    ...(importPolicy !== undefined ? { import: importPolicy } : {}),
    ...(exportPolicy !== undefined ? { export: exportPolicy } : {}),
  };
  return { peer, address: addr.text };
}

function readFamilies(f: Fields): FamilyName[] | undefined {
  const list = f.list('families');
  if (list === undefined) return undefined;
  const out: FamilyName[] = [];
  for (const item of list) {
    const fam = f.reader.oneOf(item.node, item.path, FAMILY_NAMES);
    if (fam === undefined) {
      if (item.node === undefined) f.reader.report(item.at, item.path, `is empty; expected one of ${FAMILY_NAMES.join(', ')}`);
      continue;
    }
    if (out.includes(fam)) f.reader.report(item.node, item.path, `${fam} is listed twice`);
    else out.push(fam);
  }
  if (list.length === 0) f.report('families', `is an empty list; a peer needs at least one of ${FAMILY_NAMES.join(', ')}`);
  return out;
}
