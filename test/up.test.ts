import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../cluster/up/ports.ts';
import { connectBus } from '../shared/bus/connection.ts';
import { BusUnavailableError } from '../shared/errors.ts';
import { createLogger } from '../shared/log.ts';
import { launchChromium, TEST_OUTPUT } from './helpers/browser.ts';
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

describe('dsi up --demo', () => {
  let up: DsiProcess;
  let url: string;
  let ready: string;

  beforeAll(async () => {
    up = processes.spawnDsi(['up', '--demo', '--index', indexDir, '--port', '0']);
    ready = await up.waitForLine(/^dsi up: ready at /, 90_000);
    url = readyUrl(ready);
    await up.waitForLine(/^try: +curl -s -X POST http:\/\/127\.0\.0\.1:\d+\/v1\/search/, 20_000);
  }, 120_000);

  it('builds the missing index, answers the sample queries over HTTP and prints a curl line', async () => {
    expect(up.stdout()).toMatch(/"real-time strategy game" +\(/);
    expect(up.stdout()).toContain(`status page: ${url}/`);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });

  it('serves the status page: in a real browser a search shows its results, and the shards table and the four charts are drawn', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1200 } });
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.goto(`${url}/`);
      await page.fill('#query', 'command-line audio player');
      await page.click('#search-form button[type=submit]');
      const rows = page.locator('#results tbody tr');
      await rows.first().waitFor({ timeout: 10_000 });
      const results = await rows.evaluateAll((trs) => trs.map((tr) => Array.from((tr as unknown as { cells: { textContent: string }[] }).cells, (td) => td.textContent)));
      expect(results).toHaveLength(10);
      for (const [rank, score, docid, title, shard, id] of results) {
        expect(Number(rank)).toBeGreaterThan(0);
        expect(Number.isFinite(Number(score))).toBe(true);
        expect(docid).toMatch(/^\d+(-\d+)+$/);
        expect(title).not.toBe('');
        expect(shard).toMatch(/^s[01] v1$/);
        expect(id).toMatch(/^deb\d+$/);
      }
      // Best first, by the fused score the shards answered with.
      const scores = results.map((r) => Number(r[1]));
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      const shards = await page.locator('#shards tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from((tr as unknown as { cells: { textContent: string }[] }).cells, (td) => td.textContent)));
      expect(shards.map((r) => r[0])).toEqual(['s0', 's1']);
      for (const row of shards) {
        expect(row).toHaveLength(10);
        expect(row[4]).toBe('1');
        expect(Number(row[5])).toBeGreaterThan(0);
      }
      // The live plots have the searches sent so far (the sample queries, this one) once the page has refreshed.
      await page.waitForFunction(PAGE_HAS_TRAFFIC, undefined, { timeout: 10_000 });
      const charts = (await page.evaluate(CHART_STATE)) as Record<string, { points: number[]; painted: boolean[] }>;
      expect(charts).toEqual({
        'chart-collision': { points: [2], painted: [true] },
        'chart-recall': { points: [2, 2], painted: [true, true] },
        'chart-rate': { points: [expect.any(Number), expect.any(Number)], painted: [true, true] },
        'chart-latency': { points: [expect.any(Number), expect.any(Number)], painted: [true, true] },
      });
      expect(await page.locator('#readiness').textContent()).toBe('ready');
      expect(await page.locator('#token-form').isHidden()).toBe(true);
      expect(pageErrors).toEqual([]);
      mkdirSync(TEST_OUTPUT, { recursive: true });
      await page.screenshot({ path: join(TEST_OUTPUT, 'status-page.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it('keeps its bus closed: it made a token, and a client without it is refused', async () => {
    const natsUrl = /NATS (nats:\/\/[^;)\s]+)/.exec(ready)![1]!;
    const tokenFile = /DSI_NATS_TOKEN=\$\(cat (\S+)\)/.exec(up.stdout())![1]!;
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const log = createLogger({ name: 'up-test', level: 'silent' });
    await expect(connectBus({ url: natsUrl, name: 'no-token', log })).rejects.toBeInstanceOf(BusUnavailableError);
    await expect(connectBus({ url: natsUrl, name: 'wrong-token', token: 'not-the-token-at-all', log })).rejects.toBeInstanceOf(BusUnavailableError);
    const bus = await connectBus({ url: natsUrl, name: 'with-token', token: readFileSync(tokenFile, 'utf8').trim(), log });
    await bus.close();
  });

  it('stops every process it started on SIGTERM', async () => {
    await stopAndExpectNoneLeft(up);
  });
});

