/**
 * TEST-ONLY failure injection for ADD. With TORTIE_CNI_FAIL_AT=<point> in
 * the environment, ADD fails at that point with code 105 and must leave
 * nothing behind (the rollback tests in test/integration/cni-rollback.test.ts
 * walk every point). A runtime never sets this variable; an unknown value
 * is rejected (code 4) rather than ignored, so a typo cannot pass a test.
 *
 *   after-ipam    IPAM has allocated; nothing else done
 *   host-batch    the host batch fails on its last line (veth, alias, routes already applied)
 *   after-host    the host batch succeeded
 *   after-sysctl  host sysctls written
 *   pod-batch     the pod batch fails on its last line (addresses, routes already applied)
 *   after-pod     everything done; fails before the result is printed
 */
import { CniError, CniErrorCode, type EnvMap } from './spec/index.js';

export const FAIL_AT_ENV = 'TORTIE_CNI_FAIL_AT';
export const FAIL_POINTS = ['after-ipam', 'host-batch', 'after-host', 'after-sysctl', 'pod-batch', 'after-pod'] as const;
export type FailPoint = (typeof FAIL_POINTS)[number];

/** A batch line that always fails (the device cannot exist: the name is too long). */
export const FAILING_LINE = 'link set dev tortie-injected-failure up';

export function failPointFrom(env: EnvMap): FailPoint | undefined {
  const v = env[FAIL_AT_ENV];
  if (v === undefined || v === '') return undefined;
  if (!(FAIL_POINTS as readonly string[]).includes(v)) {
    throw new CniError(CniErrorCode.InvalidEnvironmentVariables, `${FAIL_AT_ENV} has an unknown value ${JSON.stringify(v)}`, `one of: ${FAIL_POINTS.join(', ')}`);
  }
  return v as FailPoint;
}

export function failIfAt(active: FailPoint | undefined, point: FailPoint): void {
  if (active === point) throw new CniError(CniErrorCode.InjectedFailure, `injected failure at ${point}`, `${FAIL_AT_ENV}=${point} (test only)`);
}
