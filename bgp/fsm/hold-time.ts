/**
 * Hold time negotiation (RFC 4271 §4.2, §4.4, §10).
 */

/** RFC 4271 §4.2: a Hold Time is 0 or at least 3 seconds. */
export function isAcceptableHoldTime(holdTimeSec: number): boolean {
  return Number.isInteger(holdTimeSec) && holdTimeSec >= 0 && holdTimeSec <= 0xffff
    && (holdTimeSec === 0 || holdTimeSec >= 3);
}

/**
 * The hold time both sides use: the smaller of the two advertised values
 * (RFC 4271 §4.2). 0 disables the HoldTimer and keepalives.
 */
export function negotiateHoldTime(ourHoldTimeSec: number, peerHoldTimeSec: number): number {
  return Math.min(ourHoldTimeSec, peerHoldTimeSec);
}

/**
 * The keepalive interval for a negotiated hold time: our configured
 * interval, but never more than a third of the hold time (RFC 4271 §10), and
 * at least 1 s. 0 when the hold time is 0: no keepalives are sent.
 */
export function keepaliveInterval(negotiatedHoldTimeSec: number, configuredKeepaliveSec: number): number {
  if (negotiatedHoldTimeSec === 0) return 0;
  const third = Math.floor(negotiatedHoldTimeSec / 3);
  const wanted = configuredKeepaliveSec > 0 ? configuredKeepaliveSec : third;
  return Math.max(1, Math.min(wanted, third));
}
