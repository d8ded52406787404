import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus } from '../shared/bus/connection.ts';
import { BusUnavailableError } from '../shared/errors.ts';
import { createLogger } from '../shared/log.ts';
import { launchChromium } from './helpers/browser.ts';
import { buildDemoIndex } from './helpers/demo-index.ts';
import { startNatsServer } from './helpers/nats-server.ts';
import { REPO_ROOT, runNode, type CliResult } from './helpers/cli.ts';
import { isAlive, ProcessRegistry, type DsiProcess } from './helpers/processes.ts';
import { waitFor } from './helpers/traffic.ts';

/**
 * `npm run load -- smoke` against a real `dsi up` on the demo index, locked down the way a
 * deployment would be: a bearer token on the router and a token on NATS (which every
 * process must then present). The smoke scenario checks every endpoint and the shape of
 * every answer; nothing the cluster opens may listen beyond loopback. Then the quickest of
 * the fault drills as a test: NATS restarted under a router and its experts.
 */
const API_TOKEN = 'load-smoke-api-token-0123456789';
const NATS_TOKEN = 'load-smoke-nats-token-abcdefgh';
const processes = new ProcessRegistry();
let work: string;
let up: DsiProcess;
let url: string;
let natsUrl: string;
let indexDir: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dsi-load-'));
  indexDir = await buildDemoIndex(join(work, 'index'));
  up = processes.spawnDsi(['up', '--index', indexDir, '--port', '0', '--token', NATS_TOKEN], { DSI_AUTH_TOKENS: API_TOKEN });
  const ready = await up.waitForLine(/^dsi up: ready at /, 60_000);
  url = /ready at (http:\/\/\S+)/.exec(ready)![1]!;
  natsUrl = /NATS (nats:\/\/[^;)\s]+)/.exec(ready)![1]!;
}, 120_000);

afterAll(async () => {
  await processes.killAll();
  rmSync(work, { recursive: true, force: true });
});

describe('npm run load -- smoke', () => {
  it('runs the smoke scenario through the Node runner: every endpoint checked, every threshold met', async () => {
    const out = join(work, 'smoke.json');
    const run = await runLoad(['smoke', '--url', url, '--duration', '4s', '--out', out], { DSI_LOAD_TOKEN: API_TOKEN });
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toMatch(/http_req_duration\.+: avg=.* p\(99\)=/);
    expect(run.stdout).toMatch(/PASSED: smoke/);
    const result = JSON.parse(readFileSync(out, 'utf8'));
    expect(result).toMatchObject({ scenario: 'smoke', passed: true, overall: { requests: 20, failed: 0, dropped: 0 } });
    expect(result.checks.length).toBeGreaterThanOrEqual(8);
    expect(result.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
    expect(result.thresholds.every((t: { ok: boolean }) => t.ok)).toBe(true);
  });

  it('fails (exit 1) when the router refuses it: no token, every search a 401', async () => {
    const out = join(work, 'refused.json');
    const run = await runLoad(['smoke', '--url', url, '--duration', '1s', '--out', out], { DSI_LOAD_TOKEN: '' });
    expect(run.code).toBe(1);
    const result = JSON.parse(readFileSync(out, 'utf8'));
    expect(result.passed).toBe(false);
    expect(result.overall.errors_by_kind).toEqual({ http_401: 5 });
  });

  it('refuses an unknown scenario in one line, exit 2', async () => {
    const run = await runLoad(['stampede', '--url', url], {});
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/unknown scenario 'stampede'/);
  });

  it('serves the status page to a browser that gives one of the tokens, which its API calls then carry', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${url}/`);
      await page.locator('#token-form').waitFor({ state: 'visible', timeout: 10_000 });
      expect(await page.locator('#shards tbody tr').count()).toBe(0);
      // In the fragment, which never reaches the server; the page keeps it for this tab and takes it out of the address.
      await page.goto(`${url}/#token=${API_TOKEN}`);
      await page.locator('#shards tbody tr').first().waitFor({ timeout: 10_000 });
      expect(page.url()).toBe(`${url}/`);
      expect(await page.locator('#token-form').isHidden()).toBe(true);
      await page.fill('#query', 'image viewer');
      await page.click('#search-form button[type=submit]');
      await page.locator('#results tbody tr').first().waitFor({ timeout: 10_000 });
      expect(await page.locator('#results tbody tr').count()).toBe(10);
    } finally {
      await browser.close();
    }
  });

  it('runs NATS requiring the token every process of the cluster presented', async () => {
    const log = createLogger({ name: 'load-smoke', level: 'silent' });
    await expect(connectBus({ url: natsUrl, name: 'no-token', log })).rejects.toBeInstanceOf(BusUnavailableError);
    const bus = await connectBus({ url: natsUrl, name: 'with-token', token: NATS_TOKEN, log });
    await bus.close();
  });

  it('leaves nothing listening beyond loopback', () => {
    const listening = listeningAddresses([up.pid, ...descendants(up.pid)]);
    expect(listening.length).toBeGreaterThanOrEqual(2);
    for (const address of listening) expect(address).toMatch(/^(127\.0\.0\.1|\[::1\]):\d+$/);
  });
});

