/**
 * The conformance cases. Each names the upstream test it mirrors:
 *
 *  - `e2e: …` is a test of kubernetes/test/e2e/network/netpol/network_policy.go
 *    ("Netpol NetworkPolicy between server and client [using UDP|SCTP]"),
 *    with the same policies and the same Reachability expectations, written
 *    the same way (start from "all connect", knock out peers). Upstream now
 *    creates only the pods each test needs; we always run the full 9-pod
 *    model, so where upstream's subset left a pod out, its row or column is
 *    filled in by the same rule (noted on the case).
 *  - `cyclonus: …` is a case of mattfenwick/cyclonus's generator (conflict
 *    and port/protocol cases, on its base policy and targets). As cyclonus
 *    does, the expected table comes from a model (oracle.ts), not by hand.
 *
 * Every step lists the policies present at that point, optional label
 * changes, and the probes with their expected tables.
 */
import type { LabelSelector, NetworkPolicyInfo, NetworkPolicyPeer, NetworkPolicyPort, Protocol } from '../../policy/compile/model.js';
import { podAddresses, type ModelState } from './model.js';
import { Reachability } from './reachability.js';

export interface Probe {
  readonly proto: Protocol;
  readonly port: number;
}

export interface Expectation {
  readonly probe: Probe;
  /** A hand-written table, or 'oracle' for the model's. */
  readonly reach: Reachability | 'oracle';
}

export interface Step {
  readonly label: string;
  readonly policies: readonly NetworkPolicyInfo[];
  readonly state?: ModelState;
  readonly expect: readonly Expectation[];
}

export interface NetpolCase {
  readonly name: string;
  readonly steps: readonly Step[];
}

const TCP80: Probe = { proto: 'TCP', port: 80 };
const TCP81: Probe = { proto: 'TCP', port: 81 };
const UDP80: Probe = { proto: 'UDP', port: 80 };
const UDP81: Probe = { proto: 'UDP', port: 81 };
const SCTP80: Probe = { proto: 'SCTP', port: 80 };
const SCTP81: Probe = { proto: 'SCTP', port: 81 };
const ALL_PROBES: readonly Probe[] = [TCP80, TCP81, UDP80, UDP81, SCTP80, SCTP81];

const NAME_LABEL = 'kubernetes.io/metadata.name';
const pol = (ns: string, name: string, spec: Omit<NetworkPolicyInfo, 'namespace' | 'name'>): NetworkPolicyInfo => ({ namespace: ns, name, ...spec });
const ml = (labels: Record<string, string>): LabelSelector => ({ matchLabels: labels });
const r = (): Reachability => new Reachability(true);
const one = (label: string, policies: NetworkPolicyInfo[], expect: Expectation[], state?: ModelState): Step => ({ label, policies, expect, ...(state ? { state } : {}) });
const e2e = (name: string, steps: Step[]): NetpolCase => ({ name: `e2e: ${name}`, steps });

