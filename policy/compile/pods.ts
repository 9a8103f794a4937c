/**
 * Pods as compilation sees them: canonical addresses (attachment first,
 * then status.podIPs), labels, container ports, and the host interface
 * when the pod is wired on this node.
 */
import { canonicalIp, familyOf, type Family } from './cidr.js';
import { podKey, type ContainerPort, type Labels, type PodInfo, type Protocol } from './model.js';
import { protoOf } from './rules.js';
import type { CompileIssue } from './validate.js';

export interface PodIp {
  readonly family: Family;
  readonly text: string;
}

/** The per-object part of a pod (memoised per PodInfo object). */
export interface PodCore {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  readonly ports: readonly ContainerPort[];
  readonly ipValues: readonly PodIp[];
  readonly ips: readonly string[];
  readonly rawIfName: string | undefined;
  readonly issues: readonly CompileIssue[];
}

/** A pod after normalisation; a new object whenever anything about it changed. */
export interface NormPod extends PodCore {
  readonly core: PodCore;
  /** Set when wired on this node with a usable interface name. */
  readonly ifName: string | undefined;
}

export function podCoreOf(p: PodInfo): PodCore {
  const key = podKey(p);
  const ipValues: PodIp[] = [];
  const issues: CompileIssue[] = [];
  const seen = new Set<string>();
  for (const raw of [...(p.attachment?.ips ?? []), ...(p.ips ?? [])]) {
    const text = canonicalIp(raw);
    if (text === undefined) {
      issues.push({ kind: 'Pod', key, path: 'status.podIPs', code: 'ERR_POLICY_POD_BAD_IP', message: `${JSON.stringify(raw)} is not an IP address` });
      continue;
    }
    if (seen.has(text)) continue;
    seen.add(text);
    ipValues.push({ family: familyOf(text), text });
  }
  return {
    key,
    namespace: p.namespace,
    name: p.name,
    labels: p.labels ?? {},
    ports: p.ports ?? [],
    ipValues,
    ips: ipValues.map((x) => x.text),
    rawIfName: p.attachment?.ifName,
    issues,
  };
}

/** The number a named port has on a pod (same name and protocol), or undefined. */
export function resolveNamedPort(ports: readonly ContainerPort[], name: string, protocol: Protocol): number | undefined {
  for (const cp of ports) if (cp.name === name && protoOf(cp) === protocol) return cp.containerPort;
  return undefined;
}
