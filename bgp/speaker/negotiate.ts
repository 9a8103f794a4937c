/**
 * Capability negotiation (RFC 5492) as a pure function: our capabilities,
 * the peer's OPEN and the peer's configuration in; the negotiated session
 * facts (or the NOTIFICATION to refuse with) out.
 */
import {
  AS_TRANS, BGP_VERSION, CapabilityCode, familyAfi, familyKey, familySafi, IPV4_UNICAST, MessageType, NotifCode,
  OpenSubcode, Writer, capabilitiesOf, type Capability, type CodecOptions, type FamilyKey, type OpenMessage,
} from '../codec/index.js';
import { negotiateHoldTime, openChecks, type Notification } from '../fsm/index.js';

/** What we advertise. */
export interface LocalCapabilities {
  asn: number;
  routerId: string;
  holdTimeSec: number;
  families: FamilyKey[];
  /** Families for which we accept add-path NLRI (RFC 7911 receive). */
  addPathReceive: FamilyKey[];
  extendedMessage: boolean;
  /** RFC 4724: present when graceful restart is enabled. */
  gracefulRestart?: {
    restartTimeSec: number;
    /** R bit: we restarted and are re-sending our table. */
    restarting: boolean;
    /** Families whose forwarding state survived our restart. */
    forwardingPreserved: FamilyKey[];
  };
  hostname?: string;
}

export interface PeerGracefulRestart {
  restartTimeSec: number;
  restarting: boolean;
  /** Family -> forwarding state preserved. Only families also negotiated. */
  families: Map<FamilyKey, boolean>;
}

export interface Negotiated {
  peerAsn: number;
  peerBgpId: string;
  peerHoldTimeSec: number;
  holdTimeSec: number;
  fourOctetAs: boolean;
  families: FamilyKey[];
  routeRefresh: boolean;
  enhancedRouteRefresh: boolean;
  extendedMessage: boolean;
  /** Peer's graceful restart capability, when both sides have it. */
  gracefulRestart?: PeerGracefulRestart;
  peerHostname?: string;
  /** Decode options for what the peer sends. */
  rx: CodecOptions;
  /** Encode options for what we send. */
  tx: CodecOptions;
}

/** Our OPEN, with every capability in one parameter as BIRD and FRR do. */
export function buildOpen(local: LocalCapabilities): OpenMessage {
  const caps: Capability[] = local.families.map((f) => ({ code: CapabilityCode.Multiprotocol, afi: familyAfi(f), safi: familySafi(f) }));
  caps.push({ code: CapabilityCode.RouteRefresh }, { code: CapabilityCode.EnhancedRouteRefresh });
  caps.push({ code: CapabilityCode.FourOctetAs, asn: local.asn });
  if (local.extendedMessage) caps.push({ code: CapabilityCode.ExtendedMessage });
  if (local.addPathReceive.length > 0) {
    caps.push({
      code: CapabilityCode.AddPath,
      entries: local.addPathReceive.map((f) => ({ afi: familyAfi(f), safi: familySafi(f), mode: 1 })),
    });
  }
  if (local.gracefulRestart) {
    const gr = local.gracefulRestart;
    caps.push({
      code: CapabilityCode.GracefulRestart,
      restarting: gr.restarting,
      notification: false,
      restartTimeSec: gr.restartTimeSec,
      families: local.families.map((f) => ({ afi: familyAfi(f), safi: familySafi(f), forwardingPreserved: gr.forwardingPreserved.includes(f) })),
    });
  }
  if (local.hostname) caps.push({ code: CapabilityCode.Fqdn, hostname: local.hostname, domain: '' });
  return {
    type: MessageType.Open,
    version: BGP_VERSION,
    myAs: local.asn > 0xffff ? AS_TRANS : local.asn,
    holdTimeSec: local.holdTimeSec,
    bgpId: local.routerId,
    params: [{ type: 2, capabilities: caps }],
  };
}

export interface PeerExpectations {
  /** The AS configured for the peer; undefined accepts any (e.g. dynamic mesh). */
  asn?: number;
  /** Our AS as the peer sees it (for iBGP/eBGP). */
  localAsn: number;
}

