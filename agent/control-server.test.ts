/**
 * The control socket's own HTTP/1.1 (agent/control-server.ts): framing
 * (Content-Length in pieces, chunked, Expect: 100-continue), refusals (bad
 * request line, bad JSON, head and body limits, unknown endpoint, handler
 * errors mapped to statuses), one request per connection, and stop() with a
 * connection still open. Clients: raw node:net for exact bytes, node:http
 * and lib/agent-http.ts as the real callers.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentRequest } from '../lib/agent-http.js';
import { TortieError } from '../lib/errors.js';
import { silentLogger } from '../lib/log.js';
import { ControlServer, MAX_BODY_BYTES, MAX_HEAD_BYTES } from './control-server.js';

/** Sends `parts` (with a pause between them), returns everything the server sent until it closed. */
function raw(sock: string, parts: (string | Buffer)[], opts: { pauseMs?: number; waitFor100?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(sock);
    let got = '';
    let continued: (() => void) | undefined;
    s.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      if (continued && got.includes('100 Continue\r\n\r\n')) continued();
    });
    s.on('close', () => resolve(got));
    s.on('error', reject);
    s.on('connect', () => {
      void (async () => {
        for (const [i, p] of parts.entries()) {
          if (i > 0 && opts.waitFor100 === true && i === 1) await new Promise<void>((r) => (continued = r));
          else if (i > 0) await new Promise((r) => setTimeout(r, opts.pauseMs ?? 0));
          s.write(p);
        }
      })();
    });
  });
}

function statusOf(answer: string): number {
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(answer.slice(answer.lastIndexOf('HTTP/1.1 ')))?.[1]);
}

function bodyOf(answer: string): unknown {
  return JSON.parse(answer.slice(answer.lastIndexOf('\r\n\r\n') + 4)) as unknown;
}

