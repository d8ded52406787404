import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * A whole cluster on this machine for a load run, started the way a user starts one
 * (`dsi up`), on a free loopback port, and stopped (SIGTERM, which stops every process it
 * started) when the run is over.
 */
export interface LocalUp {
  readonly url: string;
  /** The NATS server of the cluster (its registry is where models are published), and the token it requires. */
  readonly natsUrl: string;
  readonly natsToken: string | undefined;
  /** The file `dsi up` keeps the token in, inside the server's temporary folder. */
  readonly natsTokenFile: string | undefined;
  readonly pid: number;
  stop(): Promise<void>;
}

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
const READY_TIMEOUT_MS = 180_000;

export async function startLocalUp(opts: { indexDir?: string; replicas: number; shardsPerExpert?: number; env: NodeJS.ProcessEnv; log: (line: string) => void; port?: number; readyTimeoutMs?: number }): Promise<LocalUp> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? READY_TIMEOUT_MS;
  // No index named: the demo's, built on first use by `dsi up --demo`.
  const args = [`${REPO}bin/dsi.js`, 'up', '--port', String(opts.port ?? 0), '--replicas', String(opts.replicas), '--shards-per-expert', String(opts.shardsPerExpert ?? 1), ...(opts.indexDir ? ['--index', opts.indexDir] : ['--demo'])];
  opts.log(`starting: dsi ${args.slice(1).join(' ')}`);
  const child = spawn(process.execPath, args, { cwd: REPO, env: { DSI_LOG_JSON: '1', DSI_LOG_LEVEL: 'warn', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let natsUrl = '';
  let natsTokenFile: string | undefined;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dsi up was not ready within ${readyTimeoutMs / 1000} s`)), readyTimeoutMs);
    let readyAt: string | undefined;
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^dsi up: ready at (\S+)/.exec(line);
      if (m) {
        natsUrl = /NATS (nats:\/\/[^\s);]+)/.exec(line)?.[1] ?? '';
        readyAt = m[1]!;
      }
      // After the ready line: how to reach the bus (when dsi up made its token), then the status page.
      natsTokenFile ??= /DSI_NATS_TOKEN=\$\(cat (\S+)\)/.exec(line)?.[1];
      if (readyAt && /^ +status page:/.test(line)) {
        clearTimeout(timer);
        resolve(readyAt);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`dsi up exited (${code}) before it was ready: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
  }).catch(async (error: unknown) => {
    child.kill('SIGTERM');
    await exited;
    throw error;
  });
  return {
    url,
    natsUrl,
    natsTokenFile,
    natsToken: natsTokenFile ? readFileSync(natsTokenFile, 'utf8').trim() : opts.env.DSI_NATS_TOKEN,
    pid: child.pid ?? -1,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
