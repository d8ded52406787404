import { Agent, request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/**
 * One HTTP exchange at a time per call, over keep-alive connections shared by the whole
 * run (as k6 reuses each VU's connection). node:http directly rather than fetch: less
 * work per request in the generator, which shares the cores with the cluster under test.
 */
export interface Exchange {
  /** 0 when no answer came (socket error or timeout). */
  readonly status: number;
  readonly body: string;
  readonly ms: number;
  /** The socket error's code, or 'timeout'; undefined when an answer came. */
  readonly error?: string;
}

export interface HttpClient {
  send(method: string, path: string, body: string | Buffer | undefined, headers?: Record<string, string>): Promise<Exchange>;
  close(): void;
}

export function httpClient(baseUrl: string, options: { maxSockets: number; timeoutMs: number; headers?: Record<string, string> }): HttpClient {
  const base = new URL(baseUrl);
  const secure = base.protocol === 'https:';
  const agent = new (secure ? HttpsAgent : Agent)({ keepAlive: true, maxSockets: options.maxSockets, maxFreeSockets: options.maxSockets });
  const send = secure ? httpsRequest : request;
  const prefix = base.pathname.replace(/\/+$/, '');
  return {
    send(method, path, body, headers) {
      return new Promise((resolve) => {
        const started = performance.now();
        let settled = false;
        const done = (exchange: Exchange) => {
          if (settled) return;
          settled = true;
          resolve(exchange);
        };
        const req = send(
          { protocol: base.protocol, hostname: base.hostname, port: base.port, path: prefix + path, method, agent, headers: { ...options.headers, ...headers, ...(body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }) } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
            res.on('error', (e: NodeJS.ErrnoException) => done({ status: 0, body: '', ms: performance.now() - started, error: e.code ?? 'response_error' }));
          },
        );
        req.setTimeout(options.timeoutMs, () => {
          done({ status: 0, body: '', ms: performance.now() - started, error: 'timeout' });
          req.destroy();
        });
        req.on('error', (e: NodeJS.ErrnoException) => done({ status: 0, body: '', ms: performance.now() - started, error: e.code ?? 'socket_error' }));
        req.end(body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
