/**
 * `npm run lab -- <command> …`: the netns runner's command line.
 *
 *   up     FILE [--name NAME] [--from-source]     build the lab and start its nodes
 *   down   FILE | --name NAME                     remove everything of the lab (idempotent)
 *   status FILE [--name NAME] [-o json]           nodes, processes, BGP sessions, pods
 *   exec   FILE NODE -- CMD [ARG…]                run CMD in NODE's namespace
 *   pod    add|del FILE NODE POD                  a pod through the tortie CNI plugin
 *   stop   FILE NODE [--graceful] / start FILE NODE
 *
 * See docs/lab.md.
 */
import { spawnSync } from 'node:child_process';
import { TortieError } from '../lib/errors.js';
import { Lab, teardown } from './lab.js';
import { labStateDir, STATE_ROOT } from './names.js';
import { addPod, deletePod } from './pods.js';
import { LabStateStore } from './state.js';
import { execArgv } from './tools.js';
import { formatStatus, labStatus } from './status.js';

const USAGE = `usage: npm run lab -- <command> [args]

  up     FILE [--name NAME] [--from-source]   build the lab from a containerlab file and start its nodes
  down   FILE | --name NAME                   stop and remove everything of the lab (idempotent)
  status FILE [--name NAME] [-o json]         nodes, processes, BGP sessions and pods
  exec   FILE NODE -- CMD [ARG...]            run CMD in NODE's network namespace
                                              (vtysh, birdc and tortiectl find the node's socket)
  pod    add|del FILE NODE POD                create/delete a pod on a tortie node via the tortie CNI plugin
  stop   FILE NODE [--graceful]               kill a node's processes and take its links down
  start  FILE NODE                            bring a stopped node back

  --name NAME      use NAME instead of the file's lab name (run a second copy)
  --from-source    run tortie-agent from the TypeScript sources (default: dist/bin bundles if built)

Runs as root. State lives in ${STATE_ROOT}/<lab>/. See docs/lab.md.
`;

interface Args {
  positional: string[];
  rest: string[];
  name?: string;
  output: 'table' | 'json';
  fromSource: boolean;
  graceful: boolean;
}

function parseArgs(argv: string[]): Args {
  const dd = argv.indexOf('--');
  const head = dd >= 0 ? argv.slice(0, dd) : argv;
  const a: Args = { positional: [], rest: dd >= 0 ? argv.slice(dd + 1) : [], output: 'table', fromSource: false, graceful: false };
  for (let i = 0; i < head.length; i++) {
    const x = head[i];
    if (x === '--name') a.name = head[++i];
    else if (x.startsWith('--name=')) a.name = x.slice(7);
    else if (x === '-o' || x === '--output') a.output = head[++i] === 'json' ? 'json' : 'table';
    else if (x === '--from-source') a.fromSource = true;
    else if (x === '--graceful') a.graceful = true;
    else if (x === '-h' || x === '--help') a.positional.unshift('help');
    else if (x.startsWith('-')) throw new TortieError('ERR_LAB_USAGE', `unknown option ${x}`);
    else a.positional.push(x);
  }
  return a;
}

function load(file: string | undefined, a: Args): Lab {
  if (!file) throw new TortieError('ERR_LAB_USAGE', 'missing topology FILE');
  return Lab.load(file, { ...(a.name ? { name: a.name } : {}), ...(a.fromSource ? { build: 'source' as const } : {}), log: (l) => process.stderr.write(`lab: ${l}\n`) });
}

async function main(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  const [cmd, ...pos] = a.positional;
  switch (cmd) {
    case undefined:
    case 'help':
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
    case 'up': {
      const lab = load(pos[0], a);
      const t0 = Date.now();
      await lab.up();
      process.stdout.write(`lab ${lab.name} is up (${lab.topo.nodes.length} nodes, ${((Date.now() - t0) / 1000).toFixed(1)} s). Try:\n`);
      process.stdout.write(`  npm run lab -- status ${pos[0]}${a.name ? ` --name ${a.name}` : ''}\n`);
      process.stdout.write(`  npm run lab -- down ${pos[0]}${a.name ? ` --name ${a.name}` : ''}\n`);
      return 0;
    }
    case 'down': {
      const name = a.name ?? (pos[0] ? Lab.load(pos[0]).name : undefined);
      if (!name) throw new TortieError('ERR_LAB_USAGE', 'down needs FILE or --name NAME');
      const r = await teardown(name, new LabStateStore(labStateDir(name)));
      const killed = r.processes.filter((p) => p.result !== 'gone');
      process.stdout.write(`lab ${name} is down: ${killed.length} processes stopped, ${r.namespaces.length} namespaces deleted${r.stateDirRemoved ? ', state removed' : ''}\n`);
      return 0;
    }
    case 'status': {
      const lab = load(pos[0], a);
      const st = await labStatus(lab);
      process.stdout.write(a.output === 'json' ? `${JSON.stringify(st, null, 2)}\n` : formatStatus(st));
      return st.up ? 0 : 1;
    }
    case 'exec': {
      const lab = load(pos[0], a);
      const node = pos[1];
      if (!node || a.rest.length === 0) throw new TortieError('ERR_LAB_USAGE', 'usage: exec FILE NODE -- CMD [ARG...]');
      if (!lab.isUp()) throw new TortieError('ERR_LAB_NOT_UP', `lab ${lab.name} is not up`);
      const argv2 = execArgv(lab, node, a.rest);
      const r = spawnSync('ip', ['netns', 'exec', lab.ns(node), ...argv2], { stdio: 'inherit' });
      return r.status ?? 1;
    }
    case 'pod': {
      const [op, file, node, pod] = pos;
      const lab = load(file, a);
      if (!node || !pod || (op !== 'add' && op !== 'del')) throw new TortieError('ERR_LAB_USAGE', 'usage: pod add|del FILE NODE POD');
      if (op === 'add') {
        const p = await addPod(lab, node, pod);
        process.stdout.write(`pod ${pod} on ${node}: netns ${p.netns}, ${p.addresses.join(', ')}\n`);
      } else {
        await deletePod(lab, node, pod);
        process.stdout.write(`pod ${pod} on ${node} deleted\n`);
      }
      return 0;
    }
    case 'stop':
    case 'start': {
      const lab = load(pos[0], a);
      const node = pos[1];
      if (!node) throw new TortieError('ERR_LAB_USAGE', `usage: ${cmd} FILE NODE`);
      if (cmd === 'stop') await lab.stopNode(node, a.graceful ? 'graceful' : 'crash');
      else await lab.startNode(node);
      process.stdout.write(`${node} ${cmd === 'stop' ? 'stopped' : 'started'}\n`);
      return 0;
    }
    default:
      process.stderr.write(`lab: unknown command ${cmd}\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
}, (err: unknown) => {
  const code = err instanceof TortieError ? ` [${err.code}]` : '';
  process.stderr.write(`lab: ${(err as Error).message}${code}\n`);
  process.exitCode = 1;
});
