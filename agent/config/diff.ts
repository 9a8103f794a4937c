/**
 * What a reload changes. Pure: two configurations in, a plan out. The agent
 * applies it: restartRequired items cannot be applied live; peersAdded and
 * peersRemoved start and stop sessions; a peersChanged entry resets the
 * session only when `resetRequired` (an import policy change asks for a
 * route refresh instead, an export policy change for re-advertising);
 * originate changes announce or withdraw our prefixes; communitiesChanged
 * re-announces them all with the new communities.
 */
import { formatCommunity, formatLargeCommunity } from '../../bgp/codec/index.js';
import type { PolicyDef } from '../../bgp/rib/policy.js';
import { effectivePeers, type EffectivePeer, type PeerKey, type PeerSource } from './peers.js';
import type { AgentConfig } from './schema.js';

export interface PeerRef {
  readonly key: PeerKey;
  readonly source: PeerSource;
}

export interface PeerChange extends PeerRef {
  /** One per changed parameter, as 'holdTimeSec 90 -> 30'. */
  readonly reasons: readonly string[];
  /** False when every reason can be applied without resetting the session. */
  readonly resetRequired: boolean;
}

export interface ConfigDiff {
  /** Changes the agent cannot apply without a full restart, as 'node.asn 65001 -> 65002'. */
  readonly restartRequired: readonly string[];
  readonly peersAdded: readonly PeerRef[];
  readonly peersRemoved: readonly PeerRef[];
  readonly peersChanged: readonly PeerChange[];
  readonly originateAdded: readonly string[];
  readonly originateRemoved: readonly string[];
  /** bgp.communities or bgp.largeCommunities differ (as sets). */
  readonly communitiesChanged: boolean;
  /** IPAM settings that apply live (pools, reservations, affinity, timers, node labels) differ. */
  readonly ipamChanged: boolean;
  /** Changes that need no session work: log level, endpoints, descriptions, inherited defaults. */
  readonly other: readonly string[];
  /** Nothing differs at all. */
  readonly empty: boolean;
}

export const IMPORT_POLICY_CHANGED = 'import policy changed (route refresh)';
export const EXPORT_POLICY_CHANGED = 'export policy changed (re-advertise)';

function show(v: unknown): string {
  if (v === undefined) return '(unset)';
  if (Array.isArray(v)) return v.length === 0 ? '(none)' : v.map(show).join(',');
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** "path old -> new" when they differ. */
function change(path: string, a: unknown, b: unknown): string | undefined {
  return show(a) === show(b) ? undefined : `${path} ${show(a)} -> ${show(b)}`;
}

/** A policy's meaning, ignoring its name (names only label log lines). */
function policyText(p: PolicyDef | undefined): string {
  if (p === undefined) return '';
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => [k, sorted(x)]));
    }
    return v;
  };
  return JSON.stringify(sorted({ ...p, name: undefined }));
}

/** Per-peer parameters; `reset: false` ones are applied without resetting the session. */
const PEER_FIELDS: readonly { name: string; get: (p: EffectivePeer) => unknown; reset: boolean }[] = [
  { name: 'asn', get: (p) => p.asn, reset: true },
  { name: 'port', get: (p) => p.port, reset: true },
  { name: 'passive', get: (p) => p.passive, reset: true },
  { name: 'multihop', get: (p) => p.ttl, reset: true },
  { name: 'families', get: (p) => p.familyNames, reset: true },
  { name: 'holdTimeSec', get: (p) => p.holdTimeSec, reset: true },
  { name: 'keepaliveSec', get: (p) => p.keepaliveSec, reset: true },
  { name: 'localAddress', get: (p) => p.localAddress, reset: true },
  { name: 'nextHopSelf', get: (p) => p.nextHopSelf, reset: true },
  { name: 'gracefulRestart', get: (p) => p.gracefulRestart, reset: true },
  { name: 'connectRetrySec', get: (p) => p.connectRetrySec, reset: false },
];

