import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { spawn } from 'node:child_process';
import { connect as netConnect, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentHttpError, agentRequest, completeBody, dechunk, parseHead } from './agent-http.js';

describe('lib: agent-http framing', () => {
  const head = (text: string): NonNullable<ReturnType<typeof parseHead>> => parseHead(Buffer.from(text))!;

  it('waits for the whole head, then reads status and headers', () => {
    expect(parseHead(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n'))).to.equal(undefined);
    const raw = 'HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nX-A:  b \r\n\r\n{}';
    const h = head(raw);
    expect(h.status).to.equal(404);
    expect(h.headers.get('content-length')).to.equal('2');
    expect(h.headers.get('x-a')).to.equal('b');
    expect(h.bodyStart).to.equal(raw.indexOf('{}'));
  });
  it('rejects an answer that is not HTTP', () => {
    expect(() => parseHead(Buffer.from('SSH-2.0-x\r\n\r\n'))).to.throw(AgentHttpError).with.property('errno', 'EBADMSG');
  });

  const cases: { name: string; raw: string; eof: boolean; body: string | undefined }[] = [
    { name: 'content-length, complete', raw: 'HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\n{"a":1}', eof: false, body: '{"a":1}' },
    { name: 'content-length, short', raw: 'HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\n{"a":1}', eof: false, body: undefined },
    { name: 'chunked, complete', raw: 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\n{"a\r\n4\r\n":1}\r\n0\r\n\r\n', eof: false, body: '{"a":1}' },
    { name: 'chunked, incomplete', raw: 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\n{"a\r\n', eof: false, body: undefined },
    { name: 'no length: body runs to EOF', raw: 'HTTP/1.1 200 OK\r\n\r\n{"a":1}', eof: true, body: '{"a":1}' },
    { name: 'no length, before EOF', raw: 'HTTP/1.1 200 OK\r\n\r\n{"a":1}', eof: false, body: undefined },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const buf = Buffer.from(c.raw);
      expect(completeBody(buf, head(c.raw), c.eof)?.toString()).to.equal(c.body);
    });
  }
  it('rejects a bad chunk size', () => {
    expect(() => dechunk(Buffer.from('zz\r\nab\r\n0\r\n\r\n'))).to.throw(AgentHttpError);
  });
});

describe('lib: agent-http against a real server', () => {
  let dir: string;
  const servers: Server[] = [];
  const conns = new Set<Socket>();
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tortie-agent-http-'));
  });
  after(async () => {
    for (const c of conns) c.destroy();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    rmSync(dir, { recursive: true, force: true });
  });
  const listen = <S extends Server>(server: S, name: string): Promise<string> => {
    servers.push(server);
    server.on('connection', (c: Socket) => conns.add(c));
    const path = join(dir, name);
    return new Promise((resolve) => server.listen(path, () => resolve(path)));
  };

  it('sends method, path and JSON body; returns the status and parsed body (node:http server)', async () => {
    const seen: unknown[] = [];
    const socket = await listen(
      createHttpServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          seen.push({ method: req.method, url: req.url, type: req.headers['content-type'], body: Buffer.concat(chunks).toString() });
          const body = JSON.stringify({ error: 'nope', code: 'ERR_POLICY_DISABLED' });
          res.writeHead(409, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        });
      }),
      'http.sock',
    );
    const r = await agentRequest(socket, 'POST', '/v1/x?a=1', { ifName: 'tortie1' }, 5000);
    expect(r).to.deep.equal({ status: 409, body: { error: 'nope', code: 'ERR_POLICY_DISABLED' } });
    expect(seen).to.deep.equal([{ method: 'POST', url: '/v1/x?a=1', type: 'application/json', body: '{"ifName":"tortie1"}' }]);
  });
  it('reads a chunked answer (a server that streams)', async () => {
    const socket = await listen(
      createHttpServer((_req, res) => {
        res.write('{"ok":');
        res.end('true}');
      }),
      'chunked.sock',
    );
    expect(await agentRequest(socket, 'GET', '/', undefined, 5000)).to.deep.equal({ status: 200, body: { ok: true } });
  });
  it('ENOENT when there is no socket, ECONNREFUSED when nothing listens on it', async () => {
    const gone = await agentRequest(join(dir, 'none.sock'), 'GET', '/', undefined, 5000).catch((e: unknown) => e);
    expect(gone).to.be.instanceOf(AgentHttpError).with.property('errno', 'ENOENT');
    const stale = join(dir, 'stale.sock');
    writeFileSync(stale, '');
    const refused = await agentRequest(stale, 'GET', '/', undefined, 5000).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(AgentHttpError).with.property('errno', 'ECONNREFUSED');
  });
  it('ECONNRESET when the server closes before a full answer', async () => {
    const socket = await listen(
      createNetServer((s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{"a"')),
      'short.sock',
    );
    const err = await agentRequest(socket, 'GET', '/', undefined, 5000).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(AgentHttpError).with.property('errno', 'ECONNRESET');
  });
  it('ETIMEDOUT when the server never answers', async () => {
    const socket = await listen(createNetServer(() => undefined), 'mute.sock');
    const t0 = Date.now();
    const err = await agentRequest(socket, 'GET', '/', undefined, 150).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(AgentHttpError).with.property('errno', 'ETIMEDOUT');
    expect(Date.now() - t0).to.be.lessThan(2000);
  });
  it('a full accept queue (EAGAIN) is waited out: the connect is retried until the agent accepts', async function () {
    this.timeout(15_000);
    // The server runs in a child whose event loop we can stall, with the smallest accept queue.
    const path = join(dir, 'busy.sock');
    const child = spawn(process.execPath, ['-e', `
      const net = require('node:net');
      const srv = net.createServer((s) => { s.on('error', () => {}); s.end('HTTP/1.1 200 OK\\r\\ncontent-length: 11\\r\\n\\r\\n{"ok":true}'); });
      srv.listen({ path: process.argv[1], backlog: 1 }, () => process.stdout.write('ready\\n'));
      process.stdin.once('data', () => { process.stdout.write('stalled\\n'); const until = Date.now() + 600; while (Date.now() < until); });
    `, path], { stdio: ['pipe', 'pipe', 'inherit'] });
    const fillers: Socket[] = [];
    try {
      let out = '';
      const saw = (word: string): Promise<void> => new Promise((resolve) => {
        const check = (): void => {
          if (out.includes(word)) resolve();
          else child.stdout.once('data', (b: Buffer) => { out += b.toString(); check(); });
        };
        check();
      });
      await saw('ready');
      child.stdin.write('x');
      await saw('stalled');
      // Fill the queue until a connect is refused with EAGAIN.
      let refused = 0;
      for (let i = 0; i < 16 && refused === 0; i++) {
        refused += await new Promise<number>((resolve) => {
          const s = netConnect(path);
          fillers.push(s);
          s.on('connect', () => resolve(0));
          s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'EAGAIN' ? 1 : 0));
        });
      }
      expect(refused, 'the accept queue filled up').to.equal(1);
      const r = await agentRequest(path, 'POST', '/v1/ipam/assign', { handle: 'h' }, 10_000);
      expect(r).to.deep.equal({ status: 200, body: { ok: true } });
    } finally {
      for (const s of fillers) s.destroy();
      child.kill('SIGKILL');
    }
  });
  it('a non-JSON body becomes an ERR_API_BAD_RESPONSE body, like the node:http clients', async () => {
    const socket = await listen(createNetServer((s) => s.end('HTTP/1.1 502 Bad\r\ncontent-length: 5\r\n\r\noops!')), 'html.sock');
    const r = await agentRequest(socket, 'GET', '/', undefined, 5000);
    expect(r.status).to.equal(502);
    expect(r.body).to.have.property('code', 'ERR_API_BAD_RESPONSE');
  });
});
