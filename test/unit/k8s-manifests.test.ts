/**
 * Offline checks of deploy/: every manifest against the Kubernetes OpenAPI
 * schemas as packaged by kubernetes-models (its generated JSON-schema
 * validators catch wrong types, missing required fields and bad formats;
 * its generated TypeScript interfaces, through the compiler's excess
 * property check, catch unknown fields, which the JSON schemas allow), then
 * the cross-references: RBAC grants exactly agent/k8s/access.ts, the CRDs
 * match agent/k8s/types.ts, and the ConfigMap's files are valid for the
 * agent and for the CNI plugin. tortie.io objects (the default IPPool) are
 * checked against their CRD's schema and by the agent's own pool rules.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { accessGrants } from '../../agent/k8s/access.js';
import { CRD, TORTIE_GROUP, TORTIE_VERSION } from '../../agent/k8s/types.js';
import { clusterIpPools, mergeIpPools } from '../../agent/k8s/ip-pools.js';
import { parseConfigText } from '../../agent/config/load.js';
import { parseConfList } from '../../cni/spec/config.js';

const REPO = resolve(import.meta.dirname, '../..');
const DEPLOY = join(REPO, 'deploy');

interface Manifest {
  file: string;
  index: number;
  obj: Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
}

function loadManifests(): Manifest[] {
  const files = [
    ...readdirSync(DEPLOY).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(DEPLOY, f)),
    ...readdirSync(join(DEPLOY, 'crds')).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(DEPLOY, 'crds', f)),
  ].sort();
  const out: Manifest[] = [];
  for (const file of files) {
    parseAllDocuments(readFileSync(file, 'utf8')).forEach((doc, index) => {
      expect(doc.errors.map((e) => e.message), `${file} document ${index}`).to.deep.equal([]);
      const obj = doc.toJS() as Manifest['obj'] | null;
      if (obj !== null) out.push({ file: file.slice(REPO.length + 1), index, obj });
    });
  }
  return out;
}

/** kubernetes-models module path and interface name for a manifest's apiVersion/kind. */
function modelOf(m: Manifest): { module: string; iface: string } {
  return { module: `kubernetes-models/${m.obj.apiVersion}/${m.obj.kind}`, iface: `I${m.obj.kind}` };
}

/** Type-checks each manifest as a literal of its kubernetes-models interface; returns the compiler's complaints. */
function typeCheck(manifests: readonly Manifest[]): string[] {
  const file = join(DEPLOY, '__manifest_check__.ts');
  const lines: string[] = [];
  manifests.forEach((m, i) => {
    const { module, iface } = modelOf(m);
    lines.push(`import type { ${iface} as T${i} } from '${module}';`);
  });
  manifests.forEach((m, i) => lines.push(`export const m${i}: T${i} = ${JSON.stringify(m.obj)};`));
  const text = lines.join('\n');
  const options: ts.CompilerOptions = {
    strict: true, noEmit: true, skipLibCheck: true, types: [], lib: ['lib.es2023.d.ts'],
    target: ts.ScriptTarget.ES2023, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (f, lang, onError, create) => (f === file ? ts.createSourceFile(f, text, lang) : getSourceFile(f, lang, onError, create));
  host.fileExists = (f) => f === file || fileExists(f);
  host.readFile = (f) => (f === file ? text : readFile(f));
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const msg = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (d.file && d.start !== undefined) {
      const line = d.file.getLineAndCharacterOfPosition(d.start).line;
      const src = d.file.text.split('\n')[line] ?? '';
      const k = /^export const m(\d+)/.exec(src)?.[1];
      const m = k !== undefined ? manifests[Number(k)] : undefined;
      if (m) return `${m.file} #${m.index} (${m.obj.kind} ${m.obj.metadata.name}): ${msg}`;
    }
    return msg;
  });
}

type Rule = { apiGroups?: string[]; resources?: string[]; verbs?: string[]; resourceNames?: string[]; nonResourceURLs?: string[] };

function grants(rules: readonly Rule[]): string[] {
  const out = new Set<string>();
  for (const r of rules) {
    for (const g of r.apiGroups ?? []) for (const res of r.resources ?? []) for (const v of r.verbs ?? []) out.add(`${g}/${res}:${v}`);
  }
  return [...out].sort();
}