describe('agent: control server (HTTP/1.1 on the unix socket)', () => {
  let dir: string;
  let sock: string;
  let server: ControlServer;
  let seen: { search: string; body: unknown }[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tortie-ctlsrv-'));
    sock = join(dir, 'ctl.sock');
    server = new ControlServer(sock, {
      'GET /v1/echo': (url) => ({ search: url.search }),
      'POST /v1/echo': (url, body) => {
        seen.push({ search: url.search, body });
        return { got: body };
      },
      'GET /v1/things/*': (url) => ({ path: url.pathname }),
      'POST /v1/exhausted': () => {
        throw new TortieError('ERR_IPAM_POOL_EXHAUSTED', 'pool p: no free block');
      },
      'GET /v1/broken': () => {
        throw new Error('boom');
      },
      'GET /v1/slow': async () => {
        await new Promise((r) => setTimeout(r, 50));
        return { slow: true };
      },
    }, silentLogger);
    await server.start();
  });
  beforeEach(() => {
    seen = [];
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a GET with JSON, a Content-Length and connection: close, then closes', async () => {
    const a = await raw(sock, ['GET /v1/echo?x=1 HTTP/1.1\r\nhost: x\r\n\r\n']);
    expect(statusOf(a)).to.equal(200);
    expect(a).to.match(/\r\ncontent-type: application\/json\r\n/);
    expect(a).to.match(/\r\nconnection: close\r\n/);
    const len = Number(/content-length: (\d+)/.exec(a)?.[1]);
    expect(Buffer.byteLength(a.slice(a.indexOf('\r\n\r\n') + 4), 'latin1')).to.equal(len);
    expect(bodyOf(a)).to.deep.equal({ search: '?x=1' });
  });

  it('reads a body that arrives a few bytes at a time', async () => {
    const body = JSON.stringify({ containerId: 'c1', note: 'ü' });
    const msg = Buffer.from(`POST /v1/echo HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    const parts: Buffer[] = [];
    for (let i = 0; i < msg.length; i += 7) parts.push(msg.subarray(i, i + 7));
    const a = await raw(sock, parts, { pauseMs: 1 });
    expect(statusOf(a)).to.equal(200);
    expect(seen).to.deep.equal([{ search: '', body: { containerId: 'c1', note: 'ü' } }]);
  });

  it('reads a chunked body (node:http without a Content-Length)', async () => {
    const answer = await new Promise<{ status: number; text: string; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = request({ socketPath: sock, path: '/v1/echo?via=http', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
      });
      req.on('error', reject);
      req.write('{"a":');
      setTimeout(() => req.end('[1,2,3]}'), 5);
    });
    expect(answer.status).to.equal(200);
    expect(answer.headers.connection).to.equal('close');
    expect(JSON.parse(answer.text)).to.deep.equal({ got: { a: [1, 2, 3] } });
    expect(seen).to.deep.equal([{ search: '?via=http', body: { a: [1, 2, 3] } }]);
  });

  it('answers Expect: 100-continue before the body is sent', async () => {
    const body = '{"big":true}';
    const a = await raw(sock, [
      `POST /v1/echo HTTP/1.1\r\nexpect: 100-continue\r\ncontent-length: ${body.length}\r\n\r\n`,
      body,
    ], { waitFor100: true });
    expect(a.startsWith('HTTP/1.1 100 Continue\r\n\r\n')).to.equal(true);
    expect(statusOf(a)).to.equal(200);
    expect(bodyOf(a)).to.deep.equal({ got: { big: true } });
  });

  it('serves lib/agent-http.ts, the transport of tortiectl and the plugins', async () => {
    const r = await agentRequest(sock, 'POST', '/v1/echo', { k: 'v' }, 5000);
    expect(r).to.deep.equal({ status: 200, body: { got: { k: 'v' } } });
    const slow = await agentRequest(sock, 'GET', '/v1/slow', undefined, 5000);
    expect(slow).to.deep.equal({ status: 200, body: { slow: true } });
    const star = await agentRequest(sock, 'GET', '/v1/things/a/b', undefined, 5000);
    expect(star.body).to.deep.equal({ path: '/v1/things/a/b' });
  });

  it('reads a body of megabytes (a CNI GC list of many attachments)', async () => {
    const attachments = Array.from({ length: 20_000 }, (_, i) => ({ containerID: `c${String(i).padStart(60, '0')}`, ifname: 'eth0' }));
    const r = await agentRequest(sock, 'POST', '/v1/echo', { attachments }, 10_000);
    expect(r.status).to.equal(200);
    expect(Buffer.byteLength(JSON.stringify(attachments))).to.be.greaterThan(1_000_000);
    expect((seen[0].body as { attachments: unknown[] }).attachments).to.deep.equal(attachments);
  });

  it('maps errors: unknown endpoint 404, bad JSON 400, a refusal 409, a crash 500', async () => {
    const nf = await agentRequest(sock, 'GET', '/v1/nope', undefined, 5000);
    expect(nf.status).to.equal(404);
    expect(nf.body).to.deep.include({ code: 'ERR_API_NOT_FOUND' });
    const badJson = await raw(sock, ['POST /v1/echo HTTP/1.1\r\ncontent-length: 5\r\n\r\n{"a":']);
    expect(statusOf(badJson)).to.equal(400);
    const ex = await agentRequest(sock, 'POST', '/v1/exhausted', {}, 5000);
    expect(ex).to.deep.equal({ status: 409, body: { error: 'pool p: no free block', code: 'ERR_IPAM_POOL_EXHAUSTED' } });
    const boom = await agentRequest(sock, 'GET', '/v1/broken', undefined, 5000);
    expect(boom).to.deep.equal({ status: 500, body: { error: 'boom', code: 'ERR_API_INTERNAL' } });
  });

  for (const [what, msg, status] of [
    ['a request line that is not HTTP', 'HELLO\r\n\r\n', 400],
    ['a header line without a colon', 'GET /v1/echo HTTP/1.1\r\nbroken\r\n\r\n', 400],
    ['a negative content-length', 'POST /v1/echo HTTP/1.1\r\ncontent-length: -1\r\n\r\n', 400],
    ['two different content-lengths', 'POST /v1/echo HTTP/1.1\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}', 400],
    ['content-length with transfer-encoding', 'POST /v1/echo HTTP/1.1\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n{}', 400],
    ['a transfer-encoding other than chunked', 'POST /v1/echo HTTP/1.1\r\ntransfer-encoding: gzip\r\n\r\n', 400],
    ['a bad chunk size', 'POST /v1/echo HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n', 400],
    ['a chunked body over the limit', 'POST /v1/echo HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n900000\r\n', 413],
    ['a chunk without its CRLF', 'POST /v1/echo HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}xx0\r\n\r\n', 400],
    ['a body over the limit', `POST /v1/echo HTTP/1.1\r\ncontent-length: ${MAX_BODY_BYTES + 1}\r\n\r\n`, 413],
    ['a head over the limit', `GET /v1/echo HTTP/1.1\r\nx-pad: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`, 431],
    ['a head over the limit, still without its blank line', `GET /v1/echo HTTP/1.1\r\nx-pad: ${'a'.repeat(MAX_HEAD_BYTES + 10)}`, 431],
  ] as const) {
    it(`refuses ${what} with ${status} and closes`, async () => {
      const a = await raw(sock, [msg]);
      expect(statusOf(a), a.slice(0, 200)).to.equal(status);
      expect(bodyOf(a)).to.deep.include({ code: 'ERR_API_BAD_REQUEST' });
      expect(seen).to.deep.equal([]);
    });
  }

  it('answers one request per connection: bytes after it are ignored', async () => {
    const a = await raw(sock, ['GET /v1/echo?n=1 HTTP/1.1\r\n\r\nGET /v1/echo?n=2 HTTP/1.1\r\n\r\n']);
    expect(a.match(/HTTP\/1\.1 200 /g)).to.have.length(1);
    expect(bodyOf(a)).to.deep.equal({ search: '?n=1' });
  });

  it('stop() closes a connection whose request never completed, and the socket file goes', async () => {
    const d = mkdtempSync(join(tmpdir(), 'tortie-ctlsrv-stop-'));
    const s2 = join(d, 'ctl.sock');
    const srv = new ControlServer(s2, { 'GET /x': () => ({}) }, silentLogger);
    await srv.start();
    try {
      const closed = raw(s2, ['GET /x HTTP/1.1\r\n']); // no blank line: the request stays incomplete
      await new Promise((r) => setTimeout(r, 20));
      await srv.stop();
      expect(await closed).to.equal('');
      const err = await agentRequest(s2, 'GET', '/x', undefined, 1000).then(() => undefined, (e: unknown) => e as { errno?: string });
      expect(err?.errno).to.be.oneOf(['ENOENT', 'ECONNREFUSED']);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
