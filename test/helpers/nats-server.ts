import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, freePort } from '../../cluster/up/ports.ts';
import type { BusCredentials } from '../../shared/bus/address.ts';

/**
 * A real `nats-server` (from PATH) on a free loopback port, for integration tests: the bus
 * is never mocked. Each server is killed when stopped, and with SIGKILL when the test
 * process exits without stopping it, so no server outlives its test file.
 */
export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  /** SIGTERM, wait for exit (SIGKILL after a few seconds), remove the JetStream store. */
  stop(): Promise<void>;
  /** Sends a signal and returns at once: SIGKILL for a crash, SIGUSR2 for lame duck mode. */
  kill(signal?: NodeJS.Signals): void;
  /** Starts the server again on the same port (after kill or stop), for reconnect tests. */
  restart(): Promise<void>;
}

/** Credentials given are required from clients (a token, or a user and password). */
export interface NatsServerOptions extends BusCredentials {
  jetstream?: boolean;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const PORT_ATTEMPTS = 5;

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const storeDir = opts.jetstream ? mkdtempSync(join(tmpdir(), 'dsi-nats-js-')) : undefined;
  let child: ChildProcess | undefined;
  let port = 0;
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const launch = async (fixedPort?: number): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      port = fixedPort ?? (await freePort(HOST));
      const args = ['-a', HOST, '-p', String(port)];
      if (storeDir) args.push('-js', '-sd', storeDir);
      if (opts.token) args.push('--auth', opts.token);
      if (opts.user) args.push('--user', opts.user, '--pass', opts.pass ?? '');
      const proc = spawn('nats-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      child = proc;
      let log = '';
      // Only the start-up lines matter (the ready line, a bind error): keep the first 64 KiB.
      proc.stderr?.on('data', (d: Buffer) => {
        if (log.length < 65_536) log += d.toString();
      });
      try {
        await waitUntilAccepting(proc, port, () => log);
        return;
      } catch (error) {
        proc.kill('SIGKILL');
        // Another process took the port between our probe and the server's bind: try another.
        if (fixedPort === undefined && attempt < PORT_ATTEMPTS && /address already in use/i.test(log)) continue;
        throw new Error(`nats-server did not start on port ${port}: ${(error as Error).message}\n${log.slice(-4000)}`);
      }
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
  };

  try {
    await launch();
  } catch (error) {
    process.removeListener('exit', killOnExit);
    if (storeDir) rmSync(storeDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `nats://${HOST}:${port}`,
    port,
    async stop() {
      await stop();
      process.removeListener('exit', killOnExit);
      if (storeDir) rmSync(storeDir, { recursive: true, force: true });
    },
    kill(signal = 'SIGTERM') {
      child?.kill(signal);
    },
    async restart() {
      await stop();
      await launch(port);
    },
  };
}

/**
 * Waits for the server's own "ready" line (so a foreign listener on the port is not taken
 * for it) and then for a TCP connection to succeed; fails early if the server exits.
 */
async function waitUntilAccepting(proc: ChildProcess, port: number, log: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`exited with ${proc.exitCode ?? proc.signalCode}`);
    if (/Server is ready/.test(log()) && (await canConnect(HOST, port))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not accepting connections after ${READY_TIMEOUT_MS} ms`);
}
