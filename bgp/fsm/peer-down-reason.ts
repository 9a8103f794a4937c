/**
 * Why a session left Established or failed to get there. One enum shared by
 * the CLI, the logs and the metrics (as `peerDownReasonName`, a stable
 * kebab-case label).
 */
import { CeaseSubcode } from '../codec/constants.js';

export enum PeerDownReason {
  /** ManualStop with Cease/Administrative Shutdown. */
  AdminShutdown = 1,
  /** ManualStop with Cease/Administrative Reset. */
  AdminReset = 2,
  /** ManualStop with Cease/Peer De-configured. */
  PeerDeconfigured = 3,
  /** ManualStop with Cease/Other Configuration Change. */
  ConfigChanged = 4,
  /** AutomaticStop with Cease/Maximum Number of Prefixes Reached. */
  MaxPrefixesReached = 5,
  /** AutomaticStop for any other reason. */
  AutomaticStop = 6,
  /** Our HoldTimer expired; we sent Hold Timer Expired. */
  HoldTimerExpired = 7,
  /** The peer sent a NOTIFICATION. */
  NotificationReceived = 8,
  /** The TCP connection could not be made, or broke. */
  TcpConnectionFailed = 9,
  /** We sent Message Header Error. */
  MessageHeaderError = 10,
  /** We sent OPEN Message Error. */
  OpenMessageError = 11,
  /** We sent UPDATE Message Error. */
  UpdateMessageError = 12,
  /** We sent ROUTE-REFRESH Message Error. */
  RouteRefreshMessageError = 13,
  /** An event the state does not expect (FSM Error sent when past OPEN). */
  FsmError = 14,
  /** This connection lost a collision (Cease/Connection Collision Resolution). */
  ConnectionCollision = 15,
}

export const ALL_PEER_DOWN_REASONS: readonly PeerDownReason[] = [
  PeerDownReason.AdminShutdown,
  PeerDownReason.AdminReset,
  PeerDownReason.PeerDeconfigured,
  PeerDownReason.ConfigChanged,
  PeerDownReason.MaxPrefixesReached,
  PeerDownReason.AutomaticStop,
  PeerDownReason.HoldTimerExpired,
  PeerDownReason.NotificationReceived,
  PeerDownReason.TcpConnectionFailed,
  PeerDownReason.MessageHeaderError,
  PeerDownReason.OpenMessageError,
  PeerDownReason.UpdateMessageError,
  PeerDownReason.RouteRefreshMessageError,
  PeerDownReason.FsmError,
  PeerDownReason.ConnectionCollision,
];

/** Stable kebab-case label for CLI columns, log fields and metric labels. */
export function peerDownReasonName(reason: PeerDownReason): string {
  switch (reason) {
    case PeerDownReason.AdminShutdown: return 'admin-shutdown';
    case PeerDownReason.AdminReset: return 'admin-reset';
    case PeerDownReason.PeerDeconfigured: return 'peer-deconfigured';
    case PeerDownReason.ConfigChanged: return 'config-changed';
    case PeerDownReason.MaxPrefixesReached: return 'max-prefixes-reached';
    case PeerDownReason.AutomaticStop: return 'automatic-stop';
    case PeerDownReason.HoldTimerExpired: return 'hold-timer-expired';
    case PeerDownReason.NotificationReceived: return 'notification-received';
    case PeerDownReason.TcpConnectionFailed: return 'tcp-connection-failed';
    case PeerDownReason.MessageHeaderError: return 'message-header-error';
    case PeerDownReason.OpenMessageError: return 'open-message-error';
    case PeerDownReason.UpdateMessageError: return 'update-message-error';
    case PeerDownReason.RouteRefreshMessageError: return 'route-refresh-message-error';
    case PeerDownReason.FsmError: return 'fsm-error';
    case PeerDownReason.ConnectionCollision: return 'connection-collision';
  }
}

/** The reason for a stop we decided on, from the Cease subcode we send. */
export function reasonForLocalCease(subcode: CeaseSubcode, manual: boolean): PeerDownReason {
  switch (subcode) {
    case CeaseSubcode.AdministrativeShutdown: return PeerDownReason.AdminShutdown;
    case CeaseSubcode.AdministrativeReset: return PeerDownReason.AdminReset;
    case CeaseSubcode.PeerDeconfigured: return PeerDownReason.PeerDeconfigured;
    case CeaseSubcode.OtherConfigurationChange: return PeerDownReason.ConfigChanged;
    case CeaseSubcode.MaximumPrefixesReached: return PeerDownReason.MaxPrefixesReached;
    case CeaseSubcode.ConnectionCollisionResolution: return PeerDownReason.ConnectionCollision;
    default: return manual ? PeerDownReason.AdminShutdown : PeerDownReason.AutomaticStop;
  }
}
