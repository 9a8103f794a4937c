/**
 * Unary gRPC calls over HTTP/2 on a unix socket, with node:http2 and no
 * other dependency. Enough for the CRI: one request message, one response
 * message, status in the trailers (or in the headers for a trailers-only
 * reply), no compression.
 *
 * Framing (gRPC over HTTP/2, "Length-Prefixed-Message"): 1 byte compressed
 * flag (always 0 here), 4 bytes big-endian length, then the message bytes.
 */
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { TortieError } from '../../../lib/errors.js';

/** gRPC status codes (grpc/doc/statuscodes.md). */
export const GrpcStatus = {
  Ok: 0,
  Cancelled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;

/** A call ended with a non-OK gRPC status, or the transport failed (code ERR_GRPC_TRANSPORT). */
export class GrpcError extends TortieError {
  readonly method: string;
  /** The gRPC status; undefined when the call never got one (transport failure, timeout). */
  readonly grpcStatus: number | undefined;
  readonly grpcMessage: string;

  constructor(code: string, method: string, grpcStatus: number | undefined, grpcMessage: string, cause?: unknown) {
    const statusText = grpcStatus === undefined ? '' : ` status ${grpcStatus}`;
    super(code, `${method}:${statusText} ${grpcMessage}`.trim(), { cause });
    this.name = 'GrpcError';
    this.method = method;
    this.grpcStatus = grpcStatus;
    this.grpcMessage = grpcMessage;
  }
}

export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt8(0, 0);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** Splits a response body into its messages; throws on compressed or truncated frames. */
export function unframeMessages(body: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < body.length) {
    if (body.length - at < 5) throw new TortieError('ERR_GRPC_FRAME', `truncated frame header (${body.length - at} bytes)`);
    if (body.readUInt8(at) !== 0) throw new TortieError('ERR_GRPC_FRAME', 'compressed message (not negotiated)');
    const len = body.readUInt32BE(at + 1);
    if (at + 5 + len > body.length) throw new TortieError('ERR_GRPC_FRAME', `frame of ${len} bytes is truncated`);
    out.push(new Uint8Array(body.subarray(at + 5, at + 5 + len)));
    at += 5 + len;
  }
  return out;
}

function headerString(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** grpc-message is percent-encoded (gRPC over HTTP/2, "Responses"). */
function decodeGrpcMessage(raw: string | undefined): string {
  if (raw === undefined) return '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** One HTTP/2 connection to a gRPC server on a unix socket. */
export class GrpcUnixClient {
  readonly socketPath: string;
  private session: ClientHttp2Session | undefined;

  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  private getSession(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = connect('http://localhost', { createConnection: () => netConnect(this.socketPath) });
    // Errors surface on the streams; an idle session error must not crash the test run.
    session.on('error', () => undefined);
    // Do not keep the test process alive for an idle connection.
    session.unref();
    this.session = session;
    return session;
  }

  /** Sends one request message to `method` ("/pkg.Service/Method") and returns the one response message. */
  unary(method: string, request: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, value?: Uint8Array): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(value ?? new Uint8Array());
      };
      let stream;
      try {
        stream = this.getSession().request({
          [constants.HTTP2_HEADER_METHOD]: 'POST',
          [constants.HTTP2_HEADER_PATH]: method,
          [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
          te: 'trailers',
          'grpc-timeout': `${Math.max(1, Math.ceil(timeoutMs))}m`,
        });
      } catch (err) {
        finish(new GrpcError('ERR_GRPC_TRANSPORT', method, undefined, `cannot open stream on ${this.socketPath}`, err));
        return;
      }
      const req = stream;
      const timer = setTimeout(() => {
        req.close(constants.NGHTTP2_CANCEL);
        finish(new GrpcError('ERR_GRPC_TIMEOUT', method, GrpcStatus.DeadlineExceeded, `no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      const chunks: Buffer[] = [];
      let headers: IncomingHttpHeaders = {};
      let trailers: IncomingHttpHeaders = {};
      req.on('response', (h) => {
        headers = h;
      });
      req.on('trailers', (t: IncomingHttpHeaders) => {
        trailers = t;
      });
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('error', (err: Error) => finish(new GrpcError('ERR_GRPC_TRANSPORT', method, undefined, err.message, err)));
      req.on('end', () => {
        const httpStatus = Number(headerString(headers, constants.HTTP2_HEADER_STATUS) ?? 0);
        const statusRaw = headerString(trailers, 'grpc-status') ?? headerString(headers, 'grpc-status');
        const message = decodeGrpcMessage(headerString(trailers, 'grpc-message') ?? headerString(headers, 'grpc-message'));
        if (httpStatus !== 200) {
          finish(new GrpcError('ERR_GRPC_TRANSPORT', method, undefined, `HTTP status ${httpStatus} ${message}`));
          return;
        }
        if (statusRaw === undefined) {
          finish(new GrpcError('ERR_GRPC_TRANSPORT', method, undefined, 'reply ended without grpc-status'));
          return;
        }
        const status = Number(statusRaw);
        if (status !== GrpcStatus.Ok) {
          finish(new GrpcError('ERR_GRPC_STATUS', method, status, message));
          return;
        }
        try {
          const messages = unframeMessages(Buffer.concat(chunks));
          if (messages.length !== 1) throw new TortieError('ERR_GRPC_FRAME', `unary reply carried ${messages.length} messages`);
          finish(undefined, messages[0]);
        } catch (err) {
          finish(new GrpcError('ERR_GRPC_TRANSPORT', method, undefined, err instanceof Error ? err.message : String(err), err));
        }
      });
      req.end(frameMessage(request));
    });
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }
}
