/**
 * BGPPeer objects → the peers of one node. `selectBgpPeers` keeps the
 * objects whose `node` and `nodeSelector` match this node; `validateBgpPeer`
 * checks a spec with the configuration file's own rules (it is a
 * `bgp.peers[]` entry in all but name) in the context of this node's file,
 * so a BGPPeer is refused exactly when the same peer in the file would be.
 * Pure.
 */
import { parseSelector, selectorMatches } from '../../ipam/core/selector.js';
import { parseConfigText } from '../config/load.js';
import type { AgentConfig, PeerDef } from '../config/schema.js';
import type { BgpPeerObject, BgpPeerSpec } from './types.js';

export interface SelectedBgpPeer {
  readonly name: string;
  readonly resourceVersion?: string;
  readonly spec: BgpPeerSpec;
}

export interface BgpPeerSelection {
  /** Sorted by object name. */
  readonly selected: readonly SelectedBgpPeer[];
  readonly problems: readonly string[];
}

/** The BGPPeers that apply to the node `selfName` with `labels`. */
export function selectBgpPeers(
  objects: readonly BgpPeerObject[], selfName: string, labels: Readonly<Record<string, string>>,
): BgpPeerSelection {
  const selected: SelectedBgpPeer[] = [];
  const problems: string[] = [];
  const sorted = objects.filter((o) => typeof o.metadata.name === 'string').slice()
    .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0));
  for (const o of sorted) {
    const name = o.metadata.name!;
    const spec = o.spec as BgpPeerSpec | undefined;
    if (spec === undefined || spec === null || typeof spec !== 'object') {
      problems.push(`BGPPeer ${name}: no spec; ignored`);
      continue;
    }
    if (spec.node !== undefined && spec.node !== '' && spec.node !== selfName) continue;
    if (spec.nodeSelector !== undefined && spec.nodeSelector.trim() !== '') {
      const sel = parseSelector(spec.nodeSelector);
      if (!sel.ok) {
        problems.push(`BGPPeer ${name}: spec.nodeSelector: ${sel.reason}; ignored`);
        continue;
      }
      if (!selectorMatches(sel.selector, labels)) continue;
    }
    selected.push({ name, spec, ...(o.metadata.resourceVersion !== undefined ? { resourceVersion: o.metadata.resourceVersion } : {}) });
  }
  return { selected, problems };
}

/** The spec fields that are a `bgp.peers[]` entry. */
const PEER_FIELDS = [
  'address', 'asn', 'port', 'passive', 'multihop', 'families', 'holdTimeSec', 'keepaliveSec', 'description', 'nextHopSelf',
  'gracefulRestart', 'import', 'export',
] as const;

export type PeerValidation = { ok: true; peer: PeerDef } | { ok: false; problems: readonly string[] };

/**
 * Validates one BGPPeer's spec as a peer of the node configured by `file`:
 * same field rules, same timer inheritance (from the file's bgp section),
 * same policy compilation, same refusal of this node's own addresses.
 */
export function validateBgpPeer(name: string, spec: BgpPeerSpec, file: AgentConfig): PeerValidation {
  // A router that requires TCP-MD5 silently drops segments without the
  // option: an unauthenticated session would sit in Connect forever with no
  // clue why. Say so instead (node:net cannot set TCP_MD5SIG).
  if (spec.password !== undefined && spec.password !== null) {
    return {
      ok: false,
      problems: [`BGPPeer ${name}: spec.password: TCP-MD5 authentication (RFC 2385) is not supported by this speaker; remove the password here and on the router, or protect the session otherwise (GTSM, ACLs)`],
    };
  }
  const peer: Record<string, unknown> = {};
  for (const k of PEER_FIELDS) if (spec[k] !== undefined && spec[k] !== null) peer[k] = spec[k];
  const n = file.node;
  const doc = {
    node: {
      name: n.name, asn: n.asn, routerId: n.routerId,
      ...(n.sourceAddress !== undefined ? { sourceAddress: n.sourceAddress } : {}),
      ...(n.sourceAddressV6 !== undefined ? { sourceAddressV6: n.sourceAddressV6 } : {}),
    },
    bgp: {
      holdTimeSec: file.bgp.holdTimeSec,
      keepaliveSec: file.bgp.keepaliveSec,
      gracefulRestart: { enabled: file.bgp.gracefulRestart.enabled },
      peers: [peer],
    },
  };
  // JSON is YAML: the file's parser reads it, field by field.
  const r = parseConfigText(JSON.stringify(doc), `BGPPeer/${name}`, { env: {}, hostname: n.name });
  if (r.ok) {
    const p = r.config.bgp.peers[0];
    if (p !== undefined) return { ok: true, peer: p };
    return { ok: false, problems: [`BGPPeer ${name}: no peer`] };
  }
  return {
    ok: false,
    problems: r.issues.map((i) => `BGPPeer ${name}: ${i.path.replace(/^bgp\.peers\[0\]/, 'spec') || 'spec'}: ${i.message}`),
  };
}
