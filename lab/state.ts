/**
 * A lab's state directory: what `up` created, written down *before* it is
 * created, so that `down` can remove it after any crash.
 *
 *   <root>/<lab>/state.json          the record below (atomic rename on every write)
 *   <root>/<lab>/<node>/<proc>.pid   one pidfile per process: "PID STARTTIME"
 *   <root>/<lab>/<node>/…            configs, logs, sockets, agent state
 *
 * STARTTIME is field 22 of /proc/PID/stat (clock ticks since boot). A PID is
 * only ever signalled while its start time still matches, so a PID the
 * kernel has since reused for someone else's process is left alone.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TortieError } from '../lib/errors.js';

export interface ProcRecord {
  node: string;
  /** "tortie-agent", "zebra", "bgpd", "bird". */
  name: string;
  pid: number;
  startTime: number;
  argv: string[];
  log: string;
  pidFile: string;
}

export interface PodRecord {
  node: string;
  name: string;
  netns: string;
  containerId: string;
  ifname: string;
  /** Addresses from the CNI result (CIDR text). */
  addresses: string[];
}

export interface LabState {
  lab: string;
  file: string;
  createdAt: string;
  /** Namespaces created (or about to be). */
  namespaces: string[];
  processes: ProcRecord[];
  pods: PodRecord[];
  /** /var/run/frr/<pathspace> directories FRR creates for `-N`. */
  frrPathspaces: string[];
}

export class LabStateStore {
  readonly dir: string;
  private readonly file: string;

  constructor(dir: string) {
    this.dir = dir;
    this.file = join(dir, 'state.json');
  }

  exists(): boolean {
    return existsSync(this.file);
  }

  read(): LabState | undefined {
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as LabState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new TortieError('ERR_LAB_STATE', `cannot read ${this.file}: ${(err as Error).message}`, { cause: err });
    }
  }

  write(state: LabState): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
    renameSync(tmp, this.file);
  }

  /** Read-modify-write. */
  update(fn: (s: LabState) => void): LabState {
    const s = this.read();
    if (!s) throw new TortieError('ERR_LAB_STATE', `no lab state in ${this.dir}`);
    fn(s);
    this.write(s);
    return s;
  }

  nodeDir(node: string): string {
    const d = join(this.dir, node);
    mkdirSync(d, { recursive: true, mode: 0o755 });
    return d;
  }
}
