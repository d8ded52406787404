import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JobStore } from '../cluster/distributed/job-store.ts';
import { QueueJobRunner } from '../cluster/distributed/queue-job-runner.ts';
import type { BuildJob } from '../cluster/indexing/jobs.ts';
import { connectBus, type Bus } from '../shared/bus/connection.ts';
import { JobFailedError } from '../shared/errors.ts';
import { createLogger } from '../shared/log.ts';
import { DEMO_CORPUS, runDsi } from './helpers/cli.ts';

/** A third of the demo collection and one epoch per model: the faults are what is tested here, not the models. */
const CORPUS_DOCS = 400;
const BUILD = { shards: 2, epochs: 1, gatingEpochs: 1, seed: 1 };
import { splitCollection } from '../cluster/tools/split-collection.ts';
import { buildDemoIndex } from './helpers/demo-index.ts';
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.ts';
import { ProcessRegistry, type DsiProcess } from './helpers/processes.ts';
import { waitFor } from './helpers/traffic.ts';

/**
 * Builds whose models train on `dsi worker` processes through a JetStream work queue, with
 * the faults a cluster of machines meets: a worker killed while training, a worker that
 * hangs and comes back after its job went to another, a job no worker can train. A short
 * ack wait (3 s) keeps redeliveries quick.
 */
const ACK_WAIT_S = '3';
const log = createLogger({ name: 'distributed-test', level: 'silent' });

let work: string;
let corpus: string;
let nats: NatsServerHandle;
let bus: Bus;
let reference: IndexFigures;
const processes = new ProcessRegistry();
const workers: DsiProcess[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dsi-distributed-'));
  corpus = join(work, 'corpus');
  await splitCollection(DEMO_CORPUS, corpus, (_doc, i) => i < CORPUS_DOCS);
  [, nats] = await Promise.all([buildDemoIndex(join(work, 'local'), { ...BUILD, corpus }), startNatsServer({ jetstream: true })]);
  reference = indexFigures(join(work, 'local'));
  bus = await connectBus({ url: nats.url, name: 'distributed-test', log });
}, 180_000);

// Each test starts its own workers: none may take the next test's jobs.
afterEach(async () => {
  await Promise.all(
    workers.splice(0).map(async (w) => {
      w.signal('SIGCONT');
      await w.stop();
    }),
  );
});

