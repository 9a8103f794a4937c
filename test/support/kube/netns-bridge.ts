/**
 * Reaching the test's kube-apiserver (on the host's 127.0.0.1) from inside
 * network namespaces, without changing its address or certificate.
 *
 * Network namespaces do not isolate path-based unix sockets, so the bridge
 * has two halves:
 *
 *   agent in netns ── tcp 127.0.0.1:<port> ──▶ forwarder (node, in the netns)
 *        ──▶ unix socket in the test's tmp dir ──▶ this process
 *        ──▶ tcp host 127.0.0.1:<port> ──▶ kube-apiserver
 *
 * so a kubeconfig with `server: https://127.0.0.1:<port>` works unchanged in
 * every namespace. `cut()` closes the unix socket and drops every piped
 * connection (the API "dies" for the namespaces only); `restore()` listens
 * again on the same path. Forwarders are processes of the Topology, stopped
 * by their PID when it is destroyed; each also exits when its stdin closes
 * (the test process died).
 */
import { rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { TortieError } from '../../../lib/errors.js';
import type { Netns, TrackedProcess } from '../netns.js';

/**
 * The forwarder, run with `node -e SCRIPT <port> <socket>` in a namespace:
 * listens on 127.0.0.1:<port>, pipes every connection to the unix socket,
 * prints "listening" once it is bound.
 */
const FORWARDER = `
const net = require('node:net');
const [port, sock] = process.argv.slice(1);
const server = net.createServer((tcp) => {
  const up = net.connect(sock);
  const drop = () => { tcp.destroy(); up.destroy(); };
  tcp.on('error', drop); up.on('error', drop);
  tcp.on('close', drop); up.on('close', drop);
  tcp.pipe(up); up.pipe(tcp);
});
server.on('error', (err) => { process.stderr.write(String(err) + '\\n'); process.exit(1); });
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
`;

export class ApiBridge {
  readonly socketPath: string;
  readonly port: number;
  private server: Server | undefined;
  private readonly conns = new Set<Socket>();
  /** Connections piped so far (a test can show the namespaces really used the bridge). */
  connections = 0;

  /** `server`: the apiserver's URL (https://127.0.0.1:<port>); `dir`: where the unix socket goes. */
  constructor(server: string, dir: string, name = 'kube-api.sock') {
    const u = new URL(server);
    if (u.hostname !== '127.0.0.1') throw new TortieError('ERR_TEST_PREREQ', `the bridge forwards to 127.0.0.1 only, not ${u.hostname}`);
    this.port = Number(u.port);
    this.socketPath = join(dir, name);
  }

  get up(): boolean {
    return this.server !== undefined;
  }

  /** Listens on the unix socket (again, after cut()). */
  async restore(): Promise<void> {
    if (this.server) return;
    rmSync(this.socketPath, { force: true });
    const server = createServer((client) => {
      this.connections++;
      const upstream = connect(this.port, '127.0.0.1');
      this.conns.add(client);
      this.conns.add(upstream);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        this.conns.delete(client);
        this.conns.delete(upstream);
      };
      for (const s of [client, upstream]) {
        s.on('error', drop);
        s.on('close', drop);
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(this.socketPath, () => {
        server.off('error', rej);
        res();
      });
    });
    this.server = server;
  }

  /** The API becomes unreachable from the namespaces: no new connections, every open one dropped. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((res) => server.close(() => res()));
    for (const s of this.conns) s.destroy();
    this.conns.clear();
    await closed;
    rmSync(this.socketPath, { force: true });
  }

  /** Starts the forwarder inside `ns` and waits until it listens. Its PID is the Topology's to stop. */
  async forwardInto(ns: Netns, logFile: string, timeoutMs = 10_000): Promise<TrackedProcess> {
    const proc = ns.spawn(process.execPath, ['-e', FORWARDER, String(this.port), this.socketPath], { logFile, pipeStdio: true });
    const out = proc.stdout;
    if (!out) throw new TortieError('ERR_TEST_SPAWN', 'forwarder has no stdout pipe');
    await new Promise<void>((res, rej) => {
      let text = '';
      const timer = setTimeout(() => rej(new TortieError('ERR_TEST_TIMEOUT', `forwarder in ${ns.name} not listening after ${timeoutMs} ms:\n${proc.logTail()}`)), timeoutMs);
      out.setEncoding('utf8');
      out.on('data', (c: string) => {
        text += c;
        if (text.includes('listening')) {
          clearTimeout(timer);
          res();
        }
      });
      void proc.exited().then(() => {
        clearTimeout(timer);
        rej(new TortieError('ERR_TEST_DAEMON_START', `forwarder in ${ns.name} exited (${JSON.stringify(proc.exit)}):\n${proc.logTail()}`));
      });
    });
    return proc;
  }

  /** Closes the unix side for good (the forwarders are stopped with their Topology). */
  close(): Promise<void> {
    return this.cut();
  }
}
