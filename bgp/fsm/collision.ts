/**
 * Connection collision detection, RFC 4271 §6.8 (with RFC 6286 §2.3 for
 * equal BGP Identifiers). Pure decisions; the session carries them out.
 *
 * How the session uses this, with one FSM per TCP connection:
 * 1. A connection arrives from the peer: `incomingConnectionDisposition`
 *    says accept it as the main FSM's connection, run it as a second
 *    connection (`acceptSecondConnection`), or reject it.
 * 2. Whenever either FSM accepts an OPEN, `detectCollision(other, bgpId)`
 *    says whether the other connection collides with it.
 * 3. If so, `resolveCollision` says which connection to keep. Feed the
 *    loser OpenCollisionDump, carry out its send-notification and close,
 *    then discard that FSM instance with all of its timers (including any
 *    idle-hold it armed). If the second connection won, it becomes the main
 *    one through `promoteSecondConnection`.
 */
import { TortieError } from '../../lib/errors.js';
import { CeaseSubcode } from '../codec/constants.js';
import { parseBgpId } from './bgp-id.js';
import { ceaseNotification, type TransitionResult } from './transition-common.js';
import { transition } from './transition.js';
import { SessionState, TimerName, initialFsmState, type FsmConfig, type FsmState, type Notification } from './types.js';

/** Who opened a TCP connection. */
export enum ConnectionOrigin {
  /** We connected out. */
  Local = 'local',
  /** The peer connected to us. */
  Remote = 'remote',
}

function bgpIdValue(id: string): number {
  const value = parseBgpId(id);
  if (value === undefined) throw new TortieError('ERR_BGP_BAD_BGP_ID', `not a BGP Identifier: ${JSON.stringify(id)}`);
  return value;
}

/**
 * The connection to keep of two that collide, named by who initiated it:
 * the one initiated by the speaker with the higher BGP Identifier, compared
 * as unsigned 32-bit integers. When the identifiers are equal (allowed
 * between ASes by RFC 6286), the one initiated by the speaker with the
 * higher AS number. Equal identifiers within one AS cannot reach this point:
 * openChecks refuses them with Bad BGP Identifier. Were they to, the
 * locally initiated connection is kept.
 */
export function initiatorToKeep(localBgpId: string, peerBgpId: string, localAsn: number, peerAsn: number): ConnectionOrigin {
  const local = bgpIdValue(localBgpId);
  const peer = bgpIdValue(peerBgpId);
  if (local !== peer) return local > peer ? ConnectionOrigin.Local : ConnectionOrigin.Remote;
  return peerAsn > localAsn ? ConnectionOrigin.Remote : ConnectionOrigin.Local;
}

export interface CollisionInput {
  localBgpId: string;
  /** From the OPEN just received. */
  peerBgpId: string;
  localAsn: number;
  peerAsn: number;
  /** Who initiated the connection that was already in OpenConfirm (or Established). */
  existing: ConnectionOrigin;
  /** Who initiated the connection on which the OPEN was just received. */
  incoming: ConnectionOrigin;
}

export interface CollisionResolution {
  keep: 'existing' | 'incoming';
  dump: 'existing' | 'incoming';
  /** What the loser sends: Cease / Connection Collision Resolution (6/7). */
  notification: Notification;
}

/**
 * Which of two colliding connections to keep. When both were initiated by
 * the same side (the peer reconnecting while its old connection lingers)
 * §6.8 does not apply; the incoming one is kept, as the older one is most
 * likely dead.
 */
export function resolveCollision(input: CollisionInput): CollisionResolution {
  let keep: 'existing' | 'incoming';
  if (input.existing === input.incoming) {
    keep = 'incoming';
  } else {
    const winner = initiatorToKeep(input.localBgpId, input.peerBgpId, input.localAsn, input.peerAsn);
    keep = input.existing === winner ? 'existing' : 'incoming';
  }
  return {
    keep,
    dump: keep === 'existing' ? 'incoming' : 'existing',
    notification: ceaseNotification(CeaseSubcode.ConnectionCollisionResolution),
  };
}

/**
 * Does `other` collide with a connection that just accepted an OPEN
 * carrying `bgpId`? Only a connection in OpenConfirm takes part (we know
 * its peer's identifier), or one in Established when
 * `collisionDetectEstablishedState` is set (RFC 4271 §8.1.1 option).
 */
export function detectCollision(other: FsmState, bgpId: string, collisionDetectEstablishedState = false): boolean {
  const takesPart = other.state === SessionState.OpenConfirm
    || (collisionDetectEstablishedState && other.state === SessionState.Established);
  if (!takesPart || other.peerBgpId === undefined) return false;
  return parseBgpId(other.peerBgpId) === parseBgpId(bgpId);
}

export type IncomingDisposition =
  /** Make it the main FSM's connection: abandon any pending outgoing connect, feed TcpConnectionConfirmed. */
  | { kind: 'accept' }
  /** The main FSM already has a connection: run this one with `acceptSecondConnection`. */
  | { kind: 'second' }
  /** Send the NOTIFICATION and close it. */
  | { kind: 'reject'; notification: Notification };

/**
 * What to do with a connection from a configured peer, given the main
 * FSM's state (RFC 4271 §8.2.2 and §6.8).
 * - Idle refuses connections: Cease / Connection Rejected.
 * - Connect and Active take it, unless the DelayOpenTimer runs: then a
 *   connection exists already and this one is a second.
 * - OpenSent and OpenConfirm: a second connection, resolved on its OPEN.
 * - Established: the new connection is closed (§6.8), with Cease /
 *   Connection Collision Resolution, unless collisionDetectEstablishedState.
 */
export function incomingConnectionDisposition(main: FsmState, collisionDetectEstablishedState = false): IncomingDisposition {
  switch (main.state) {
    case SessionState.Idle:
      return { kind: 'reject', notification: ceaseNotification(CeaseSubcode.ConnectionRejected) };
    case SessionState.Connect:
    case SessionState.Active:
      return main.timers[TimerName.DelayOpen] > 0 ? { kind: 'second' } : { kind: 'accept' };
    case SessionState.OpenSent:
    case SessionState.OpenConfirm:
      return { kind: 'second' };
    case SessionState.Established:
      return collisionDetectEstablishedState
        ? { kind: 'second' }
        : { kind: 'reject', notification: ceaseNotification(CeaseSubcode.ConnectionCollisionResolution) };
  }
}

/**
 * A fresh FSM for a second, peer-initiated connection, already fed
 * TcpConnectionConfirmed: it has sent its OPEN (or started its
 * DelayOpenTimer). It never connects out and never restarts on its own.
 */
export function acceptSecondConnection(config: Readonly<FsmConfig>): TransitionResult {
  const idle = initialFsmState({ ...config, passive: true, allowAutomaticStart: false });
  const active = transition(idle, { type: 'ManualStart_with_PassiveTcpEstablishment' });
  const opened = transition(active.state, { type: 'TcpConnectionConfirmed' });
  return { state: opened.state, actions: [...active.actions, ...opened.actions] };
}

/**
 * The second connection won: it becomes the main FSM, with the main
 * FSM's configuration, counters and back-off (taken before the main FSM
 * was fed OpenCollisionDump).
 */
export function promoteSecondConnection(second: FsmState, mainBeforeDump: FsmState): FsmState {
  return {
    ...second,
    config: mainBeforeDump.config,
    connectRetryCounter: mainBeforeDump.connectRetryCounter,
    idleHoldSec: mainBeforeDump.idleHoldSec,
    failureCount: mainBeforeDump.failureCount,
  };
}