describe('dsi up', () => {
  it('serves an existing index with two replicas per shard, ready in under 20 s beside the rest of the suite, and stops every process it started', async () => {
    const started = performance.now();
    const up = processes.spawnDsi(['up', '--index', indexDir, '--port', '0', '--replicas', '2']);
    const url = readyUrl(await up.waitForLine(/^dsi up: ready at /, 30_000));
    // About 9 s on a quiet 2-core machine, where five processes start at once, each loading
    // TensorFlow.js; 16 s with one core taken. The suite trains models in other files beside
    // this one, so the bound leaves room for that.
    expect(performance.now() - started).toBeLessThan(20_000);

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

  it('serves both shards from one expert process with --shards-per-expert 2, restarts it or the router when one dies, and keeps the cluster up', async () => {
    const up = processes.spawnDsi(['up', '--index', indexDir, '--port', '0', '--shards-per-expert', '2']);
    const url = readyUrl(await up.waitForLine(/^dsi up: ready at /, 30_000));
    const both = / expert --shard s0 --shard s1 /;
    const expert = descendants(up.pid).find((c) => both.test(c.cmd))!;
    expect(descendants(up.pid).filter((c) => / expert /.test(c.cmd))).toHaveLength(1);
    process.kill(expert.pid, 'SIGKILL');
    await up.waitForLine(/expert s0\+s1#1 .*restarting it/, 10_000);
    const router = descendants(up.pid).find((c) => / router /.test(c.cmd))!;
    process.kill(router.pid, 'SIGKILL');
    await up.waitForLine(/router .*restarting it/, 10_000);
    // Back: the same port, a new expert process for both shards, every shard live again.
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, 30_000, 200);
    const experts = descendants(up.pid).filter((c) => / expert /.test(c.cmd));
    expect(experts).toHaveLength(1);
    expect(experts[0]!.cmd).toMatch(both);
    expect(experts[0]!.pid).not.toBe(expert.pid);
    const { shards } = (await (await fetch(`${url}/v1/shards`)).json()) as { shards: { live_replicas: number }[] };
    expect(shards.map((s) => s.live_replicas)).toEqual([1, 1]);
    expect((await fetch(`${url}/v1/search`, { method: 'POST', body: JSON.stringify({ query: 'image viewer', k: 3 }) })).status).toBe(200);
    await stopAndExpectNoneLeft(up);
  }, 90_000);

  it('leaves nothing behind when it is killed (SIGKILL): within 5 s every process it started is gone, and a new dsi up on the same port is ready', async () => {
    const port = await freePort();
    const first = processes.spawnDsi(['up', '--index', indexDir, '--port', String(port)]);
    const url = readyUrl(await first.waitForLine(/^dsi up: ready at /, 30_000));
    const tokenFile = /DSI_NATS_TOKEN=\$\(cat (\S+)\)/.exec(await first.waitForLine(/DSI_NATS_TOKEN=/, 5000))![1]!;
    const started = descendants(first.pid);
    expect(started.filter((c) => / expert /.test(c.cmd))).toHaveLength(2);
    expect(started.filter((c) => / router /.test(c.cmd))).toHaveLength(1);
    expect(started.filter((c) => /nats-server/.test(c.cmd))).toHaveLength(1);

    first.signal('SIGKILL');
    const killedAt = performance.now();
    await waitFor(async () => started.every((c) => !isAlive(c.pid)), 5000, 50);
    expect(performance.now() - killedAt).toBeLessThan(5000);
    // The children's output went to the same pipe: it ends once the last of them has exited.
    await first.exited(5000);
    // Experts and router stopped the graceful way, as on SIGTERM.
    expect(first.lines().filter((l) => l.includes('"expert stopped"'))).toHaveLength(2);
    expect(first.lines().filter((l) => l.includes('"router stopped"'))).toHaveLength(1);
    expect(existsSync(dirname(tokenFile))).toBe(true);

    const second = processes.spawnDsi(['up', '--index', indexDir, '--port', String(port)]);
    expect(readyUrl(await second.waitForLine(/^dsi up: ready at /, 30_000))).toBe(url);
    // The dead one's NATS folder (JetStream data, auth config, token) is removed by the next start.
    expect(existsSync(dirname(tokenFile))).toBe(false);
    expect((await fetch(`${url}/v1/search`, { method: 'POST', body: JSON.stringify({ query: 'image viewer', k: 3 }) })).status).toBe(200);
    await stopAndExpectNoneLeft(second);
  });

  it('--nats joins a running server and leaves it running; DSI_CHILD_NODE_ARGS reaches every child', async () => {
    const nats = await startNatsServer({ jetstream: true });
    try {
      const up = processes.spawnDsi(['up', '--index', indexDir, '--port', '0', '--nats', nats.url], { DSI_CHILD_NODE_ARGS: '--max-semi-space-size=16' });
      readyUrl(await up.waitForLine(/^dsi up: ready at /, 30_000));
      expect(descendants(up.pid).filter((c) => /nats-server/.test(c.cmd))).toEqual([]);
      const children = descendants(up.pid).filter((c) => / (expert|router) /.test(c.cmd));
      expect(children).toHaveLength(3);
      for (const child of children) expect(child.cmd).toMatch(/--max-semi-space-size=16 .*bin\/dsi\.js/);
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

/** Runs in the page: whether the live plot of searches per second has a point above zero. */
const PAGE_HAS_TRAFFIC = `Chart.getChart('chart-rate')?.data.datasets[0].data.some((p) => p.y > 0) === true`;

/**
 * Runs in the page: for each chart, the number of values of each dataset, and whether the
 * dataset's colour was painted on the chart's canvas (bars and lines drawn, not just axes).
 */
const CHART_STATE = `(() => {
  const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const state = {};
  for (const id of ['chart-collision', 'chart-recall', 'chart-rate', 'chart-latency']) {
    const chart = Chart.getChart(id);
    const { data } = chart.canvas.getContext('2d').getImageData(0, 0, chart.canvas.width, chart.canvas.height);
    const painted = (hex) => {
      const [r, g, b] = rgb(hex);
      for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i] - r) < 8 && Math.abs(data[i + 1] - g) < 8 && Math.abs(data[i + 2] - b) < 8 && data[i + 3] > 200) return true;
      return false;
    };
    state[id] = { points: chart.data.datasets.map((d) => d.data.length), painted: chart.data.datasets.map((d) => painted(d.borderColor ?? d.backgroundColor)) };
  }
  return state;
})()`;

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