describe('k8s deploy/ manifests (offline)', function () {
  this.timeout(120_000);
  const all = loadManifests();
  // Kubernetes' own kinds are checked against kubernetes-models; ours against our CRDs.
  const ours = all.filter((m) => m.obj.apiVersion.startsWith(`${TORTIE_GROUP}/`));
  const manifests = all.filter((m) => !ours.includes(m));
  const find = (kind: string, name?: string): Manifest[] => manifests.filter((m) => m.obj.kind === kind && (name === undefined || m.obj.metadata.name === name));
  const one = (kind: string, name?: string): Manifest['obj'] => {
    const found = find(kind, name);
    expect(found, `${kind} ${name ?? ''}`).to.have.length(1);
    return found[0].obj;
  };

  it('finds the manifests', () => {
    expect(ours.map((m) => m.obj.kind)).to.deep.equal(['IPPool']);
    expect(manifests.map((m) => m.obj.kind)).to.include.members(['CustomResourceDefinition', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet']);
  });

  it('every manifest passes its Kubernetes OpenAPI schema (kubernetes-models validators)', async () => {
    const failures: string[] = [];
    for (const m of manifests) {
      const { module } = modelOf(m);
      const mod = (await import(module)) as Record<string, new (data: unknown) => { validate(): void }>;
      const Model = mod[m.obj.kind];
      expect(Model, module).to.be.a('function');
      try {
        new Model(m.obj).validate();
      } catch (err) {
        failures.push(`${m.file} #${m.index} (${m.obj.kind} ${m.obj.metadata.name}): ${(err as Error).message}`);
      }
    }
    expect(failures).to.deep.equal([]);
  });

  it('the schema check can fail: a wrong type and a missing required field are caught', async () => {
    const { DaemonSet } = await import('kubernetes-models/apps/v1/DaemonSet');
    const ds = structuredClone(one('DaemonSet')) as unknown as { spec: { template: { spec: { containers: { ports?: unknown[]; name?: string }[] } } } };
    ds.spec.template.spec.containers[0].ports = [{ containerPort: 'bgp' }];
    expect(() => new DaemonSet(ds as never).validate()).to.throw(/containerPort must be integer/);
    delete ds.spec.template.spec.containers[0].name;
    expect(() => new DaemonSet(ds as never).validate()).to.throw(/name/);
  });

  it('no manifest has a field Kubernetes does not define (TypeScript excess property check)', () => {
    expect(typeCheck(manifests)).to.deep.equal([]);
  });

  it('the field check can fail: a misspelt field is caught', () => {
    const ds = structuredClone(find('DaemonSet')[0]);
    (ds.obj.spec as { template: { spec: Record<string, unknown> } }).template.spec.hostNetwrok = true;
    const problems = typeCheck([ds]);
    expect(problems.join('\n')).to.include('hostNetwrok');
  });

  it('RBAC grants exactly what agent/k8s/access.ts lists', () => {
    const role = one('ClusterRole', 'tortie-agent') as unknown as { rules: Rule[] };
    for (const r of role.rules) {
      expect(r.resourceNames, 'no resourceNames').to.equal(undefined);
      expect(r.nonResourceURLs, 'no nonResourceURLs').to.equal(undefined);
      for (const s of [...(r.apiGroups ?? []), ...(r.resources ?? []), ...(r.verbs ?? [])]) expect(s, 'no wildcards').to.not.equal('*');
    }
    expect(grants(role.rules)).to.deep.equal(accessGrants());
  });

  it('the binding ties the ClusterRole to the ServiceAccount the DaemonSet runs as', () => {
    const sa = one('ServiceAccount', 'tortie-agent');
    const binding = one('ClusterRoleBinding', 'tortie-agent') as unknown as { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string; namespace: string }[] };
    const ds = one('DaemonSet', 'tortie-agent') as unknown as { metadata: { namespace: string }; spec: { template: { spec: { serviceAccountName: string } } } };
    expect(binding.roleRef).to.deep.include({ kind: 'ClusterRole', name: 'tortie-agent' });
    expect(binding.subjects).to.deep.equal([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
    expect(ds.spec.template.spec.serviceAccountName).to.equal(sa.metadata.name);
    expect(ds.metadata.namespace).to.equal(sa.metadata.namespace);
  });

  it('there is one CRD per kind in agent/k8s/types.ts, with matching names, cluster scope and printer columns', () => {
    const crds = find('CustomResourceDefinition').map((m) => m.obj as unknown as {
      metadata: { name: string };
      spec: { group: string; scope: string; names: { kind: string; plural: string }; versions: { name: string; served: boolean; storage: boolean; additionalPrinterColumns?: unknown[]; schema?: { openAPIV3Schema?: unknown } }[] };
    });
    expect(crds.map((c) => c.spec.names.kind).sort()).to.deep.equal(Object.values(CRD).map((c) => c.kind).sort());
    for (const c of crds) {
      const want = Object.values(CRD).find((x) => x.kind === c.spec.names.kind)!;
      expect(c.metadata.name).to.equal(`${want.plural}.${TORTIE_GROUP}`);
      expect(c.spec.group).to.equal(TORTIE_GROUP);
      expect(c.spec.scope).to.equal('Cluster');
      expect(c.spec.names.plural).to.equal(want.plural);
      expect(c.spec.versions.map((v) => [v.name, v.served, v.storage])).to.deep.equal([[TORTIE_VERSION, true, true]]);
      expect(c.spec.versions[0].additionalPrinterColumns ?? [], `${c.metadata.name} printer columns`).to.not.be.empty;
      expect(c.spec.versions[0].schema?.openAPIV3Schema, `${c.metadata.name} schema`).to.be.an('object');
    }
  });

  it('the default IPPool fits its CRD schema and the agent takes it without a problem', () => {
    const pools = ours.filter((m) => m.obj.kind === 'IPPool');
    expect(pools.map((m) => m.file)).to.deep.equal(['deploy/ippool.yaml']);
    const crd = find('CustomResourceDefinition', `${CRD.IPPool.plural}.${TORTIE_GROUP}`)[0].obj as unknown as {
      spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: { required: string[]; properties: Record<string, { type: string }> } } } } }[] };
    };
    const schema = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec;
    const cm = one('ConfigMap', 'tortie-config') as unknown as { data: Record<string, string> };
    const parsed = parseConfigText(cm.data['tortie.yaml'], 'deploy/configmap.yaml:tortie.yaml', {
      env: { NODE_NAME: 'node-a', TORTIE_ROUTER_ID: '192.0.2.1' }, hostname: 'ignored',
    });
    if (!parsed.ok) expect.fail('the ConfigMap does not parse');
    for (const m of pools) {
      expect(m.obj.apiVersion).to.equal(`${TORTIE_GROUP}/${TORTIE_VERSION}`);
      const spec = m.obj.spec as Record<string, unknown>;
      for (const k of schema.required) expect(spec, `${m.file}: spec.${k}`).to.have.property(k);
      for (const [k, v] of Object.entries(spec)) {
        expect(schema.properties, `${m.file}: spec.${k} is not in the CRD`).to.have.property(k);
        expect(typeof v, `${m.file}: spec.${k}`).to.equal(schema.properties[k].type === 'integer' ? 'number' : schema.properties[k].type);
      }
      const merged = mergeIpPools(parsed.config, clusterIpPools([m.obj]));
      expect(merged.problems, m.file).to.deep.equal([]);
      expect(merged.pools.map((p) => p.name)).to.include(m.obj.metadata.name);
    }
  });

  it('the IPPool check can fail: a pool the agent refuses is caught', () => {
    const cm = one('ConfigMap', 'tortie-config') as unknown as { data: Record<string, string> };
    const parsed = parseConfigText(cm.data['tortie.yaml'], 'x', { env: { NODE_NAME: 'node-a', TORTIE_ROUTER_ID: '192.0.2.1' }, hostname: 'ignored' });
    if (!parsed.ok) expect.fail('the ConfigMap does not parse');
    const bad = { apiVersion: `${TORTIE_GROUP}/${TORTIE_VERSION}`, kind: 'IPPool', metadata: { name: 'bad' }, spec: { cidr: '10.244.0.0/16', blockSize: 12 } };
    expect(mergeIpPools(parsed.config, clusterIpPools([bad])).problems.join('\n')).to.match(/IPPool bad: spec\.blockSize/);
  });

  it('the ConfigMap holds a valid agent configuration and a valid conflist', () => {
    const cm = one('ConfigMap', 'tortie-config') as unknown as { data: Record<string, string> };
    const r = parseConfigText(cm.data['tortie.yaml'], 'deploy/configmap.yaml:tortie.yaml', {
      env: { NODE_NAME: 'node-a', TORTIE_ROUTER_ID: '192.0.2.1' }, hostname: 'ignored',
    });
    expect(r.ok ? [] : r.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`)).to.deep.equal([]);
    const list = parseConfList(cm.data['10-tortie.conflist']);
    expect(list.plugins.map((p) => p.type)).to.deep.equal(['tortie']);
  });

  it('the DaemonSet matches the ConfigMap: config path, health port, env defaults', () => {
    const cm = one('ConfigMap', 'tortie-config') as unknown as { data: Record<string, string> };
    const r = parseConfigText(cm.data['tortie.yaml'], 'x', { env: { NODE_NAME: 'n', TORTIE_ROUTER_ID: '192.0.2.1' }, hostname: 'h' });
    if (!r.ok) throw new Error('config invalid');
    type Probe = { httpGet: { host: string; port: number; path: string } };
    type Container = {
      name: string; command: string[]; env?: { name: string }[]; livenessProbe?: Probe; readinessProbe?: Probe;
      volumeMounts: { name: string; mountPath: string }[]; securityContext?: { privileged?: boolean };
    };
    const ds = one('DaemonSet', 'tortie-agent') as unknown as {
      spec: { template: { spec: {
        hostNetwork: boolean; priorityClassName: string; tolerations: { operator: string }[]; containers: Container[]; initContainers: Container[];
        volumes: { name: string; configMap?: { name: string } }[]; terminationGracePeriodSeconds: number;
      } } };
    };
    const pod = ds.spec.template.spec;
    expect(pod.hostNetwork).to.equal(true);
    expect(pod.priorityClassName).to.equal('system-node-critical');
    expect(pod.tolerations).to.deep.equal([{ operator: 'Exists' }]);
    expect(pod.terminationGracePeriodSeconds).to.be.below(r.config.bgp.gracefulRestart.restartTimeSec);
    const agent = pod.containers.find((c) => c.name === 'agent')!;
    expect(agent.securityContext?.privileged).to.equal(true);
    const cfgArg = agent.command[agent.command.indexOf('--config') + 1];
    const cfgVolume = pod.volumes.find((v) => v.configMap?.name === 'tortie-config')!.name;
    const mount = agent.volumeMounts.find((v) => v.name === cfgVolume)!;
    expect(cfgArg).to.equal(`${mount.mountPath}/tortie.yaml`);
    for (const probe of [agent.livenessProbe!, agent.readinessProbe!]) {
      expect(probe.httpGet.port).to.equal(r.config.health.port);
      expect(probe.httpGet.host).to.equal(r.config.health.address);
    }
    expect(agent.env?.map((e) => e.name)).to.include.members(['NODE_NAME', 'TORTIE_ROUTER_ID']);
    const sockDir = r.config.paths.controlSocket.replace(/\/[^/]*$/, '');
    expect(agent.volumeMounts.map((v) => v.mountPath)).to.include(sockDir);
    expect(pod.initContainers.map((c) => c.command[0])).to.deep.equal(['/opt/tortie/install-cni.sh']);
    // The image's own entrypoint runs the agent with the same Node.js flags and glibc settings as the DaemonSet.
    const docker = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
    const entry = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(docker)?.[1] ?? '[]') as string[];
    expect(agent.command.slice(0, agent.command.indexOf('--config'))).to.deep.equal(entry);
    const envLine = /^ENV (MALLOC_.*)$/m.exec(docker)?.[1] ?? '';
    const dockerEnv = Object.fromEntries(envLine.split(/\s+/).map((kv) => kv.split('=') as [string, string]));
    const dsEnv = Object.fromEntries((agent.env as { name: string; value?: string }[]).filter((e) => e.name.startsWith('MALLOC_')).map((e) => [e.name, e.value]));
    expect(dsEnv).to.deep.equal(dockerEnv);
    expect(Object.keys(dsEnv)).to.have.length.above(0);
  });
});
