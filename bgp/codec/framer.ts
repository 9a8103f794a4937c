/**
 * Turns TCP stream chunks into whole BGP messages. Checks the marker and the
 * length field as each header arrives, so a desynchronised stream is
 * rejected at once with the right NOTIFICATION (RFC 4271 §6.1).
 */
import { BGP_HEADER_LEN } from './constants.js';
import { checkHeader, maxMessageLen } from './message.js';

export class MessageFramer {
  private pending: Uint8Array = new Uint8Array(0);
  private extended: boolean;

  constructor(opts: { extendedMessage?: boolean } = {}) {
    this.extended = opts.extendedMessage === true;
  }

  /** Call once Extended Message (RFC 8654) is negotiated. */
  setExtendedMessage(on: boolean): void {
    this.extended = on;
  }

  /** Octets held back waiting for the rest of a message. */
  get buffered(): number {
    return this.pending.length;
  }

  /**
   * Feeds a chunk; returns the whole messages it completes, in order. The
   * returned arrays may share memory with `chunk`; they are never reused.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    let buf: Uint8Array;
    if (this.pending.length === 0) {
      buf = chunk;
    } else {
      buf = new Uint8Array(this.pending.length + chunk.length);
      buf.set(this.pending, 0);
      buf.set(chunk, this.pending.length);
    }
    const out: Uint8Array[] = [];
    const opts = { extendedMessage: this.extended };
    let i = 0;
    while (buf.length - i >= BGP_HEADER_LEN) {
      const len = checkHeader(buf, i, maxMessageLen(buf[i + 18], opts));
      if (buf.length - i < len) break;
      out.push(buf.subarray(i, i + len));
      i += len;
    }
    this.pending = i === buf.length ? new Uint8Array(0) : buf.slice(i);
    return out;
  }
}
