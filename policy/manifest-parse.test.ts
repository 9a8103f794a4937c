import { expect } from 'chai';
import { parseManifests } from './manifest-parse.js';

describe('manifest parsing', () => {
  it('reads namespaces, pods (ports, podIPs, hostNetwork) and policies, also from a List', () => {
    const text = `
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata: {name: x, labels: {team: red, enabled: true}}
  - apiVersion: v1
    kind: Pod
    metadata: {name: a, namespace: x, labels: {app: web}}
    spec:
      containers:
        - name: c1
          ports: [{name: http, containerPort: 80}]
        - name: c2
          ports: [{name: dns, containerPort: 53, protocol: UDP}]
    status: {podIP: 10.0.0.1, podIPs: [{ip: 10.0.0.1}, {ip: "fd00::1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: h}
spec: {hostNetwork: true}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ignored}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: x}
spec:
  podSelector: {matchExpressions: [{key: app, operator: In, values: [web, 1]}]}
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        - namespaceSelector: {}
          podSelector: {matchLabels: {app: api}}
        - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
      ports: [{port: http}, {protocol: UDP, port: 53, endPort: 60}]
  egress:
    - {}
`;
    const r = parseManifests('m.yaml', text);
    expect(r.issues).to.deep.equal([]);
    expect(r.namespaces).to.deep.equal([{ name: 'x', labels: { team: 'red', enabled: 'true' } }]);
    expect(r.pods).to.deep.equal([
      { namespace: 'x', name: 'a', labels: { app: 'web' }, ports: [{ containerPort: 80, name: 'http' }, { containerPort: 53, name: 'dns', protocol: 'UDP' }], ips: ['10.0.0.1', 'fd00::1'] },
      { namespace: 'default', name: 'h', labels: {}, ports: [], hostNetwork: true },
    ]);
    expect(r.policies).to.deep.equal([
      {
        namespace: 'x',
        name: 'p',
        podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', '1'] }] },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {
            from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'api' } } }, { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }],
            ports: [{ port: 'http' }, { protocol: 'UDP', port: 53, endPort: 60 }],
          },
        ],
        egress: [{}],
      },
    ]);
  });

  it('keeps the difference between an absent and an empty selector', () => {
    const r = parseManifests('m.yaml', 'kind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  podSelector: {}\n  ingress:\n    - from: [{podSelector: {}}]\n');
    expect(r.policies[0].ingress?.[0].from?.[0]).to.deep.equal({ podSelector: {} });
  });

  const bad: [string, string, RegExp, number][] = [
    ['a YAML syntax error', 'kind: Pod\nmetadata: {name: [}\n', /^: YAML/, 2],
    ['a missing name', 'kind: Pod\nmetadata: {}\n', /metadata\.name.*ignored/, 2],
    ['a policy without podSelector', 'kind: NetworkPolicy\nmetadata: {name: p}\nspec: {}\n', /podSelector.*required/, 3],
    ['a container port that is not a number', 'kind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n    - ports:\n        - containerPort: eighty\n', /containerPort: expected an integer/, 6],
  ];
  for (const [name, text, re, line] of bad) {
    it(`reports ${name} with its line`, () => {
      const r = parseManifests('bad.yaml', text);
      expect(r.issues, JSON.stringify(r.issues)).to.have.length.greaterThan(0);
      const i = r.issues[0];
      expect(`${i.path}: ${i.message}`).to.match(re);
      expect(i.file).to.equal('bad.yaml');
      expect(i.line).to.equal(line);
    });
  }

  it('a malformed rule keeps the policy isolating, with no rules (fail-closed)', () => {
    const text = 'kind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec:\n  podSelector: {}\n  egress:\n    - to: notalist\n';
    const r = parseManifests('m.yaml', text);
    expect(r.policies).to.deep.equal([{ namespace: 'x', name: 'p', podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] }]);
    expect(r.issues[0].path).to.equal('spec.egress[0].to');
    expect(r.issues[0].line).to.equal(6);
  });
});
