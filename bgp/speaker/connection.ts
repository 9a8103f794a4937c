/**
 * One BGP TCP connection: frames and decodes what arrives, and writes with
 * back-pressure. It knows nothing of the FSM; the session feeds what it
 * reports into the FSM.
 */
import type { Socket } from 'node:net';
import {
  BgpError, DEFAULT_CODEC_OPTIONS, decodeMessage, MessageFramer, type BgpMessage, type CodecOptions,
} from '../codec/index.js';

export interface ConnectionHandlers {
  onMessage(msg: BgpMessage): void;
  /** A decode failure that resets the session. `messageType` is undefined for a framing error. */
  onDecodeError(err: BgpError, messageType: number | undefined): void;
  onClose(): void;
  /** The send buffer fell below the low-water mark again. */
  onDrain(): void;
}

/** Above this many buffered octets, `send` reports that the caller should wait for onDrain. */
export const SEND_HIGH_WATER = 256 * 1024;

export class BgpConnection {
  readonly socket: Socket;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  /** Decode options; replaced once capabilities are negotiated. */
  rx: CodecOptions = DEFAULT_CODEC_OPTIONS;
  private readonly framer = new MessageFramer();
  private closed = false;
  private failed = false;
  private handlers: ConnectionHandlers;

  constructor(socket: Socket, handlers: ConnectionHandlers) {
    this.socket = socket;
    this.handlers = handlers;
    this.remoteAddress = normalizeAddress(socket.remoteAddress ?? '');
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = normalizeAddress(socket.localAddress ?? '');
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      if (!this.closed) this.handlers.onDrain();
    });
    socket.on('error', () => {
      /* 'close' follows; the reason is not needed beyond that */
    });
    socket.on('close', () => this.onClosed());
  }

  /** Points the connection at other handlers (collision promotion). */
  rebind(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
  }

  setNegotiated(rx: CodecOptions): void {
    this.rx = rx;
    this.framer.setExtendedMessage(rx.extendedMessage);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Octets queued in the socket, not yet handed to the kernel. */
  get buffered(): number {
    return this.socket.writableLength;
  }

  /** Queues bytes; returns false when the caller should wait for onDrain before sending more. */
  send(bytes: Uint8Array): boolean {
    if (this.closed || this.socket.destroyed) return false;
    this.socket.write(bytes);
    return this.socket.writableLength < SEND_HIGH_WATER;
  }

  /** Flushes what is queued, then closes (used after a NOTIFICATION). */
  end(): void {
    if (this.closed) return;
    this.stopReading();
    this.socket.end();
    // A peer that never reads must not keep the socket forever.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  destroy(): void {
    this.stopReading();
    this.socket.destroy();
  }

  private stopReading(): void {
    this.failed = true;
    this.socket.pause();
  }

  private onData(chunk: Buffer): void {
    if (this.failed) return;
    let frames: Uint8Array[];
    try {
      frames = this.framer.push(chunk);
    } catch (err) {
      this.fail(err, undefined);
      return;
    }
    for (const frame of frames) {
      if (this.failed) return;
      let msg: BgpMessage;
      try {
        msg = decodeMessage(frame, this.rx);
      } catch (err) {
        this.fail(err, frame[18]);
        return;
      }
      this.handlers.onMessage(msg);
    }
  }

  private fail(err: unknown, messageType: number | undefined): void {
    if (!(err instanceof BgpError)) throw err;
    this.failed = true;
    this.handlers.onDecodeError(err, messageType);
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers.onClose();
  }
}

/** "::ffff:192.0.2.1" (a v4 peer on a dual-stack socket) -> "192.0.2.1". */
export function normalizeAddress(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}
