/**
 * Data-plane probes for the end-to-end tests, the demo and the dataplane
 * bench: ping matrices, continuous pingers that count losses, TCP through
 * iperf3, and tcpdump captures on the lab's links with a verdict on tunnelling.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, runIn, sleep } from './command.js';
import type { Lab } from './lab.js';
import { podAddress } from './pods.js';
import type { PodRecord } from './state.js';

export interface PingResult {
  from: string;
  to: string;
  address: string;
  ok: boolean;
  detail: string;
}

function podLabel(p: PodRecord): string {
  return `${p.node}/${p.name}`;
}

/** One ping from `from` to `to` (IPv4 or IPv6), retried once. */
export async function pingOnce(from: PodRecord, to: PodRecord, family: 4 | 6 = 4): Promise<PingResult> {
  const address = podAddress(to, family);
  let detail = '';
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const { stdout } = await runIn(from.netns, 'busybox', ['ping', `-${family}`, '-c', '1', '-W', '2', address], { timeoutMs: 10_000 });
      return { from: podLabel(from), to: podLabel(to), address, ok: true, detail: stdout.split('\n').find((l) => /time=/.test(l)) ?? '' };
    } catch (err) {
      detail = (err as Error).message.split('\n')[0] ?? '';
    }
  }
  return { from: podLabel(from), to: podLabel(to), address, ok: false, detail };
}

/** Every pod pings every other pod; sources run in parallel, each source's targets in turn. */
export async function pingMatrix(pods: PodRecord[], family: 4 | 6 = 4): Promise<PingResult[]> {
  const rows = await Promise.all(pods.map(async (from) => {
    const out: PingResult[] = [];
    for (const to of pods) if (to !== from) out.push(await pingOnce(from, to, family));
    return out;
  }));
  return rows.flat();
}

/** A `busybox ping` at a fixed interval that counts what it sent and what came back. */
export interface Pinger {
  stop(): Promise<{ transmitted: number; received: number; lost: number }>;
}

/**
 * Pings every `intervalSec` until stopped. Losses are counted by sequence
 * number: a gap among the replies is a loss; the one request still in
 * flight when the pinger stops is not.
 */
export function startPinger(from: PodRecord, to: PodRecord, family: 4 | 6 = 4, intervalSec = 0.05): Pinger {
  const child = spawn('ip', ['netns', 'exec', from.netns, 'busybox', 'ping', `-${family}`, '-i', String(intervalSec), podAddress(to, family)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
  child.stderr.on('data', (b: Buffer) => (out += b.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    async stop() {
      // busybox ping prints its summary on SIGINT.
      child.kill('SIGINT');
      await Promise.race([exited, sleep(5_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
      const m = /(\d+) packets transmitted, (\d+) packets received/.exec(out);
      if (!m) throw new Error(`no ping summary from ${podLabel(from)} to ${podLabel(to)}: ${out.slice(-300)}`);
      const transmitted = Number(m[1]);
      const seqs = new Set([...out.matchAll(/seq=(\d+)/g)].map((x) => Number(x[1])));
      const last = seqs.size ? Math.max(...seqs) : -1;
      let lost = Math.max(0, transmitted - (last + 1) - 1);
      for (let i = 0; i <= last; i++) if (!seqs.has(i)) lost++;
      return { transmitted, received: seqs.size, lost };
    },
  };
}

/** A TCP transfer from `client` to `server` with iperf3; returns bits per second. */
export async function tcpTransfer(server: PodRecord, client: PodRecord, opts: { seconds?: number; family?: 4 | 6; port?: number } = {}): Promise<number> {
  const family = opts.family ?? 4;
  const port = String(opts.port ?? 5201);
  const srv = spawn('ip', ['netns', 'exec', server.netns, 'iperf3', '-s', '-1', '-p', port, `-${family}`], { stdio: 'ignore' });
  try {
    let lastErr: unknown;
    for (let i = 0; i < 20; i++) {
      try {
        const { stdout } = await runIn(client.netns, 'iperf3', ['-c', podAddress(server, family), '-p', port, '-t', String(opts.seconds ?? 1), '-J', `-${family}`], { timeoutMs: 60_000 });
        const r = JSON.parse(stdout) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
        if (r.error) throw new Error(r.error);
        return r.end?.sum_received?.bits_per_second ?? 0;
      } catch (err) {
        lastErr = err;
        await sleep(100);
      }
    }
    throw lastErr instanceof Error ? lastErr : new Error(String(lastErr));
  } finally {
    if (srv.exitCode === null) srv.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------- captures

/** BPF for every encapsulation an overlay would use: VXLAN (4789, Linux 8472), GENEVE, IP-in-IP, 6in4, IPv6-in-IPv6, GRE. */
export const TUNNEL_FILTER = 'udp port 4789 or udp port 8472 or udp port 6081 or ip proto 4 or ip proto 41 or ip proto 47 or ip6 proto 4 or ip6 proto 41 or ip6 proto 47';

export interface LinkCapture {
  /** "node:iface" where the capture ran. */
  where: string;
  file: string;
}

export interface Capture {
  captures: LinkCapture[];
  stop(): Promise<void>;
  /** Number of packets in one capture that match a tcpdump filter. */
  count(c: LinkCapture, filter: string): Promise<number>;
  dispose(): void;
}

/** Starts tcpdump on one end of every link of the lab (the `a` end unless it is a tortie node's pod side). */
export async function captureLinks(lab: Lab): Promise<Capture> {
  const dir = mkdtempSync(join(tmpdir(), 'tortie-e2e-pcap-'));
  const procs: ChildProcess[] = [];
  const captures: LinkCapture[] = [];
  for (const [i, l] of lab.topo.links.entries()) {
    const end = l.a;
    const file = join(dir, `link${i}-${end.node}-${end.iface}.pcap`);
    const child = spawn('ip', ['netns', 'exec', lab.ns(end.node), 'tcpdump', '-i', end.iface, '-U', '-n', '-s', '128', '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let said = '';
    child.stderr.on('data', (b: Buffer) => (said += b.toString('utf8')));
    procs.push(child);
    captures.push({ where: `${end.node}:${end.iface}`, file });
    // tcpdump says "listening on …" once the capture is armed.
    for (let t = 0; t < 100 && !/listening on/.test(said); t++) await sleep(20);
  }
  return {
    captures,
    async stop() {
      await sleep(200);
      await Promise.all(procs.map((p) => new Promise<void>((resolve) => {
        if (p.exitCode !== null) return resolve();
        p.once('close', () => resolve());
        p.kill('SIGINT');
        setTimeout(() => { p.kill('SIGKILL'); resolve(); }, 3_000).unref();
      })));
    },
    async count(c, filter) {
      const { stdout } = await run('tcpdump', ['-r', c.file, '-n', filter], { timeoutMs: 30_000 });
      return stdout.split('\n').filter((x) => x.trim()).length;
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
