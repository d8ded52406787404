import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer } from './helpers/nats-server.ts';
import { isAlive, ProcessRegistry, type DsiProcess } from './helpers/processes.ts';
import { waitFor } from './helpers/traffic.ts';

/**
 * `dsi up` as a user runs it: it builds the demo index when asked to, starts NATS, the
 * experts and the router, is ready quickly, and leaves no process behind after SIGTERM.
 */
let work: string;
let indexDir: string;
const processes = new ProcessRegistry();

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'dsi-up-'));
  indexDir = join(work, 'demo-index');
});

afterAll(async () => {
  await processes.killAll();
  rmSync(work, { recursive: true, force: true });
});

describe('dsi up', () => {
  it('--demo builds the missing index, answers the sample queries over HTTP and prints a curl line', async () => {
    const up = processes.spawnDsi(['up', '--demo', '--index', indexDir, '--port', '0']);
    const url = readyUrl(await up.waitForLine(/^dsi up: ready at /, 90_000));
    await up.waitForLine(/^try: +curl -s -X POST http:\/\/127\.0\.0\.1:\d+\/v1\/search/, 20_000);
    expect(up.stdout()).toMatch(/"real-time strategy game" +\(/);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    await stopAndExpectNoneLeft(up);
  }, 120_000);

  it('serves an existing index with two replicas per shard, ready in under 10 s, and stops every process it started', async () => {
    const started = performance.now();
    const up = processes.spawnDsi(['up', '--index', indexDir, '--port', '0', '--replicas', '2']);
    const url = readyUrl(await up.waitForLine(/^dsi up: ready at /, 30_000));
    expect(performance.now() - started).toBeLessThan(10_000);

    const response = await fetch(`${url}/v1/search`, { method: 'POST', body: JSON.stringify({ query: 'image viewer', k: 3 }) });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { results: unknown[] }).results).toHaveLength(3);
    const { shards } = (await (await fetch(`${url}/v1/shards`)).json()) as { shards: { live_replicas: number }[] };
    expect(shards.map((s) => s.live_replicas)).toEqual([2, 2]);

    const children = descendants(up.pid);
    expect(children.filter((c) => / expert /.test(c.cmd))).toHaveLength(4);
    expect(children.filter((c) => / router /.test(c.cmd))).toHaveLength(1);
    expect(children.filter((c) => /nats-server/.test(c.cmd))).toHaveLength(1);
    await stopAndExpectNoneLeft(up);
    // The experts drained rather than died.
    expect(up.lines().filter((l) => l.includes('"expert stopped"'))).toHaveLength(4);
  });

  it('restarts an expert or the router that dies, from the registry, and keeps the cluster up', async () => {
    const up = processes.spawnDsi(['up', '--index', indexDir, '--port', '0']);
    const url = readyUrl(await up.waitForLine(/^dsi up: ready at /, 30_000));
    const expert = descendants(up.pid).find((c) => / expert --shard s0 /.test(c.cmd))!;
    process.kill(expert.pid, 'SIGKILL');
    await up.waitForLine(/expert s0#1 .*restarting it/, 10_000);
    const router = descendants(up.pid).find((c) => / router /.test(c.cmd))!;
    process.kill(router.pid, 'SIGKILL');
    await up.waitForLine(/router .*restarting it/, 10_000);
    // Back: the same port, a new expert process for s0, every shard live again.
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, 30_000, 200);
    const experts = descendants(up.pid).filter((c) => / expert --shard s0 /.test(c.cmd));
    expect(experts).toHaveLength(1);
    expect(experts[0]!.pid).not.toBe(expert.pid);
    expect((await fetch(`${url}/v1/search`, { method: 'POST', body: JSON.stringify({ query: 'image viewer', k: 3 }) })).status).toBe(200);
    await stopAndExpectNoneLeft(up);
  }, 90_000);

  it('--nats joins a running server and leaves it running', async () => {
    const nats = await startNatsServer({ jetstream: true });
    try {
      const up = processes.spawnDsi(['up', '--index', indexDir, '--port', '0', '--nats', nats.url]);
      readyUrl(await up.waitForLine(/^dsi up: ready at /, 30_000));
      expect(descendants(up.pid).filter((c) => /nats-server/.test(c.cmd))).toEqual([]);
      await stopAndExpectNoneLeft(up);
      const { createConnection } = await import('node:net');
      await new Promise<void>((resolve, reject) => createConnection({ host: '127.0.0.1', port: nats.port }).once('connect', function (this: import('node:net').Socket) {
        this.destroy();
        resolve();
      }).once('error', reject));
    } finally {
      await nats.stop();
    }
  });

  it('says in one line how to install nats-server when it is not on PATH', async () => {
    const up = processes.spawnDsi(['up', '--index', indexDir, '--port', '0'], { PATH: '/nonexistent' });
    const exit = await up.exited(30_000);
    expect(exit.code).toBe(1);
    const lines = up.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/apt-get install -y nats-server/);
  });
});

function readyUrl(line: string): string {
  return /ready at (http:\/\/\S+)/.exec(line)![1]!;
}

async function stopAndExpectNoneLeft(up: DsiProcess): Promise<void> {
  const children = descendants(up.pid);
  expect(children.length).toBeGreaterThan(0);
  up.signal('SIGTERM');
  expect((await up.exited(30_000)).code).toBe(0);
  // Helper processes of the children's runtimes (tsx's esbuild service) end when their parent does, a moment later.
  const deadline = performance.now() + 3000;
  while (children.some((c) => isAlive(c.pid)) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(children.filter((c) => isAlive(c.pid))).toEqual([]);
}

interface Proc {
  pid: number;
  ppid: number;
  cmd: string;
}

/** Every process below `pid` (children, grandchildren…), from ps. */
function descendants(pid: number): Proc[] {
  const all = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => {
      const [, p, pp, cmd] = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line)!;
      return { pid: Number(p), ppid: Number(pp), cmd: cmd! };
    });
  const out: Proc[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const p of all) if (p.ppid === parent) (out.push(p), queue.push(p.pid));
  }
  return out;
}

