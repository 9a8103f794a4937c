/**
 * The smallest BGP endpoint the benchmark needs: one TCP connection (active
 * or passive), OPEN with IPv4 unicast and 4-octet AS, KEEPALIVE exchange to
 * Established, then periodic KEEPALIVEs. UPDATE frames are handed over raw;
 * a NOTIFICATION or a closed connection ends the process's purpose and is
 * reported through onClose. No FSM, no hold-timer enforcement: a benchmark
 * endpoint must never be the one that drops the session.
 */
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import {
  capabilitiesOf, DEFAULT_CODEC_OPTIONS, decodeMessage, encodeMessage, keepaliveBytes, makeOpen, MessageFramer,
  MessageType, type Capability, type OpenMessage,
} from '../../bgp/codec/index.js';
import { TortieError } from '../../lib/errors.js';

const BGP_PORT = 179;
const AS_TRANS = 23456;

export interface MiniPeerOptions {
  mode: 'connect' | 'listen';
  localAddress: string;
  peerAddress: string;
  port?: number;
  asn: number;
  bgpId: string;
  holdTimeSec: number;
  /** Give up connecting (or waiting for the peer to connect) after this long. */
  connectTimeoutMs?: number;
}

export interface MiniPeerHandlers {
  /** Every UPDATE after Established, as the whole message (header included). */
  onUpdate?(frame: Uint8Array): void;
  /** The session ended: peer NOTIFICATION, socket error or close. */
  onClose(reason: string): void;
}

/** Absolute wall-clock milliseconds, comparable between processes on one machine. */
export function nowAbsMs(): number {
  return performance.timeOrigin + performance.now();
}

