/**
 * The `policy` section (NetworkPolicy enforcement, policy/README.md), read
 * with a position for every problem. The option rules (prefix syntax, mark
 * bit) are the enforcer's own, so what loads here the enforcer accepts.
 */
import { DEFAULT_MARK_BIT, validateOptions } from '../../policy/compile/compile.js';
import { readAddressNode, Seen } from './common.js';
import { DEFAULTS, FAMILY_NAMES, POLICY_BACKENDS, type FamilyName, type PolicyConfig } from './schema.js';
import type { Fields } from './yaml-reader.js';

export const POLICY_FIELDS = [
  'enabled', 'manifestDir', 'ifacePrefix', 'backend', 'families', 'markBit', 'nodeAddresses', 'cniWaitMs', 'resyncIntervalSec',
] as const;
/** kube-proxy's masquerade and drop marks: a policy mark must not share them. */
const KUBE_PROXY_MARKS: ReadonlyMap<number, string> = new Map([[0x4000, 'kube-proxy\'s masquerade mark'], [0x8000, 'kube-proxy\'s drop mark']]);
const MAX_WAIT_MS = 60_000;
const MAX_RESYNC_SEC = 86_400;

/** The policy section; `ownAddresses` (node.sourceAddress/V6) are the default node addresses. */
export function readPolicy(f: Fields | undefined, ownAddresses: readonly string[], kubernetesEnabled = false): PolicyConfig {
  const enabled = f?.bool('enabled') ?? false;
  let manifestDir = f?.str('manifestDir', 'a directory path');
  if (manifestDir !== undefined && !manifestDir.startsWith('/')) {
    f?.report('manifestDir', `${JSON.stringify(manifestDir)} is not an absolute path`);
    manifestDir = undefined;
  } else if (f !== undefined && enabled && !f.has('manifestDir') && !kubernetesEnabled) {
    // Without a source the enforcer would enforce nothing but fail-closed drops.
    f.report('enabled', 'policy needs a source: policy.manifestDir (a directory of Namespaces, Pods and NetworkPolicies) or kubernetes.enabled');
  }
  let ifacePrefix = f?.str('ifacePrefix', 'an interface name prefix');
  if (ifacePrefix !== undefined && validateOptions({ ifacePrefix }).length > 0) {
    f?.report('ifacePrefix', `${JSON.stringify(ifacePrefix)} is not a valid prefix (1 to 12 of letters, digits, "_", "." and "-"; it must equal the CNI plugin's vethPrefix)`);
    ifacePrefix = undefined;
  }
  const backend = f?.oneOf('backend', POLICY_BACKENDS) ?? 'auto';
  const families: FamilyName[] = [];
  const famList = f?.list('families');
  if (f !== undefined && famList !== undefined) {
    const seen = new Seen(f.reader);
    for (const item of famList) {
      const v = f.reader.oneOf(item.node, item.path, FAMILY_NAMES);
      if (v !== undefined && seen.add(v, item.node ?? item.at, item.path, (first) => `${v} is listed twice (also ${first})`)) families.push(v);
    }
    if (famList.length === 0) f.report('families', 'is empty; list ipv4, ipv6 or both');
  }
  let markBit = f?.int('markBit', 1, 0x40000000, (v) => `${v} is out of range (a single bit from 0x1 to 0x40000000)`);
  if (markBit !== undefined) {
    const hex = `0x${markBit.toString(16)}`;
    if ((markBit & (markBit - 1)) !== 0) {
      f?.report('markBit', `${hex} is not a single bit`);
      markBit = undefined;
    } else if (KUBE_PROXY_MARKS.has(markBit)) {
      f?.report('markBit', `${hex} is ${KUBE_PROXY_MARKS.get(markBit)}; choose another bit (the default is 0x${DEFAULT_MARK_BIT.toString(16)})`);
      markBit = undefined;
    }
  }
  const nodeAddresses: string[] = [];
  const addrList = f?.list('nodeAddresses');
  if (f !== undefined && addrList !== undefined) {
    const seen = new Seen(f.reader);
    for (const item of addrList) {
      const a = readAddressNode(f.reader, item.node, item.path, { unicast: true });
      if (a !== undefined && seen.add(a.text, item.node ?? item.at, item.path, (first) => `${a.text} is listed twice (also ${first})`)) nodeAddresses.push(a.text);
    }
  }
  const cniWaitMs = f?.int('cniWaitMs', 0, MAX_WAIT_MS, (v) => `${v} is out of range (0..${MAX_WAIT_MS} ms)`) ?? DEFAULTS.policyCniWaitMs;
  const resyncIntervalSec = f?.int('resyncIntervalSec', 0, MAX_RESYNC_SEC, (v) => `${v} is out of range (0..${MAX_RESYNC_SEC} seconds; 0 turns resync off)`) ??
    DEFAULTS.policyResyncIntervalSec;
  return {
    enabled,
    ...(manifestDir !== undefined ? { manifestDir } : {}),
    ifacePrefix: ifacePrefix ?? DEFAULTS.policyIfacePrefix,
    backend,
    families: families.length > 0 ? families : [...FAMILY_NAMES],
    markBit: markBit ?? DEFAULTS.policyMarkBit,
    nodeAddresses: addrList !== undefined ? nodeAddresses : [...ownAddresses],
    cniWaitMs,
    resyncIntervalSec,
  };
}