afterAll(async () => {
  await processes.killAll();
  await bus?.close();
  await nats?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('a build on dsi workers', () => {
  it('two workers, one SIGKILLed while training: its job is delivered again after the ack wait, and the index is the local build’s (same seed)', async () => {
    const a = await startWorker();
    const build = startBuild('killed');
    // The worker dies with its job's process just started (it takes seconds to load its backend, so the job cannot be done).
    const killedJob = JSON.parse(await a.process.waitForLine(/"msg":"training started"/, 90_000)) as { job: string };
    a.process.signal('SIGKILL');
    const b = await startWorker();

    expect((await build.exited(180_000)).code, build.stderr().slice(-3000)).toBe(0);
    const retaken = b.process.logs().find((l) => l.msg === 'training' && l.job === killedJob.job);
    expect(retaken?.attempt).toBe(2);
    expect(build.logs().some((l) => l.msg === 'dsi workers are alive: training goes to them through the job queue')).toBe(true);
    const trained = build.logs().filter((l) => l.msg === 'trained on a worker; output in place');
    expect(trained.map((l) => l.job).sort()).toEqual(['gating', 'shard s0', 'shard s1']);
    expect(trained.find((l) => l.job === killedJob.job)?.worker).toBe(b.id);
    expect(indexFigures(join(work, 'killed'))).toEqual(reference);
    expect(await leftovers()).toEqual({ records: 0, objects: 0 });
  });

  it('a job completed twice (its worker hung past the ack wait, then came back) is stored once; dsi status shows the jobs in flight', async () => {
    const a = await startWorker();
    const build = startBuild('twice');
    const taken = JSON.parse(await a.process.waitForLine(/"msg":"training started"/, 90_000)) as { build: string; job: string; job_id: string };
    // The worker hangs; its job's process goes on and finishes.
    a.process.signal('SIGSTOP');
    const b = await startWorker();
    // The hung worker's job goes to the other after the ack wait; the other is held once it has stored it, so the build waits.
    await b.process.waitForLine(new RegExp(`"job":"${taken.job}".*"msg":"trained; output stored"`), 120_000);
    b.process.signal('SIGSTOP');

    const status = await runDsi(['status', '--nats', nats.url, '--json']);
    expect(status.code, status.stderr).toBe(0);
    const jobs = (JSON.parse(status.stdout) as { jobs: { build: string; label: string; attempts: number; worker: string | null; max_deliveries: number }[] }).jobs;
    expect(jobs.find((j) => j.label === taken.job)).toMatchObject({ build: taken.build, attempts: 2, worker: b.id, max_deliveries: 3 });

    a.process.signal('SIGCONT');
    await a.process.waitForLine(/this completion is dropped/, 60_000);
    const store = await JobStore.open(bus);
    const outcome = await store.outcome(taken.build, taken.job_id);
    expect(outcome).toMatchObject({ ok: true, worker: b.id, attempts: 2 });
    const outputs = (await store.objects.list()).filter((name) => name.startsWith(`${taken.build}-out-${taken.job_id}-`));
    expect(outputs).toHaveLength(1);

    b.process.signal('SIGCONT');
    expect((await build.exited(180_000)).code, build.stderr().slice(-3000)).toBe(0);
    expect(indexFigures(join(work, 'twice'))).toEqual(reference);
  });

  it('a job that fails on every delivery fails its build with an error naming it, after max deliveries', async () => {
    const worker = await startWorker();
    // A kind of job this trainer does not know (as a newer build would send to an older worker): it fails wherever it is delivered.
    const poison = { kind: 'future-kind', outDir: join(work, 'poison-out'), shard: 's7' } as unknown as BuildJob;
    const runner = new QueueJobRunner({ bus, url: nats.url, log });
    const failure = await runner.run([poison]).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(JobFailedError);
    expect((failure as JobFailedError).job).toBe('shard s7');
    expect((failure as Error).message).toMatch(/^training shard s7 failed: unknown job kind 'future-kind'.*attempt 3, the last allowed/);
    const attempts = worker.process.logs().filter((l) => l.msg === 'training' && l.job === 'shard s7').map((l) => l.attempt);
    expect(attempts).toEqual([1, 2, 3]);
    expect(await leftovers()).toEqual({ records: 0, objects: 0 });
  });
});

interface Worker {
  process: DsiProcess;
  id: string;
}

async function startWorker(): Promise<Worker> {
  const process = processes.spawnDsi(['worker', '--nats', nats.url, '--slots', '1', '--ack-wait', ACK_WAIT_S, '--max-deliver', '3']);
  workers.push(process);
  const ready = JSON.parse(await process.waitForLine(/"msg":"worker ready/, 30_000)) as { worker: string };
  return { process, id: ready.worker };
}

/** The same build as the reference, sent to the workers. */
function startBuild(name: string): DsiProcess {
  const settings = ['--shards', String(BUILD.shards), '--epochs', String(BUILD.epochs), '--gating-epochs', String(BUILD.gatingEpochs), '--seed', String(BUILD.seed)];
  return processes.spawnDsi(['index', '--corpus', corpus, '--out', join(work, name), ...settings, '--nats', nats.url]);
}

interface IndexFigures {
  shards: { id: string; docs: number; 'index_recall@1': number; collision_rate: number; 'hits@10': number | null }[];
  /** sha256 of every file but the reports (which hold timings): the models themselves. */
  files: Record<string, string>;
}

function indexFigures(dir: string): IndexFigures {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { shards: { id: string; dir: string; docs: number }[]; files: Record<string, string> };
  const shards = manifest.shards.map((s) => {
    const report = JSON.parse(readFileSync(join(dir, s.dir, 'report.json'), 'utf8')) as IndexFigures['shards'][number];
    return { id: s.id, docs: s.docs, 'index_recall@1': report['index_recall@1'], collision_rate: report.collision_rate, 'hits@10': report['hits@10'] };
  });
  return { shards, files: Object.fromEntries(Object.entries(manifest.files).filter(([path]) => !path.endsWith('report.json'))) };
}

/** What finished builds left in JetStream: job records, and objects of any build. */
async function leftovers(): Promise<{ records: number; objects: number }> {
  const store = await JobStore.open(bus);
  let records = 0;
  let objects = 0;
  await waitFor(async () => {
    records = (await store.records()).length;
    objects = (await store.objects.list()).length;
    return records === 0 && objects === 0;
  }, 5_000).catch(() => undefined);
  return { records, objects };
}