/** One JSON line on stdout (synchronous when stdout is a file, as under the runner). */
export function emit(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

export class MiniPeer {
  readonly opts: MiniPeerOptions;
  socket: Socket | undefined;
  negotiatedHoldSec = 0;
  peerOpen: OpenMessage | undefined;
  private readonly handlers: MiniPeerHandlers;
  private readonly framer = new MessageFramer();
  private state: 'idle' | 'open-sent' | 'open-confirm' | 'established' | 'closed' = 'idle';
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private server: Server | undefined;
  private resolveEstablished: (() => void) | undefined;
  private rejectEstablished: ((err: Error) => void) | undefined;

  constructor(opts: MiniPeerOptions, handlers: MiniPeerHandlers) {
    this.opts = opts;
    this.handlers = handlers;
  }

  /** Connects (retrying while refused) or accepts one connection, then runs OPEN/KEEPALIVE to Established. */
  start(): Promise<void> {
    const established = new Promise<void>((resolve, reject) => {
      this.resolveEstablished = resolve;
      this.rejectEstablished = reject;
    });
    const deadline = Date.now() + (this.opts.connectTimeoutMs ?? 30_000);
    if (this.opts.mode === 'connect') this.connectWithRetry(deadline);
    else this.listen(deadline);
    return established;
  }

  private fail(reason: string): void {
    if (this.state === 'closed') return;
    const wasEstablished = this.state === 'established';
    this.state = 'closed';
    clearInterval(this.keepaliveTimer);
    this.server?.close();
    this.socket?.destroy();
    if (!wasEstablished) this.rejectEstablished?.(new TortieError('ERR_BENCH_SESSION', reason));
    this.handlers.onClose(reason);
  }

  private connectWithRetry(deadline: number): void {
    const { localAddress, peerAddress, port = BGP_PORT } = this.opts;
    const s = netConnect({ host: peerAddress, port, localAddress });
    s.once('connect', () => this.attach(s));
    s.once('error', (err: NodeJS.ErrnoException) => {
      if (this.socket === s) return; // errors after attach are handled there
      s.destroy();
      const retriable = err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET' || err.code === 'EHOSTUNREACH';
      if (retriable && Date.now() < deadline) setTimeout(() => this.connectWithRetry(deadline), 100);
      else this.fail(`connect to ${peerAddress}:${port}: ${err.message}`);
    });
  }

  private listen(deadline: number): void {
    const { localAddress, peerAddress, port = BGP_PORT } = this.opts;
    const server = createServer((s) => {
      if (this.socket || s.remoteAddress !== peerAddress) {
        s.destroy();
        return;
      }
      server.close();
      this.attach(s);
    });
    this.server = server;
    server.on('error', (err) => this.fail(`listen on ${localAddress}:${port}: ${err.message}`));
    server.listen(port, localAddress);
    const timer = setTimeout(() => {
      if (!this.socket) this.fail(`no connection from ${peerAddress} within the timeout`);
    }, Math.max(0, deadline - Date.now()));
    timer.unref();
  }

  private attach(s: Socket): void {
    this.socket = s;
    s.setNoDelay(true);
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('error', (err) => this.fail(`socket error: ${err.message}`));
    s.on('close', () => this.fail('connection closed by the peer'));
    const caps: Capability[] = [
      { code: 1, afi: 1, safi: 1 },
      { code: 2 },
      { code: 65, asn: this.opts.asn },
    ];
    const open = makeOpen({
      myAs: this.opts.asn > 0xffff ? AS_TRANS : this.opts.asn,
      holdTimeSec: this.opts.holdTimeSec,
      bgpId: this.opts.bgpId,
      capabilities: caps,
    });
    s.write(encodeMessage(open, DEFAULT_CODEC_OPTIONS));
    this.state = 'open-sent';
  }

  private onData(chunk: Buffer): void {
    let frames: Uint8Array[];
    try {
      frames = this.framer.push(chunk);
    } catch (err) {
      this.fail(`bad framing from the peer: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    for (const frame of frames) {
      const type = frame[18];
      if (type === MessageType.Update) {
        if (this.state === 'established') this.handlers.onUpdate?.(frame);
        continue;
      }
      if (type === MessageType.Keepalive) {
        if (this.state === 'open-confirm') this.becomeEstablished();
        continue;
      }
      if (type === MessageType.Open) {
        this.onOpen(frame);
        continue;
      }
      if (type === MessageType.Notification) {
        let text = 'NOTIFICATION';
        try {
          const n = decodeMessage(frame, DEFAULT_CODEC_OPTIONS);
          if (n.type === MessageType.Notification) text = `NOTIFICATION ${n.code}/${n.subcode}`;
        } catch {
          // keep the generic text
        }
        this.fail(`peer sent ${text}`);
        return;
      }
      // ROUTE-REFRESH and anything else: ignored.
    }
  }

  private onOpen(frame: Uint8Array): void {
    if (this.state !== 'open-sent') {
      this.fail('unexpected OPEN');
      return;
    }
    let open: OpenMessage;
    try {
      const m = decodeMessage(frame, DEFAULT_CODEC_OPTIONS);
      if (m.type !== MessageType.Open) throw new TortieError('ERR_BENCH_SESSION', 'not an OPEN');
      open = m;
    } catch (err) {
      this.fail(`bad OPEN from the peer: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (!capabilitiesOf(open).some((c) => c.code === 65)) {
      this.fail('the peer does not support 4-octet AS numbers; the pre-encoded UPDATEs need them');
      return;
    }
    this.peerOpen = open;
    this.negotiatedHoldSec = Math.min(open.holdTimeSec, this.opts.holdTimeSec);
    this.socket?.write(keepaliveBytes());
    this.state = 'open-confirm';
  }

  private becomeEstablished(): void {
    this.state = 'established';
    if (this.negotiatedHoldSec > 0) {
      const everyMs = Math.max(1, Math.floor(this.negotiatedHoldSec / 3)) * 1000;
      this.keepaliveTimer = setInterval(() => this.socket?.write(keepaliveBytes()), everyMs);
    }
    this.resolveEstablished?.();
  }

  /**
   * Writes `data` in slices, waiting for 'drain' whenever Node's buffer is
   * over its mark. `onFirstWrite` gets the absolute time taken just before
   * the first slice went to the socket.
   */
  async writeAll(data: Uint8Array, sliceBytes = 1 << 20, onFirstWrite?: (atMs: number) => void): Promise<void> {
    const s = this.socket;
    if (!s || this.state !== 'established') throw new TortieError('ERR_BENCH_SESSION', 'not established');
    for (let off = 0; off < data.length; off += sliceBytes) {
      const slice = data.subarray(off, Math.min(data.length, off + sliceBytes));
      const atMs = off === 0 ? nowAbsMs() : 0;
      const flushed = s.write(slice);
      if (off === 0) onFirstWrite?.(atMs);
      if (!flushed) {
        await new Promise<void>((resolve, reject) => {
          const onDrain = (): void => {
            s.off('close', onClose);
            resolve();
          };
          const onClose = (): void => {
            s.off('drain', onDrain);
            reject(new TortieError('ERR_BENCH_SESSION', 'connection closed while sending'));
          };
          s.once('drain', onDrain);
          s.once('close', onClose);
        });
      }
    }
  }

  /** Closes the connection quietly. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearInterval(this.keepaliveTimer);
    this.server?.close();
    this.socket?.destroy();
  }
}

/** Minimal `--name value` argument parsing for the tester and monitor. */
export function parseArgs(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new TortieError('ERR_BENCH_USAGE', `unexpected argument ${a}`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out.set(a.slice(2), 'true');
    else {
      out.set(a.slice(2), next);
      i++;
    }
  }
  return out;
}

export function requireArg(args: Map<string, string>, name: string): string {
  const v = args.get(name);
  if (v === undefined) throw new TortieError('ERR_BENCH_USAGE', `missing --${name}`);
  return v;
}

export function intArg(args: Map<string, string>, name: string, dflt?: number): number {
  const raw = args.get(name);
  if (raw === undefined) {
    if (dflt === undefined) throw new TortieError('ERR_BENCH_USAGE', `missing --${name}`);
    return dflt;
  }
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 0) throw new TortieError('ERR_BENCH_USAGE', `--${name} must be a non-negative integer`);
  return v;
}