/**
 * Negotiates; returns the NOTIFICATION to send when the OPEN must be
 * refused: RFC 4271 §6.2 checks, then no family in common (RFC 5492
 * Unsupported Capability, data = our multiprotocol capabilities).
 */
export function negotiate(local: LocalCapabilities, open: OpenMessage, expect: PeerExpectations): Negotiated | Notification {
  const caps = capabilitiesOf(open);
  let peerAsn = open.myAs;
  let fourOctetAs = false;
  const peerFamilies = new Set<FamilyKey>();
  let sawMp = false;
  let routeRefresh = false;
  let enhancedRouteRefresh = false;
  let extendedMessage = false;
  const peerAddPath = new Map<FamilyKey, number>();
  let gr: PeerGracefulRestart | undefined;
  let peerHostname: string | undefined;
  for (const c of caps) {
    switch (c.code) {
      case CapabilityCode.Multiprotocol:
        sawMp = true;
        peerFamilies.add(familyKey(c.afi, c.safi));
        break;
      case CapabilityCode.RouteRefresh: routeRefresh = true; break;
      case CapabilityCode.EnhancedRouteRefresh: enhancedRouteRefresh = true; break;
      case CapabilityCode.ExtendedMessage: extendedMessage = true; break;
      case CapabilityCode.FourOctetAs:
        fourOctetAs = true;
        peerAsn = c.asn;
        break;
      case CapabilityCode.AddPath:
        for (const e of c.entries) peerAddPath.set(familyKey(e.afi, e.safi), e.mode);
        break;
      case CapabilityCode.GracefulRestart:
        gr = {
          restartTimeSec: c.restartTimeSec,
          restarting: c.restarting,
          families: new Map(c.families.map((f) => [familyKey(f.afi, f.safi), f.forwardingPreserved])),
        };
        break;
      case CapabilityCode.Fqdn:
        peerHostname = c.hostname;
        break;
      default:
        break;
    }
  }
  // RFC 4760 §8: a speaker without multiprotocol capabilities does IPv4 unicast.
  if (!sawMp) peerFamilies.add(IPV4_UNICAST);
  const refused = openChecks(
    { version: open.version, asn: peerAsn, holdTimeSec: open.holdTimeSec, bgpId: open.bgpId },
    { bgpId: local.routerId, asn: expect.localAsn, expectedPeerAsn: expect.asn },
  );
  if (refused) return refused;
  const families = local.families.filter((f) => peerFamilies.has(f));
  if (families.length === 0) {
    const w = new Writer(64);
    for (const f of local.families) {
      w.u8(CapabilityCode.Multiprotocol);
      w.u8(4);
      w.u16(familyAfi(f));
      w.u8(0);
      w.u8(familySafi(f));
    }
    return { code: NotifCode.OpenMessageError, subcode: OpenSubcode.UnsupportedCapability, data: w.finish() };
  }
  const external = peerAsn !== expect.localAsn;
  const addPathRx = new Set<FamilyKey>();
  for (const f of local.addPathReceive) {
    const mode = peerAddPath.get(f);
    if (mode !== undefined && (mode & 2) !== 0 && families.includes(f)) addPathRx.add(f);
  }
  const ext = extendedMessage && local.extendedMessage;
  if (gr) {
    for (const f of [...gr.families.keys()]) if (!families.includes(f)) gr.families.delete(f);
  }
  const neg: Negotiated = {
    peerAsn,
    peerBgpId: open.bgpId,
    peerHoldTimeSec: open.holdTimeSec,
    holdTimeSec: negotiateHoldTime(local.holdTimeSec, open.holdTimeSec),
    fourOctetAs,
    families,
    routeRefresh: routeRefresh || enhancedRouteRefresh,
    enhancedRouteRefresh,
    extendedMessage: ext,
    rx: { fourOctetAs, extendedMessage: ext, addPath: addPathRx, external },
    tx: { fourOctetAs, extendedMessage: ext, addPath: new Set(), external },
  };
  if (gr && local.gracefulRestart) neg.gracefulRestart = gr;
  if (peerHostname !== undefined) neg.peerHostname = peerHostname;
  return neg;
}

export function isNotification(x: Negotiated | Notification): x is Notification {
  return 'code' in x && 'subcode' in x;
}