function diffPeer(a: EffectivePeer, b: EffectivePeer): { reasons: string[]; reset: boolean; cosmetic: string[] } {
  const reasons: string[] = [];
  let reset = false;
  for (const f of PEER_FIELDS) {
    const c = change(f.name, f.get(a), f.get(b));
    if (c === undefined) continue;
    reasons.push(c);
    reset ||= f.reset;
  }
  if (policyText(a.importPolicy) !== policyText(b.importPolicy)) reasons.push(IMPORT_POLICY_CHANGED);
  if (policyText(a.exportPolicy) !== policyText(b.exportPolicy)) reasons.push(EXPORT_POLICY_CHANGED);
  const cosmetic: string[] = [];
  const s = change('source', a.source, b.source);
  if (s !== undefined) cosmetic.push(s);
  const d = change('description', a.description, b.description);
  if (d !== undefined) cosmetic.push(d);
  return { reasons, reset, cosmetic };
}

/** A policy setting matters only while policy is on (the defaulted node addresses follow node.sourceAddress). */
function onlyEnabled(c: AgentConfig, v: unknown): unknown {
  return c.policy.enabled ? v : undefined;
}

/** Global fields: [path, getter, needs a restart]. */
const GLOBAL_FIELDS: readonly [string, (c: AgentConfig) => unknown, boolean][] = [
  ['node.asn', (c) => c.node.asn, true],
  ['node.routerId', (c) => c.node.routerId, true],
  ['node.sourceAddress', (c) => c.node.sourceAddress, true],
  ['node.sourceAddressV6', (c) => c.node.sourceAddressV6, true],
  ['node.name', (c) => c.node.name, false],
  ['bgp.listen.enabled', (c) => c.bgp.listen.enabled, true],
  ['bgp.listen.address', (c) => c.bgp.listen.address, true],
  ['bgp.listen.port', (c) => c.bgp.listen.port, true],
  ['bgp.gracefulRestart.enabled', (c) => c.bgp.gracefulRestart.enabled, true],
  ['bgp.gracefulRestart.restartTimeSec', (c) => c.bgp.gracefulRestart.restartTimeSec, true],
  ['bgp.gracefulRestart.staleTimeSec', (c) => c.bgp.gracefulRestart.staleTimeSec, true],
  ['bgp.gracefulRestart.deferralSec', (c) => c.bgp.gracefulRestart.deferralSec, true],
  ['bgp.maxPaths', (c) => c.bgp.maxPaths, true],
  ['routes.protocol', (c) => c.routes.protocol, true],
  ['routes.table', (c) => c.routes.table, true],
  ['paths.stateDir', (c) => c.paths.stateDir, true],
  ['paths.controlSocket', (c) => c.paths.controlSocket, true],
  ['ipam.datastore.type', (c) => c.ipam.datastore.type, true],
  ['ipam.datastore.directory', (c) => c.ipam.datastore.directory, true],
  ['kubernetes.enabled', (c) => c.kubernetes.enabled, true],
  ['kubernetes.kubeconfig', (c) => c.kubernetes.kubeconfig, true],
  ['kubernetes.nodeAddressCidrs', (c) => c.kubernetes.nodeAddressCidrs, true],
  ['kubernetes.nodeGcGraceSec', (c) => c.kubernetes.nodeGcGraceSec, false],
  // The enforcer is built once at start from these; changing any of them means rebuilding the ruleset.
  ['policy.enabled', (c) => c.policy.enabled, true],
  ['policy.manifestDir', (c) => onlyEnabled(c, c.policy.manifestDir), true],
  ['policy.ifacePrefix', (c) => onlyEnabled(c, c.policy.ifacePrefix), true],
  ['policy.backend', (c) => onlyEnabled(c, c.policy.backend), true],
  ['policy.families', (c) => onlyEnabled(c, c.policy.families), true],
  ['policy.markBit', (c) => onlyEnabled(c, c.policy.markBit), true],
  ['policy.nodeAddresses', (c) => onlyEnabled(c, c.policy.nodeAddresses), true],
  ['policy.resyncIntervalSec', (c) => onlyEnabled(c, c.policy.resyncIntervalSec), true],
  // Read on every CNI ADD wait.
  ['policy.cniWaitMs', (c) => onlyEnabled(c, c.policy.cniWaitMs), false],
  // The effect of these on sessions shows up per peer.
  ['bgp.holdTimeSec', (c) => c.bgp.holdTimeSec, false],
  ['bgp.keepaliveSec', (c) => c.bgp.keepaliveSec, false],
  ['bgp.connectRetrySec', (c) => c.bgp.connectRetrySec, false],
  ['bgp.nodeToNodeMesh.enabled', (c) => c.bgp.nodeToNodeMesh.enabled, false],
  ['bgp.nodeToNodeMesh.holdTimeSec', (c) => c.bgp.nodeToNodeMesh.holdTimeSec, false],
  ['bgp.nodeToNodeMesh.keepaliveSec', (c) => c.bgp.nodeToNodeMesh.keepaliveSec, false],
  ['bgp.nodeToNodeMesh.passive', (c) => c.bgp.nodeToNodeMesh.passive, false],
  ['metrics.address', (c) => c.metrics.address, false],
  ['metrics.port', (c) => c.metrics.port, false],
  ['health.address', (c) => c.health.address, false],
  ['health.port', (c) => c.health.port, false],
  ['health.readinessGraceSec', (c) => c.health.readinessGraceSec, false],
  ['logLevel', (c) => c.logLevel, false],
];

