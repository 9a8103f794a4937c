/** The client side of the control API, for tortiectl and tests. */
import { request } from 'node:http';
import { TortieError } from '../lib/errors.js';

export class ControlClient {
  constructor(readonly socketPath: string, private readonly timeoutMs = 10000) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request({ socketPath: this.socketPath, path, method, timeout: this.timeoutMs, headers: payload ? { 'content-type': 'application/json' } : {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let value: unknown;
          try {
            value = JSON.parse(text);
          } catch {
            reject(new TortieError('ERR_API_BAD_RESPONSE', `agent answered ${res.statusCode ?? '?'} with non-JSON: ${text.slice(0, 200)}`));
            return;
          }
          if ((res.statusCode ?? 500) >= 400) {
            const e = value as { error?: string; code?: string };
            reject(new TortieError(e.code ?? 'ERR_API', e.error ?? `HTTP ${res.statusCode}`));
            return;
          }
          resolve(value as T);
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
          reject(new TortieError('ERR_AGENT_NOT_RUNNING',
            `tortie-agent is not running (nothing answers on ${this.socketPath}: ${err.code}). Start it, or point --socket at its control socket.`, { cause: err }));
        } else if (err.code === 'EACCES') {
          reject(new TortieError('ERR_AGENT_ACCESS', `permission denied on ${this.socketPath}: the control socket is root-only (mode 0600)`, { cause: err }));
        } else {
          reject(new TortieError('ERR_API', `control API call ${method} ${path} failed: ${err.message}`, { cause: err }));
        }
      });
      if (payload) req.write(payload);
      req.end();
    });
  }
}