/** GenNetworkPolicyWithNameAndPodSelector(name, sel, SetSpecIngressRules(rules…)) and friends. */
const ingressPolicy = (ns: string, name: string, podSelector: LabelSelector, rules: { from?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[]): NetworkPolicyInfo =>
  pol(ns, name, { podSelector, policyTypes: ['Ingress'], ingress: rules });
const egressPolicy = (ns: string, name: string, podSelector: LabelSelector, rules: { to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[]): NetworkPolicyInfo =>
  pol(ns, name, { podSelector, policyTypes: ['Egress'], egress: rules });

const xbIp = podAddresses('x/b').ip4;
const ybIp = podAddresses('y/b').ip4;

export const E2E_CASES: readonly NetpolCase[] = [
  e2e("should support a 'default-deny-ingress' policy", [one('deny-ingress in x', [ingressPolicy('x', 'deny-ingress', {}, [])], [{ probe: TCP80, reach: r().expectPeer({}, { ns: 'x' }, false) }])]),
  e2e("should support a 'default-deny-all' policy", [
    one('deny-all in x', [pol('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] })], [{ probe: TCP80, reach: r().expectPeer({}, { ns: 'x' }, false).expectPeer({ ns: 'x' }, {}, false) }]),
  ]),
  e2e('should enforce policy to allow traffic from pods within server namespace based on PodSelector', [
    one('x/a allows x/b', [ingressPolicy('x', 'x-a-allows-x-b', ml({ pod: 'a' }), [{ from: [{ podSelector: ml({ pod: 'b' }) }] }])], [{ probe: TCP80, reach: r().expectAllIngress('x/a', false).expect('x/b', 'x/a', true) }]),
  ]),
  e2e('should enforce policy to allow ingress traffic for a target (x/c, not in upstream’s subset, stays denied like x/b)', [
    one(
      'deny-all in x, allow-all-to-a',
      [ingressPolicy('x', 'deny-all', {}, []), ingressPolicy('x', 'allow-all-to-a', ml({ pod: 'a' }), [{ from: [{ podSelector: {}, namespaceSelector: {} }] }])],
      [{ probe: TCP80, reach: r().expectAllIngress('x/a', true).expectAllIngress('x/b', false).expectAllIngress('x/c', false) }],
    ),
  ]),
  e2e('should enforce policy to allow ingress traffic from pods in all namespaces', [
    one('x/a from every namespace', [ingressPolicy('x', 'allow-from-another-ns', ml({ pod: 'a' }), [{ from: [{ namespaceSelector: ml({}) }] }])], [{ probe: TCP80, reach: r() }]),
  ]),
  e2e('should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector', [
    one('x/a from namespace y', [ingressPolicy('x', 'allow-client-a-via-ns-selector', ml({ pod: 'a' }), [{ from: [{ namespaceSelector: ml({ [NAME_LABEL]: 'y' }) }] }])], [
      { probe: TCP80, reach: r().expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false) },
    ]),
  ]),
  e2e('should enforce policy based on PodSelector with MatchExpressions', [
    one('x/a from pod In [b]', [ingressPolicy('x', 'x-a-allows-x-b', ml({ pod: 'a' }), [{ from: [{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b'] }] } }] }])], [
      { probe: TCP80, reach: r().expectAllIngress('x/a', false).expect('x/b', 'x/a', true) },
    ]),
  ]),
  e2e('should enforce policy based on NamespaceSelector with MatchExpressions', [
    one('x/a from namespace In [y]', [ingressPolicy('x', 'allow-ns-y-match-selector', ml({ pod: 'a' }), [{ from: [{ namespaceSelector: { matchExpressions: [{ key: NAME_LABEL, operator: 'In', values: ['y'] }] } }] }])], [
      { probe: TCP80, reach: r().expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false) },
    ]),
  ]),
  e2e('should enforce policy based on PodSelector or NamespaceSelector', [
    one(
      'x/a from namespace NotIn [x] or pod=b',
      [ingressPolicy('x', 'allow-ns-y-match-selector', ml({ pod: 'a' }), [{ from: [{ namespaceSelector: { matchExpressions: [{ key: NAME_LABEL, operator: 'NotIn', values: ['x'] }] } }, { podSelector: ml({ pod: 'b' }) }] }])],
      [{ probe: TCP80, reach: r().expect('x/a', 'x/a', false).expect('x/c', 'x/a', false) }],
    ),
  ]),
  e2e('should enforce policy based on PodSelector and NamespaceSelector', [
    one(
      'x/a from pod=b in namespace NotIn [x]',
      [ingressPolicy('x', 'allow-ns-y-podselector-and-nsselector', ml({ pod: 'a' }), [{ from: [{ namespaceSelector: { matchExpressions: [{ key: NAME_LABEL, operator: 'NotIn', values: ['x'] }] }, podSelector: ml({ pod: 'b' }) }] }])],
      [{ probe: TCP80, reach: r().expectAllIngress('x/a', false).expect('y/b', 'x/a', true).expect('z/b', 'x/a', true) }],
    ),
  ]),
  e2e('should enforce policy based on Multiple PodSelectors and NamespaceSelectors (z/a, not in upstream’s subset, is denied like y/a)', [
    one(
      'x/a from pods In [b,c] in namespaces NotIn [x]',
      [
        ingressPolicy('x', 'allow-ns-y-z-pod-b-c', ml({ pod: 'a' }), [
          { from: [{ namespaceSelector: { matchExpressions: [{ key: NAME_LABEL, operator: 'NotIn', values: ['x'] }] }, podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] } }] },
        ]),
      ],
      [{ probe: TCP80, reach: r().expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expect('y/a', 'x/a', false).expect('z/a', 'x/a', false) }],
    ),
  ]),
  e2e('should enforce policy based on any PodSelectors', [
    one('x/a from pod=b or pod=c', [ingressPolicy('x', 'allow-ns-x-pod-b-c', ml({ pod: 'a' }), [{ from: [{ podSelector: ml({ pod: 'b' }) }, { podSelector: ml({ pod: 'c' }) }] }])], [
      { probe: TCP80, reach: r().expectAllIngress('x/a', false).expect('x/b', 'x/a', true).expect('x/c', 'x/a', true) },
    ]),
  ]),
  e2e('should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector', [
    one('x/a from y/a', [ingressPolicy('x', 'allow-ns-y-pod-a-via-namespace-pod-selector', ml({ pod: 'a' }), [{ from: [{ namespaceSelector: ml({ [NAME_LABEL]: 'y' }), podSelector: ml({ pod: 'a' }) }] }])], [
      { probe: TCP80, reach: r().expectAllIngress('x/a', false).expect('y/a', 'x/a', true) },
    ]),
  ]),
  e2e('should enforce policy based on Ports', [
    one('x/a from namespace y on TCP 81', [ingressPolicy('x', 'allow-client-a-via-ns-selector', ml({ pod: 'a' }), [{ from: [{ namespaceSelector: ml({ [NAME_LABEL]: 'y' }) }], ports: [{ port: 81, protocol: 'TCP' }] }])], [
      { probe: TCP81, reach: r().expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'y' }, { ns: 'x', pod: 'a' }, true).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false) },
    ]),
  ]),
  (() => {
    const allow81 = ingressPolicy('x', 'allow-client-a-via-ns-selector', ml({ pod: 'a' }), [{ from: [{ namespaceSelector: ml({ [NAME_LABEL]: 'y' }) }], ports: [{ port: 81, protocol: 'TCP' }] }]);
    const allow80 = ingressPolicy('x', 'allow-client-a-via-ns-selector-80', ml({ pod: 'a' }), [{ from: [{ namespaceSelector: ml({ [NAME_LABEL]: 'y' }) }], ports: [{ port: 80, protocol: 'TCP' }] }]);
    const allow = (): Reachability => r().expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'y' }, { ns: 'x', pod: 'a' }, true).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false);
    return e2e('should enforce multiple, stacked policies with overlapping podSelectors', [
      one('port 81 policy only', [allow81], [
        { probe: TCP81, reach: allow() },
        { probe: TCP80, reach: r().expectAllIngress('x/a', false) },
      ]),
      one('plus a port 80 policy', [allow81, allow80], [{ probe: TCP80, reach: allow() }]),
    ]);
  })(),
  e2e('should support allow-all policy', [
    one('allow-all in x', [ingressPolicy('x', 'allow-all', ml({}), [{}])], [
      { probe: TCP80, reach: r() },
      { probe: TCP81, reach: r() },
    ]),
  ]),
  e2e('should allow ingress access on one named port', [
    one('x allows serve-81-tcp', [ingressPolicy('x', 'allow-all', ml({}), [{ ports: [{ port: 'serve-81-tcp' }] }])], [
      { probe: TCP81, reach: r() },
      { probe: TCP80, reach: r().expectPeer({}, { ns: 'x' }, false) },
    ]),
  ]),
  e2e('should allow ingress access from namespace on one named port', [
    one('x/a from namespace y on serve-80-tcp', [ingressPolicy('x', 'allow-client-a-via-ns-selector-80', ml({ pod: 'a' }), [{ from: [{ namespaceSelector: ml({ [NAME_LABEL]: 'y' }) }], ports: [{ port: 'serve-80-tcp', protocol: 'TCP' }] }])], [
      { probe: TCP80, reach: r().expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false) },
      { probe: TCP81, reach: r().expectAllIngress('x/a', false) },
    ]),
  ]),
  e2e('should allow egress access on one named port', [
    one('x egress serve-80-tcp', [egressPolicy('x', 'allow-egress', ml({}), [{ ports: [{ port: 'serve-80-tcp' }] }])], [
      { probe: TCP80, reach: r() },
      { probe: TCP81, reach: r().expectPeer({ ns: 'x' }, {}, false) },
    ]),
  ]),
  e2e('should enforce updated policy', [
    one('allow all', [ingressPolicy('x', 'allow-all-mutate-to-deny-all', ml({}), [{}])], [{ probe: TCP81, reach: r() }]),
    one('updated to deny all', [ingressPolicy('x', 'allow-all-mutate-to-deny-all', ml({}), [])], [{ probe: TCP81, reach: r().expectPeer({}, { ns: 'x' }, false) }]),
  ]),
  (() => {
    const p = ingressPolicy('x', 'allow-client-a-via-ns-selector', ml({ pod: 'a' }), [{ from: [{ namespaceSelector: ml({ ns2: 'updated' }) }] }]);
    return e2e('should allow ingress access from updated namespace', [
      one('no namespace has ns2=updated', [p], [{ probe: TCP80, reach: r().expectAllIngress('x/a', false) }]),
      one('y gets ns2=updated', [p], [{ probe: TCP80, reach: r().expectAllIngress('x/a', false).expectPeer({ ns: 'y' }, {}, true) }], { nsLabels: { y: { ns2: 'updated' } } }),
    ]);
  })(),
  (() => {
    const p = ingressPolicy('x', 'allow-client-a-via-pod-selector', ml({ pod: 'a' }), [{ from: [{ podSelector: ml({ pod: 'b', pod2: 'updated' }) }] }]);
    return e2e('should allow ingress access from updated pod', [
      one('x/b not yet labelled', [p], [{ probe: TCP80, reach: r().expectAllIngress('x/a', false) }]),
      one('x/b gets pod2=updated', [p], [{ probe: TCP80, reach: r().expectAllIngress('x/a', false).expect('x/b', 'x/a', true) }], { podLabels: { 'x/b': { pod2: 'updated' } } }),
    ]);
  })(),
  e2e('should deny ingress from pods on other namespaces', [
    one('x from x only', [ingressPolicy('x', 'deny-empty-policy', {}, [{ from: [{ podSelector: ml({}) }] }])], [{ probe: TCP80, reach: r().expectPeer({ ns: 'y' }, { ns: 'x' }, false).expectPeer({ ns: 'z' }, { ns: 'x' }, false) }]),
  ]),
  (() => {
    const p = ingressPolicy('x', 'deny-ingress-via-label-selector', ml({ target: 'isolated' }), []);
    return e2e('should deny ingress access to updated pod', [
      one('nobody is labelled', [p], [{ probe: TCP80, reach: r() }]),
      one('x/a gets target=isolated', [p], [{ probe: TCP80, reach: r().expectAllIngress('x/a', false) }], { podLabels: { 'x/a': { target: 'isolated' } } }),
    ]);
  })(),
  e2e('should deny egress from pods based on PodSelector', [one('deny egress of x/a', [egressPolicy('x', 'deny-egress-pod-a', ml({ pod: 'a' }), [])], [{ probe: TCP80, reach: r().expectAllEgress('x/a', false) }])]),
  e2e('should deny egress from all pods in a namespace', [one('deny egress of x', [egressPolicy('x', 'deny-egress-ns-x', {}, [])], [{ probe: TCP80, reach: r().expectPeer({ ns: 'x' }, {}, false) }])]),
  e2e('should work with Ingress, Egress specified together', [
    one(
      'x/a: ingress from pod=b, egress to port 80',
      [pol('x', 'allow-client-a-via-pod-selector', { podSelector: ml({ pod: 'a' }), policyTypes: ['Egress', 'Ingress'], ingress: [{ from: [{ podSelector: ml({ pod: 'b' }) }] }], egress: [{ ports: [{ port: 80 }] }] })],
      [
        { probe: TCP80, reach: r().expectAllIngress('x/a', false).expect('x/b', 'x/a', true) },
        { probe: TCP81, reach: r().expectAllIngress('x/a', false).expectAllEgress('x/a', false).expect('x/b', 'x/a', true) },
      ],
    ),
  ]),
  (() => {
    const fromXa: NetworkPolicyPeer = { namespaceSelector: ml({ [NAME_LABEL]: 'x' }), podSelector: ml({ pod: 'a' }) };
    return e2e('should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)', [
      one(
        'x/a egress to y/a only; y/a and y/b allow x/a',
        [
          egressPolicy('x', 'allow-to-ns-y-pod-a', ml({ pod: 'a' }), [{ to: [{ namespaceSelector: ml({ [NAME_LABEL]: 'y' }), podSelector: ml({ pod: 'a' }) }] }]),
          ingressPolicy('y', 'allow-from-xa-on-ya-match-selector', ml({ pod: 'a' }), [{ from: [fromXa] }]),
          ingressPolicy('y', 'allow-from-xa-on-yb-match-selector', ml({ pod: 'b' }), [{ from: [fromXa] }]),
        ],
        [
          {
            probe: TCP80,
            reach: r().expectPeer({ ns: 'x', pod: 'a' }, {}, false).expectPeer({}, { ns: 'y', pod: 'a' }, false).expectPeer({ ns: 'x', pod: 'a' }, { ns: 'y', pod: 'a' }, true).expectPeer({}, { ns: 'y', pod: 'b' }, false),
          },
        ],
      ),
    ]);
  })(),
  e2e('should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector', [
    one('x/a egress to y/a', [egressPolicy('x', 'allow-to-ns-y-pod-a', ml({ pod: 'a' }), [{ to: [{ namespaceSelector: ml({ [NAME_LABEL]: 'y' }), podSelector: ml({ pod: 'a' }) }] }])], [
      { probe: TCP80, reach: r().expectAllEgress('x/a', false).expect('x/a', 'y/a', true) },
    ]),
  ]),
  e2e('should enforce ingress policy allowing any port traffic to a server on a specific protocol', [
    one('x/a: TCP only', [ingressPolicy('x', 'allow-ingress-by-proto', ml({ pod: 'a' }), [{ ports: [{ protocol: 'TCP' }] }])], [
      { probe: TCP80, reach: r() },
      { probe: UDP80, reach: r().expectPeer({}, { ns: 'x', pod: 'a' }, false) },
    ]),
  ]),
  (() => {
    const only80 = ingressPolicy('x', 'allow-ingress-port-80', ml({}), [{ ports: [{ port: 80 }] }]);
    return e2e('should enforce multiple ingress policies with ingress allow-all policy taking precedence', [
      one('port 80 only', [only80], [{ probe: TCP81, reach: r().expectPeer({}, { ns: 'x' }, false) }]),
      one('plus allow-all', [only80, ingressPolicy('x', 'allow-ingress', ml({}), [{}])], [{ probe: TCP81, reach: r() }]),
    ]);
  })(),
  (() => {
    const only80 = egressPolicy('x', 'allow-egress-port-80', ml({}), [{ ports: [{ port: 80 }] }]);
    return e2e('should enforce multiple egress policies with egress allow-all policy taking precedence', [
      one('port 80 only', [only80], [{ probe: TCP81, reach: r().expectPeer({ ns: 'x' }, {}, false) }]),
      one('plus allow-all', [only80, egressPolicy('x', 'allow-egress', ml({}), [{}])], [{ probe: TCP81, reach: r() }]),
    ]);
  })(),
  e2e('should stop enforcing policies after they are deleted', [
    one('deny-all in x', [pol('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] })], [{ probe: TCP80, reach: r().expectPeer({ ns: 'x' }, {}, false).expectPeer({}, { ns: 'x' }, false) }]),
    one('deleted', [], [{ probe: TCP80, reach: r() }]),
  ]),
  e2e('should allow egress access to server in CIDR block', [
    one('x/a egress to y/b/32', [egressPolicy('x', 'allow-client-a-via-cidr-egress-rule', ml({ pod: 'a' }), [{ to: [{ ipBlock: { cidr: `${ybIp}/32` } }] }])], [
      { probe: TCP80, reach: r().expectAllEgress('x/a', false).expect('x/a', 'y/b', true) },
    ]),
  ]),
  e2e('should enforce except clause while egress access to server in CIDR block', [
    one('x/a egress to 192.0.0.0/4 except x/b/32', [egressPolicy('x', 'allow-client-a-via-cidr-egress-rule', ml({ pod: 'a' }), [{ to: [{ ipBlock: { cidr: '192.0.0.0/4', except: [`${xbIp}/32`] } }] }])], [
      { probe: TCP80, reach: r().expect('x/a', 'x/b', false) },
    ]),
  ]),
  e2e('should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed', [
    one('except x/b', [egressPolicy('x', 'allow-client-a-via-cidr-egress-rule', ml({ pod: 'a' }), [{ to: [{ ipBlock: { cidr: '192.0.0.0/4', except: [`${xbIp}/32`] } }] }])], [{ probe: TCP80, reach: r().expect('x/a', 'x/b', false) }]),
    one('updated to x/b/32 only', [egressPolicy('x', 'allow-client-a-via-cidr-egress-rule', ml({ pod: 'a' }), [{ to: [{ ipBlock: { cidr: `${xbIp}/32` } }] }])], [
      { probe: TCP80, reach: r().expectAllEgress('x/a', false).expect('x/a', 'x/b', true) },
    ]),
  ]),
  (() => {
    const egressAll = egressPolicy('x', 'allow-egress-for-target', ml({ pod: 'a' }), [{}]);
    return e2e('should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector', [
      one('x/a egress allow-all', [egressAll], [{ probe: TCP80, reach: r() }]),
      one('plus deny ingress to x/a', [egressAll, ingressPolicy('x', 'deny-ingress-via-label-selector', ml({ pod: 'a' }), [])], [{ probe: TCP80, reach: r().expectAllIngress('x/a', false) }]),
    ]);
  })(),
  e2e("should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP", [
    one('deny-ingress in x, x/a allows SCTP 81', [ingressPolicy('x', 'deny-ingress', {}, []), ingressPolicy('x', 'allow-only-sctp-ingress-on-port-81', ml({ pod: 'a' }), [{ ports: [{ port: 81, protocol: 'SCTP' }] }])], [
      { probe: TCP81, reach: r().expectPeer({}, { ns: 'x' }, false) },
      { probe: SCTP81, reach: r().expectPeer({}, { ns: 'x' }, false).expectAllIngress('x/a', true) },
    ]),
  ]),
  e2e("should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP", [
    one('x/a allows SCTP 80 only', [ingressPolicy('x', 'allow-only-sctp-ingress-on-port-80', ml({ pod: 'a' }), [{ ports: [{ port: 80, protocol: 'SCTP' }] }])], [{ probe: TCP81, reach: r().expectAllIngress('x/a', false) }]),
  ]),
  e2e('should not allow access by TCP when a policy specifies only UDP', [
    one('x/a allows UDP 81 only', [ingressPolicy('x', 'allow-only-udp-ingress-on-port-81', ml({ pod: 'a' }), [{ ports: [{ port: 81, protocol: 'UDP' }] }])], [
      { probe: TCP81, reach: r().expectAllIngress('x/a', false) },
      { probe: UDP81, reach: r() },
    ]),
  ]),
  e2e('should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label', [
    one('x/a from namespace y by name label', [ingressPolicy('x', 'allow-client-a-via-ns-selector-for-immutable-ns-label', ml({ pod: 'a' }), [{ from: [{ namespaceSelector: ml({ [NAME_LABEL]: 'y' }) }] }])], [
      { probe: TCP80, reach: r().expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false) },
    ]),
  ]),
  e2e('should enforce policy based on NamespaceSelector with MatchExpressions using default ns label', [
    one('x/a egress to namespaces NotIn [y]', [egressPolicy('x', 'allow-ns-y-match-selector-for-immutable-ns-label', ml({ pod: 'a' }), [{ to: [{ namespaceSelector: { matchExpressions: [{ key: NAME_LABEL, operator: 'NotIn', values: ['y'] }] } }] }])], [
      { probe: TCP80, reach: r().expectPeer({ ns: 'x', pod: 'a' }, { ns: 'y' }, false) },
    ]),
  ]),
  // "NetworkPolicy between server and client using UDP"
  e2e("using UDP: should support a 'default-deny-ingress' policy", [one('deny-all ingress in x', [ingressPolicy('x', 'deny-all', {}, [])], [{ probe: UDP80, reach: r().expectPeer({}, { ns: 'x' }, false) }])]),
  e2e('using UDP: should enforce policy based on Ports', [
    one('x/a from namespace y on UDP 81', [ingressPolicy('x', 'allow-ingress-on-port-81-ns-x', ml({ pod: 'a' }), [{ from: [{ namespaceSelector: ml({ [NAME_LABEL]: 'y' }) }], ports: [{ port: 81, protocol: 'UDP' }] }])], [
      { probe: UDP81, reach: r().expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false) },
    ]),
  ]),
  e2e('using UDP: should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector', [
    one('x/a from y/a', [ingressPolicy('x', 'allow-ns-y-pod-a-via-namespace-pod-selector', ml({ pod: 'a' }), [{ from: [{ namespaceSelector: ml({ [NAME_LABEL]: 'y' }), podSelector: ml({ pod: 'a' }) }] }])], [
      { probe: UDP80, reach: r().expectAllIngress('x/a', false).expect('y/a', 'x/a', true) },
    ]),
  ]),
  // "NetworkPolicy between server and client using SCTP": probed, reported as skipped (no SCTP sockets here).
  e2e("using SCTP: should support a 'default-deny-ingress' policy", [one('deny-all ingress in x', [ingressPolicy('x', 'deny-all', {}, [])], [{ probe: SCTP80, reach: r().expectPeer({}, { ns: 'x' }, false) }])]),
  e2e('using SCTP: should enforce policy based on Ports', [
    one('x/a from namespace y on SCTP 81', [ingressPolicy('x', 'allow-ingress-on-port-81-ns-x', ml({ pod: 'a' }), [{ from: [{ namespaceSelector: ml({ [NAME_LABEL]: 'y' }) }], ports: [{ port: 81, protocol: 'SCTP' }] }])], [
      { probe: SCTP81, reach: r().expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false) },
    ]),
  ]),
  e2e('using SCTP: should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector', [
    one('x/a from y/a', [ingressPolicy('x', 'allow-ns-y-pod-a-via-namespace-pod-selector', ml({ pod: 'a' }), [{ from: [{ namespaceSelector: ml({ [NAME_LABEL]: 'y' }), podSelector: ml({ pod: 'a' }) }] }])], [
      { probe: SCTP80, reach: r().expectAllIngress('x/a', false).expect('y/a', 'x/a', true) },
    ]),
  ]),
];

