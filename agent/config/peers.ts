/**
 * The peers the speaker runs, with every inherited value resolved: the
 * node-to-node mesh members (minus this node) and the explicit peers. An
 * explicit peer wins over a mesh member at the same address. Pure.
 */
import { IPV4_UNICAST, IPV6_UNICAST, type FamilyKey } from '../../bgp/codec/index.js';
import type { PolicyDef } from '../../bgp/rib/policy.js';
import type { PeerConfig, SpeakerConfig } from '../../bgp/speaker/types.js';
import { DEFAULTS, FAMILY_NAMES, type AgentConfig, type FamilyName, type PeerDef } from './schema.js';
import { resolveTimers, type TimerLevel } from './timers.js';

export type PeerSource = 'mesh' | 'explicit';

/** A peer's identity across reloads: its canonical address. */
export type PeerKey = string;

export const FAMILY_KEYS: Readonly<Record<FamilyName, FamilyKey>> = Object.freeze({ ipv4: IPV4_UNICAST, ipv6: IPV6_UNICAST });

export interface EffectivePeer {
  readonly key: PeerKey;
  readonly address: string;
  readonly source: PeerSource;
  /** The mesh member's name, for mesh peers. */
  readonly name?: string;
  /** The file's description; for mesh peers "mesh: <name>" when the member has a name. */
  readonly description?: string;
  readonly asn: number;
  readonly type: 'ibgp' | 'ebgp';
  readonly port: number;
  readonly passive: boolean;
  /** TTL of our packets: the file's multihop, else 1 toward eBGP and 255 toward iBGP. */
  readonly ttl: number;
  readonly familyNames: readonly FamilyName[];
  readonly families: readonly FamilyKey[];
  readonly holdTimeSec: number;
  readonly keepaliveSec: number;
  readonly connectRetrySec: number;
  readonly nextHopSelf: boolean;
  readonly gracefulRestart: boolean;
  /** Our source address toward this peer (node.sourceAddress or sourceAddressV6 by family), if set. */
  readonly localAddress?: string;
  readonly importPolicy?: PolicyDef;
  readonly exportPolicy?: PolicyDef;
}

export interface EffectivePeers {
  /** Mesh peers first (file order), then explicit peers (file order). */
  readonly peers: readonly EffectivePeer[];
  /** Things worth a log line: a mesh member shadowed by an explicit peer. */
  readonly warnings: readonly string[];
}

/** True when `address` or `name` is this node. */
function isSelf(cfg: AgentConfig, address: string, name: string | undefined): boolean {
  const n = cfg.node;
  return address === n.sourceAddress || address === n.sourceAddressV6 || address === n.routerId || (name !== undefined && name === n.name);
}

function localAddressFor(cfg: AgentConfig, address: string): string | undefined {
  return address.includes(':') ? cfg.node.sourceAddressV6 : cfg.node.sourceAddress;
}

interface PeerInput extends TimerLevel {
  address: string;
  asn: number;
  source: PeerSource;
  name?: string;
  description?: string;
  port?: number;
  passive?: boolean;
  multihop?: number;
  families?: readonly FamilyName[];
  nextHopSelf?: boolean;
  gracefulRestart?: boolean;
  import?: PolicyDef;
  export?: PolicyDef;
  /** Timer levels between this peer and the bgp section (the mesh). */
  groups: readonly TimerLevel[];
}

function resolve(cfg: AgentConfig, p: PeerInput): EffectivePeer {
  const bgp = cfg.bgp;
  const type = p.asn === cfg.node.asn ? 'ibgp' : 'ebgp';
  const timers = resolveTimers([p, ...p.groups], { holdTimeSec: bgp.holdTimeSec, keepaliveSec: bgp.keepaliveSec });
  const familyNames = p.families ?? FAMILY_NAMES;
  const localAddress = localAddressFor(cfg, p.address);
  const policyName = (dir: string): string => `${dir} ${p.description ?? p.address}`;
  return {
    key: p.address,
    address: p.address,
    source: p.source,
    ...(p.name !== undefined ? { name: p.name } : {}),
    ...(p.description !== undefined ? { description: p.description } : {}),
    asn: p.asn,
    type,
    port: p.port ?? DEFAULTS.peerPort,
    passive: p.passive ?? false,
    ttl: p.multihop ?? (type === 'ebgp' ? 1 : 255),
    familyNames,
    families: familyNames.map((f) => FAMILY_KEYS[f]),
    ...timers,
    connectRetrySec: bgp.connectRetrySec,
    nextHopSelf: p.nextHopSelf ?? false,
    gracefulRestart: bgp.gracefulRestart.enabled && p.gracefulRestart !== false,
    ...(localAddress !== undefined ? { localAddress } : {}),
    ...(p.import !== undefined ? { importPolicy: { ...p.import, name: p.import.name ?? policyName('import from') } } : {}),
    ...(p.export !== undefined ? { exportPolicy: { ...p.export, name: p.export.name ?? policyName('export to') } } : {}),
  };
}

