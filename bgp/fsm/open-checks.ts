/**
 * Checks on a received OPEN that decide between BGPOpen and BGPOpenMsgErr
 * (RFC 4271 §6.2, RFC 6286 §2.2), in the order §6.2 lists them. Capability
 * checks belong to capability negotiation and are not done here.
 */
import { BGP_VERSION, NotifCode, OpenSubcode } from '../codec/constants.js';
import { parseBgpId } from './bgp-id.js';
import { isAcceptableHoldTime } from './hold-time.js';
import type { Notification } from './types.js';

export interface ReceivedOpen {
  version: number;
  /** The peer's AS: from the 4-octet AS capability when present, else My Autonomous System. */
  asn: number;
  holdTimeSec: number;
  bgpId: string;
}

export interface LocalOpenView {
  bgpId: string;
  asn: number;
  /** The AS configured for this peer; undefined accepts any. */
  expectedPeerAsn?: number;
}

function openError(subcode: OpenSubcode, data: Uint8Array = new Uint8Array(0)): Notification {
  return { code: NotifCode.OpenMessageError, subcode, data };
}

/** The NOTIFICATION to send for an unacceptable OPEN, or undefined when it is acceptable. */
export function openChecks(open: ReceivedOpen, local: LocalOpenView): Notification | undefined {
  if (open.version !== BGP_VERSION) {
    // §6.2: Data is the version we support (our only one), two octets.
    return openError(OpenSubcode.UnsupportedVersionNumber, Uint8Array.of(0, BGP_VERSION));
  }
  if (local.expectedPeerAsn !== undefined && open.asn !== local.expectedPeerAsn) {
    return openError(OpenSubcode.BadPeerAs);
  }
  const peerId = parseBgpId(open.bgpId);
  const internal = open.asn === local.asn;
  if (peerId === undefined || peerId === 0 || (internal && peerId === parseBgpId(local.bgpId))) {
    return openError(OpenSubcode.BadBgpIdentifier);
  }
  if (!isAcceptableHoldTime(open.holdTimeSec)) {
    return openError(OpenSubcode.UnacceptableHoldTime);
  }
  return undefined;
}