// ---------------------------------------------------------------- cyclonus

/** cyclonus's conflict-case target and peer: source x/pod=b, destination y/pod=c. */
const SRC = { ns: 'x', sel: ml({ pod: 'b' }) };
const DST = { ns: 'y', sel: ml({ pod: 'c' }) };
const allowAllRule = [{}];
const allowAllByPod = [{ to: [{ namespaceSelector: {} }] }];
const allowAllByIp = [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }];
const denyAllByIp = [{ to: [{ ipBlock: { cidr: '0.0.0.0/31' } }] }];
const denyAllByPod = [{ to: [{ namespaceSelector: ml({ 'this-will-never-happen': 'qrs123' }) }] }];
const inRules = (rules: { to?: NetworkPolicyPeer[] }[]): { from?: NetworkPolicyPeer[] }[] => rules.map((x) => (x.to ? { from: x.to } : {}));
const egr = (t: typeof SRC, name: string, rules: { to?: NetworkPolicyPeer[] }[]): NetworkPolicyInfo => egressPolicy(t.ns, name, t.sel, rules);
const ingr = (t: typeof SRC, name: string, rules: { to?: NetworkPolicyPeer[] }[]): NetworkPolicyInfo => ingressPolicy(t.ns, name, t.sel, inRules(rules));