function explicitInput(p: PeerDef): PeerInput {
  return { ...p, source: 'explicit', groups: [] };
}

export function effectivePeers(cfg: AgentConfig): EffectivePeers {
  const warnings: string[] = [];
  const explicit = new Map(cfg.bgp.peers.map((p) => [p.address, p]));
  const out: EffectivePeer[] = [];
  const mesh = cfg.bgp.nodeToNodeMesh;
  if (mesh.enabled) {
    const group: TimerLevel = {
      ...(mesh.holdTimeSec !== undefined ? { holdTimeSec: mesh.holdTimeSec } : {}),
      ...(mesh.keepaliveSec !== undefined ? { keepaliveSec: mesh.keepaliveSec } : {}),
    };
    for (const m of mesh.members) {
      if (isSelf(cfg, m.address, m.name)) continue;
      if (explicit.has(m.address)) {
        warnings.push(`mesh member ${m.address}${m.name !== undefined ? ` (${m.name})` : ''} is also an explicit peer; the explicit peer's settings apply`);
        continue;
      }
      out.push(resolve(cfg, {
        address: m.address,
        asn: m.asn,
        source: 'mesh',
        ...(m.name !== undefined ? { name: m.name, description: `mesh: ${m.name}` } : {}),
        ...(mesh.passive !== undefined ? { passive: mesh.passive } : {}),
        groups: [group],
      }));
    }
  }
  for (const p of cfg.bgp.peers) out.push(resolve(cfg, explicitInput(p)));
  return Object.freeze({ peers: Object.freeze(out.map((p) => Object.freeze(p))), warnings: Object.freeze(warnings) });
}

/** The speaker's PeerConfig for an effective peer. */
export function speakerPeerConfig(p: EffectivePeer): PeerConfig {
  return {
    address: p.address,
    port: p.port,
    asn: p.asn,
    ...(p.localAddress !== undefined ? { localAddress: p.localAddress } : {}),
    passive: p.passive,
    ...(p.description !== undefined ? { description: p.description } : {}),
    families: [...p.families],
    holdTimeSec: p.holdTimeSec,
    keepaliveSec: p.keepaliveSec,
    connectRetrySec: p.connectRetrySec,
    nextHopSelf: p.nextHopSelf,
    gracefulRestart: p.gracefulRestart,
    ...(p.importPolicy !== undefined ? { importPolicy: p.importPolicy } : {}),
    ...(p.exportPolicy !== undefined ? { exportPolicy: p.exportPolicy } : {}),
  };
}

/** The speaker's own settings. `restarting`: the agent found its routes in the kernel (graceful restart). */
export function speakerConfig(cfg: AgentConfig, restarting = false): SpeakerConfig {
  const b = cfg.bgp;
  const nextHops = {
    ...(cfg.node.sourceAddress !== undefined ? { ipv4: cfg.node.sourceAddress } : {}),
    ...(cfg.node.sourceAddressV6 !== undefined ? { ipv6: cfg.node.sourceAddressV6 } : {}),
  };
  return {
    asn: cfg.node.asn,
    routerId: cfg.node.routerId,
    ...(b.listen.enabled ? { listen: { address: b.listen.address, port: b.listen.port } } : {}),
    gracefulRestart: { ...b.gracefulRestart, restarting },
    maxPaths: b.maxPaths,
    hostname: cfg.node.name,
    nextHops,
  };
}
