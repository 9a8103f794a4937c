/**
 * When the agent is ready (GET /readyz, the tortie_ready gauge, `tortiectl
 * status`): its kernel routes are reconciled, NetworkPolicy has programmed
 * what it must, and every configured session is up, has failed with a
 * reason (so waiting would not help), or had `graceSec` since the agent
 * started to come up. Pure: the caller passes the clock.
 */

export interface ReadinessInput {
  readonly kernelReconciled: boolean;
  /** NetworkPolicy's own reasons (empty when it is off or done). */
  readonly policyNotReady: readonly string[];
  readonly sessions: readonly { readonly address: string; readonly state: string; readonly failed: boolean }[];
  readonly sinceStartMs: number;
  /** health.readinessGraceSec; 0 never waits for sessions. */
  readonly graceSec: number;
}

export interface Readiness {
  readonly ready: boolean;
  readonly notReady: string[];
}

export function readiness(i: ReadinessInput): Readiness {
  const notReady: string[] = [];
  if (!i.kernelReconciled) notReady.push('kernel routes not reconciled yet');
  notReady.push(...i.policyNotReady);
  const graceOver = i.sinceStartMs >= i.graceSec * 1000;
  if (!graceOver) {
    const left = Math.ceil((i.graceSec * 1000 - i.sinceStartMs) / 1000);
    for (const s of i.sessions) {
      if (s.state === 'Established' || s.failed) continue;
      notReady.push(`session ${s.address} not established yet (waiting up to ${left} s more: health.readinessGraceSec)`);
    }
  }
  return { ready: notReady.length === 0, notReady };
}