/** IPAM fields applied live: their change sets ConfigDiff.ipamChanged (and is listed under `other`). */
const IPAM_LIVE_FIELDS: readonly [string, (c: AgentConfig) => unknown][] = [
  ['ipam.pools', (c) => c.ipam.pools.map((p) => `${p.name}=${p.cidr}/b${p.blockSize}${p.disabled ? '(disabled)' : ''}[${p.nodeSelector}]`)],
  ['ipam.reservations', (c) => c.ipam.reservations],
  ['ipam.strictAffinity', (c) => c.ipam.strictAffinity],
  ['ipam.releaseCooldownSec', (c) => c.ipam.releaseCooldownSec],
  ['ipam.gcGraceSec', (c) => c.ipam.gcGraceSec],
  ['node.labels', (c) => Object.entries(c.node.labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`)],
];

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

export function diffConfig(old: AgentConfig, next: AgentConfig): ConfigDiff {
  const restartRequired: string[] = [];
  const other: string[] = [];
  for (const [path, get, restart] of GLOBAL_FIELDS) {
    const c = change(path, get(old), get(next));
    if (c !== undefined) (restart ? restartRequired : other).push(c);
  }

  const before = new Map(effectivePeers(old).peers.map((p) => [p.key, p]));
  const after = new Map(effectivePeers(next).peers.map((p) => [p.key, p]));
  const peersAdded: PeerRef[] = [];
  const peersRemoved: PeerRef[] = [];
  const peersChanged: PeerChange[] = [];
  for (const [key, p] of before) if (!after.has(key)) peersRemoved.push({ key, source: p.source });
  for (const [key, b] of after) {
    const a = before.get(key);
    if (a === undefined) {
      peersAdded.push({ key, source: b.source });
      continue;
    }
    const d = diffPeer(a, b);
    if (d.reasons.length > 0) peersChanged.push({ key, source: b.source, reasons: d.reasons, resetRequired: d.reset });
    for (const c of d.cosmetic) other.push(`peer ${key}: ${c}`);
  }

  let ipamChanged = false;
  for (const [path, get] of IPAM_LIVE_FIELDS) {
    const c = change(path, get(old), get(next));
    if (c === undefined) continue;
    other.push(c);
    ipamChanged = true;
  }

  const oldSet = new Set(old.routes.originate);
  const newSet = new Set(next.routes.originate);
  const originateAdded = next.routes.originate.filter((p) => !oldSet.has(p));
  const originateRemoved = old.routes.originate.filter((p) => !newSet.has(p));
  const communitiesChanged =
    !sameSet(old.bgp.communities.map(formatCommunity), next.bgp.communities.map(formatCommunity)) ||
    !sameSet(old.bgp.largeCommunities.map(formatLargeCommunity), next.bgp.largeCommunities.map(formatLargeCommunity));

  const empty = restartRequired.length + other.length + peersAdded.length + peersRemoved.length + peersChanged.length +
    originateAdded.length + originateRemoved.length === 0 && !communitiesChanged;
  return {
    restartRequired, peersAdded, peersRemoved, peersChanged, originateAdded, originateRemoved, communitiesChanged, ipamChanged, other, empty,
  };
}