describe('NATS restarted under a router and its experts', () => {
  it('answers 503 at once while NATS is gone, serves again within seconds of its return, and nothing crashes', async () => {
    const nats = await startNatsServer({ token: NATS_TOKEN });
    try {
      const env = { DSI_NATS_TOKEN: NATS_TOKEN };
      const experts = ['s0', 's1'].map((shard) => processes.spawnDsi(['expert', '--index', indexDir, '--shard', shard, '--nats', nats.url], env));
      const router = processes.spawnDsi(['router', '--index', indexDir, '--port', '0', '--nats', nats.url], env);
      const base = (JSON.parse(await router.waitForLine(/router listening/)) as { url: string }).url;
      await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 30_000, 50);
      const search = () => fetch(`${base}/v1/search`, { method: 'POST', body: JSON.stringify({ query: 'image viewer' }) });
      expect((await search()).status).toBe(200);

      nats.kill('SIGKILL');
      await waitFor(async () => (await search()).status === 503, 5_000, 50);
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const r = await search();
        expect(r.status).toBe(503);
        expect(r.headers.get('retry-after')).toBe('1');
        expect(((await r.json()) as { error: { code: string } }).error.code).toBe('bus_unavailable');
        expect(performance.now() - started).toBeLessThan(100);
      }

      await nats.restart();
      const back = performance.now();
      await waitFor(async () => {
        const r = await search();
        return r.status === 200 && !((await r.json()) as { degraded: boolean }).degraded;
      }, 10_000, 50);
      expect(performance.now() - back).toBeLessThan(5_000);
      for (const p of [router, ...experts]) expect(p.lines().some((l) => l.includes('"reconnected to NATS"'))).toBe(true);
      for (const p of [router, ...experts]) expect(isAlive(p.pid)).toBe(true);
      await Promise.all([router, ...experts].map((p) => p.stop()));
    } finally {
      await nats.stop();
    }
  });
});

function runLoad(args: string[], env: Record<string, string>): Promise<CliResult> {
  return runNode(['--import', 'tsx', join(REPO_ROOT, 'loadtest', 'run.ts'), ...args], env);
}

function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const e of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) for (const [p, pp] of parent) if (pp === out[i]) out.push(p);
  return out.slice(1);
}

/** Local addresses of the TCP sockets in LISTEN state that these processes hold (from /proc). */
function listeningAddresses(pids: number[]): string[] {
  const inodes = new Set<string>();
  for (const pid of pids) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(safeReadlink(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      }
    } catch {
      // gone
    }
  }
  const out: string[] = [];
  for (const [file, v6] of [['/proc/net/tcp', false], ['/proc/net/tcp6', true]] as const) {
    for (const line of readFileSync(file, 'utf8').trim().split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== '0A' || !inodes.has(f[9]!)) continue;
      const [hex, portHex] = f[1]!.split(':');
      out.push(`${v6 ? v6Address(hex!) : v4Address(hex!)}:${parseInt(portHex!, 16)}`);
    }
  }
  return out;
}

function safeReadlink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

function v4Address(hex: string): string {
  return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
}

function v6Address(hex: string): string {
  if (hex === '00000000000000000000000001000000') return '[::1]';
  if (/^0{32}$/.test(hex)) return '[::]';
  return `[${hex}]`;
}