const CONFLICTS: readonly NetworkPolicyInfo[][] = [
  [egr(SRC, 'deny-all-egress', []), ingr(DST, 'allow-all-ingress', allowAllRule)],
  [egr(SRC, 'allow-all-egress', allowAllRule), ingr(DST, 'deny-all-ingress', [])],
  [egr(SRC, 'deny-all-egress', []), egr(SRC, 'allow-all-egress', allowAllRule)],
  [ingr(DST, 'deny-all-ingress', []), ingr(DST, 'allow-all-ingress', allowAllRule)],
  [egr(SRC, 'deny-all-egress', []), egr(SRC, 'allow-all-egress-by-pod', allowAllByPod)],
  [egr(SRC, 'deny-all-egress', []), egr(SRC, 'allow-all-egress-by-ip', allowAllByIp)],
  [egr(SRC, 'deny-all-egress-by-ip', denyAllByIp), egr(SRC, 'allow-all-egress-by-pod', allowAllByPod)],
  [egr(SRC, 'deny-all-egress-by-pod', denyAllByPod), egr(SRC, 'allow-all-egress-by-ip', allowAllByIp)],
  [ingr(SRC, 'deny-all-ingress', []), ingr(SRC, 'allow-all-ingress-by-pod', allowAllByPod)],
  [ingr(SRC, 'deny-all-ingress', []), ingr(SRC, 'allow-all-ingress-by-ip', allowAllByIp)],
  [ingr(SRC, 'deny-all-ingress-by-ip', denyAllByIp), ingr(SRC, 'allow-all-ingress-by-pod', allowAllByPod)],
  [ingr(SRC, 'deny-all-ingress-by-pod', denyAllByPod), ingr(SRC, 'allow-all-ingress-by-ip', allowAllByIp)],
  [egr(SRC, 'deny-all-egress-by-ip', denyAllByIp)],
  [egr(SRC, 'deny-all-egress-by-pod', denyAllByPod)],
  [ingr(SRC, 'deny-all-ingress-by-ip', denyAllByIp)],
  [ingr(SRC, 'deny-all-ingress-by-pod', denyAllByPod)],
];

