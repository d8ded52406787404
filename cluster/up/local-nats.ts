import { accessSync, constants } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { BusCredentials } from '../../shared/bus/address.ts';
import { BusUnavailableError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { describeExit, spawnChild, type ManagedChild } from './children.ts';
import { newStoreDir, recordOwners, removeStaleStores } from './nats-store.ts';
import { canConnect, freePort } from './ports.ts';

/**
 * A nats-server that `dsi up` started for itself, on a free loopback port, with JetStream
 * in a temporary folder. When setpriv (util-linux) is there, the server is started through
 * `setpriv --pdeathsig SIGTERM`: the kernel stops it if `dsi up` dies without stopping it.
 */
export interface LocalNats {
  readonly url: string;
  readonly child: ManagedChild;
  /** File holding the token the server requires (mode 0600), when it requires one. */
  readonly tokenFile: string | undefined;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;
const PORT_ATTEMPTS = 5;
export const NATS_INSTALL_HINT = 'nats-server is not on PATH: install it with apt-get install -y nats-server (or run bin/setup), or join a running server with --nats URL';

/** Starts nats-server, found on `path` (the PATH of the command's environment). */
export async function startLocalNats(path: string, log: Logger, auth: BusCredentials = {}): Promise<LocalNats> {
  const binary = findOnPath('nats-server', path);
  if (!binary) throw new BusUnavailableError(NATS_INSTALL_HINT);
  await removeStaleStores(log);
  const guard = findOnPath('setpriv', path);
  if (!guard) log.warn('setpriv (util-linux) is not on PATH: nats-server would outlive dsi up if dsi up were killed');
  const storeDir = await newStoreDir();
  const tokenFile = auth.token ? join(storeDir, 'token') : undefined;
  if (tokenFile) await writeFile(tokenFile, `${auth.token}\n`, { mode: 0o600 });
  for (let attempt = 1; ; attempt++) {
    const port = await freePort(HOST);
    // Credentials go in a config file rather than argv, where `ps` would show them.
    const args = ['-a', HOST, '-p', String(port), '-js', '-sd', storeDir, ...(await authConfig(storeDir, auth))];
    const command = guard ? { command: guard, args: ['--pdeathsig', 'SIGTERM', binary, ...args] } : { command: binary, args };
    const child = spawnChild({ name: 'nats-server', ...command, env: { PATH: path }, stdio: ['ignore', 'ignore', 'pipe'] }, log);
    // setpriv execs the server in place: the pid is the server's.
    await recordOwners(storeDir, { supervisor: process.pid, server: child.pid });
    let output = '';
    // Only start-up lines matter (the ready line, a bind error): keep the first 64 KiB, drop the rest.
    child.stderr?.on('data', (chunk: Buffer) => {
      if (output.length < 65_536) output += chunk.toString();
    });
    const failure = await waitReady(child, port, () => output);
    if (failure === undefined) {
      const url = `nats://${HOST}:${port}`;
      log.info({ url, pid: child.pid }, 'nats-server started');
      return {
        url,
        child,
        tokenFile,
        async stop() {
          await child.stop('SIGTERM', 5000);
          await rm(storeDir, { recursive: true, force: true });
        },
      };
    }
    await child.stop('SIGKILL');
    // Another process took the port between our probe and the server's bind: try another.
    if (attempt < PORT_ATTEMPTS && /address already in use/i.test(output)) continue;
    await rm(storeDir, { recursive: true, force: true });
    throw new BusUnavailableError(`nats-server did not start on ${HOST}:${port}: ${failure}; its last lines:\n${output.trim().split('\n').slice(-5).join('\n')}`);
  }
}

/** `-c FILE` with an authorization block when credentials are given; nothing otherwise. */
async function authConfig(dir: string, auth: BusCredentials): Promise<string[]> {
  if (!auth.token && !(auth.user && auth.pass)) return [];
  const file = join(dir, 'auth.conf');
  const block = auth.token ? `authorization { token: ${JSON.stringify(auth.token)} }` : `authorization { user: ${JSON.stringify(auth.user)}, password: ${JSON.stringify(auth.pass)} }`;
  await writeFile(file, `${block}\n`, { mode: 0o600 });
  return ['-c', file];
}

function findOnPath(name: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Waits for the server's own ready line, then for a TCP connection to succeed; the reason when it does not. */
async function waitReady(child: ManagedChild, port: number, output: () => string): Promise<string | undefined> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  let exit: string | undefined;
  void child.exited.then((e) => (exit = describeExit(e)));
  while (performance.now() < deadline) {
    if (exit) return exit;
    if (/Server is ready/.test(output()) && (await canConnect(HOST, port))) return undefined;
    await new Promise((r) => setTimeout(r, 50));
  }
  return `not ready after ${READY_TIMEOUT_MS} ms`;
}
