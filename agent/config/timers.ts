/**
 * Hold and keepalive times: the RFC 4271 rules and how a peer inherits
 * them from its group (the mesh) and from the bgp section. Pure.
 */

export interface TimerLevel {
  holdTimeSec?: number;
  keepaliveSec?: number;
}

export interface Timers {
  holdTimeSec: number;
  keepaliveSec: number;
}

/** The largest hold time: the OPEN field is 16 bits. */
export const MAX_HOLD_TIME_SEC = 65535;

/** A problem with a hold time on its own (RFC 4271 §4.2: 0, or at least 3), or undefined. */
export function holdTimeProblem(holdTimeSec: number): string | undefined {
  if (holdTimeSec === 1 || holdTimeSec === 2) {
    return `hold time ${holdTimeSec} is not allowed: it must be 0 (no keepalives) or 3..${MAX_HOLD_TIME_SEC} (RFC 4271 §4.2)`;
  }
  return undefined;
}

/** A problem with a keepalive against its hold time, or undefined. */
export function keepaliveProblem(t: Timers): string | undefined {
  const { holdTimeSec: h, keepaliveSec: k } = t;
  if (h === 0) return k === 0 ? undefined : `keepaliveSec ${k} must be 0 when the hold time is 0 (no keepalives)`;
  if (k * 3 > h) return `keepaliveSec ${k} is more than a third of the hold time ${h} (at most ${Math.floor(h / 3)})`;
  return undefined;
}

/** The default keepalive for a hold time: a third of it, rounded down. */
export function defaultKeepalive(holdTimeSec: number): number {
  return Math.floor(holdTimeSec / 3);
}

/**
 * The timers a peer runs with. `levels` go from the most specific (the peer)
 * outward (the mesh); `base` is the bgp section's resolved pair. The hold
 * time comes from the most specific level that sets it. The keepalive comes
 * from a level at least as specific as that, else it is a third of the hold
 * time; so a peer that shortens only its hold time gets a matching
 * keepalive rather than the global one.
 */
export function resolveTimers(levels: readonly TimerLevel[], base: Timers): Timers {
  let holdAt = levels.findIndex((l) => l.holdTimeSec !== undefined);
  if (holdAt < 0) holdAt = levels.length;
  const holdTimeSec = holdAt < levels.length ? (levels[holdAt].holdTimeSec ?? base.holdTimeSec) : base.holdTimeSec;
  for (let i = 0; i < Math.min(holdAt + 1, levels.length); i++) {
    const k = levels[i].keepaliveSec;
    if (k !== undefined) return { holdTimeSec, keepaliveSec: k };
  }
  return { holdTimeSec, keepaliveSec: holdAt < levels.length ? defaultKeepalive(holdTimeSec) : base.keepaliveSec };
}
