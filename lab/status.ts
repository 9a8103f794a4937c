/** `lab status`: nodes, their processes (alive or not), BGP sessions and pods. */
import { existsSync } from 'node:fs';
import { sessionsOf, type LabSession } from './bgp-views.js';
import type { Lab } from './lab.js';
import { isAlive } from './procs.js';
import type { PodRecord } from './state.js';

export interface NodeStatus {
  name: string;
  role: string;
  image: string;
  namespace: string;
  namespaceExists: boolean;
  processes: { name: string; pid: number; alive: boolean }[];
  sessions?: LabSession[];
  sessionsError?: string;
}

export interface LabStatus {
  lab: string;
  file: string;
  up: boolean;
  stateDir: string;
  nodes: NodeStatus[];
  pods: PodRecord[];
}

export async function labStatus(lab: Lab): Promise<LabStatus> {
  const state = lab.state();
  const nodes = await Promise.all(lab.topo.nodes.map(async (n): Promise<NodeStatus> => {
    const ns = lab.ns(n.name);
    const st: NodeStatus = {
      name: n.name, role: n.role, image: n.image, namespace: ns, namespaceExists: existsSync(`/run/netns/${ns}`),
      processes: (state?.processes ?? []).filter((p) => p.node === n.name).map((p) => ({ name: p.name, pid: p.pid, alive: isAlive(p) })),
    };
    if (state && n.role !== 'host') {
      try {
        st.sessions = await sessionsOf(lab, n.name);
      } catch (err) {
        st.sessionsError = (err as Error).message.split('\n')[0];
      }
    }
    return st;
  }));
  return { lab: lab.name, file: lab.topo.file, up: state !== undefined, stateDir: lab.store.dir, nodes, pods: state?.pods ?? [] };
}

export function formatStatus(s: LabStatus): string {
  if (!s.up) return `lab ${s.lab} is not up (no state in ${s.stateDir})\n`;
  const rows: string[][] = [['NODE', 'ROLE', 'NAMESPACE', 'PROCESSES', 'BGP SESSIONS']];
  for (const n of s.nodes) {
    const procs = n.processes.map((p) => `${p.name}:${p.pid}${p.alive ? '' : '(dead)'}`).join(' ') || '-';
    const sess = n.sessionsError ? `error: ${n.sessionsError}`
      : n.sessions ? n.sessions.map((x) => `${x.description ?? x.peer}=${x.state}`).join(' ') || '-' : '-';
    rows.push([n.name, n.role, n.namespaceExists ? n.namespace : `${n.namespace} (missing)`, procs, sess]);
  }
  let out = `lab ${s.lab} (${s.file})\n${table(rows)}`;
  if (s.pods.length) {
    const prow: string[][] = [['POD', 'NODE', 'NETNS', 'ADDRESSES']];
    for (const p of s.pods) prow.push([p.name, p.node, p.netns, p.addresses.join(', ')]);
    out += `\n${table(prow)}`;
  }
  return out;
}

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}