/** cyclonus's base policy: x/pod=a; ingress TCP 80 from pods b,c of namespaces x,y; egress TCP 80 to pods a,b of y,z, plus DNS. */
function cyclonusBase(ingressPorts?: NetworkPolicyPort[], egressPorts?: NetworkPolicyPort[]): NetworkPolicyInfo {
  const dns: { ports: NetworkPolicyPort[] } = { ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] };
  return pol('x', 'base', {
    podSelector: ml({ pod: 'a' }),
    policyTypes: ['Ingress', 'Egress'],
    ingress: [
      {
        ports: ingressPorts ?? [{ port: 80, protocol: 'TCP' }],
        from: [{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] }, namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'In', values: ['x', 'y'] }] } }],
      },
    ],
    egress: [
      {
        ports: egressPorts ?? [{ port: 80, protocol: 'TCP' }],
        to: [{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['a', 'b'] }] }, namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'In', values: ['y', 'z'] }] } }],
      },
      dns,
    ],
  });
}

const oracleAll = (): Expectation[] => ALL_PROBES.map((probe) => ({ probe, reach: 'oracle' as const }));

export const CYCLONUS_CASES: readonly NetpolCase[] = [
  ...CONFLICTS.map((policies, i) => ({ name: `cyclonus: conflict — allow/deny conflict ${i + 1} (${policies.map((p) => `${p.namespace}/${p.name}`).join(', ')})`, steps: [one('policies', policies, oracleAll())] })),
  { name: 'cyclonus: port-protocol — base policy (ingress TCP 80 from x,y/b,c; egress TCP 80 to y,z/a,b)', steps: [one('base', [cyclonusBase()], oracleAll())] },
  { name: 'cyclonus: port-protocol — ingress, empty port slice', steps: [one('base', [cyclonusBase([])], oracleAll())] },
  { name: 'cyclonus: port-protocol — ingress, named port serve-81-tcp, nil protocol', steps: [one('base', [cyclonusBase([{ port: 'serve-81-tcp' }])], oracleAll())] },
  { name: 'cyclonus: port-protocol — ingress, named port serve-81-tcp with protocol UDP (never matches)', steps: [one('base', [cyclonusBase([{ port: 'serve-81-tcp', protocol: 'UDP' }])], oracleAll())] },
  { name: 'cyclonus: port-protocol — ingress, numbered port 81, UDP', steps: [one('base', [cyclonusBase([{ port: 81, protocol: 'UDP' }])], oracleAll())] },
  { name: 'cyclonus: port-protocol — ingress, nil port, SCTP', steps: [one('base', [cyclonusBase([{ protocol: 'SCTP' }])], oracleAll())] },
  { name: 'cyclonus: port-protocol — egress, named port serve-81-udp and nil port TCP', steps: [one('base', [cyclonusBase(undefined, [{ port: 'serve-81-udp', protocol: 'UDP' }, { protocol: 'TCP' }])], oracleAll())] },
  { name: 'cyclonus: port-protocol — egress, empty port slice', steps: [one('base', [cyclonusBase(undefined, [])], oracleAll())] },
  {
    name: 'tortie: endPort — ingress TCP 80-81 range from namespace y (networking.k8s.io/v1 endPort, GA in 1.25)',
    steps: [one('range', [ingressPolicy('x', 'port-range', ml({ pod: 'a' }), [{ from: [{ namespaceSelector: ml({ ns: 'y' }) }], ports: [{ protocol: 'TCP', port: 80, endPort: 81 }] }])], oracleAll())],
  },
];

export const ALL_CASES: readonly NetpolCase[] = [...E2E_CASES, ...CYCLONUS_CASES];
