/**
 * A build spread over `dsi worker` processes, one of them SIGKILLed while it trains, next
 * to local builds of the same collection with the same seed: does the build complete, and
 * does its index give the local build's quality figures (within the spread between the
 * local builds)?
 *
 *   npm run bench:distributed -- --corpus DIR [--size 120k] [--shards 8] [--seed 1] [--local-builds 2]
 *                                [--workers 2] [--kill-after 30] [--ack-wait 30] [--set JSON] [--out DIR]
 *
 *   --size          build a sample of the corpus first (every core document plus evenly spaced
 *                   distractors, cluster/tools/distractor-sample.ts): 120k of debian-plus-registries
 *   --local-builds  local builds to compare with (two measure the spread between local builds)
 *   --kill-after    a worker is SIGKILLed once one of its jobs has trained this many seconds
 *   --ack-wait      the workers' ack wait (s): how long the killed job waits before it is delivered again
 *
 * Builds run one after the other (each local build uses every core; the distributed build's
 * workers one core each), then each index is evaluated on the test split in process
 * (`dsi eval --no-bm25`). Prints one row per build and whether the distributed build's
 * models are byte-identical to the first local build's; the logs of every process are kept
 * in --out. Exits 1 when the distributed build fails or no worker could be killed mid-job.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger } from '../../shared/log.ts';
import { startLocalNats } from '../up/local-nats.ts';
import { parseSize, writeDistractorSample } from '../tools/distractor-sample.ts';

const DSI_BIN = fileURLToPath(new URL('../../bin/dsi.js', import.meta.url));

const { values } = parseArgs({
  options: {
    corpus: { type: 'string' },
    size: { type: 'string' },
    shards: { type: 'string', default: '4' },
    seed: { type: 'string', default: '1' },
    'local-builds': { type: 'string', default: '2' },
    workers: { type: 'string', default: '2' },
    'kill-after': { type: 'string', default: '30' },
    'ack-wait': { type: 'string', default: '30' },
    set: { type: 'string' },
    out: { type: 'string' },
  },
});
if (!values.corpus) {
  process.stderr.write('usage: npm run bench:distributed -- --corpus DIR [--size 120k] [--shards N] [--seed S] [--local-builds N] [--workers N] [--kill-after S] [--ack-wait S] [--set JSON] [--out DIR]\n');
  process.exit(2);
}
const out = values.out ?? mkdtempSync(join(tmpdir(), 'dsi-bench-distributed-'));
await mkdir(out, { recursive: true });
const log = createLogger({ name: 'bench-distributed', level: 'info' });
const say = (line: string) => process.stdout.write(`${line}\n`);

let corpus = values.corpus;
if (values.size) {
  corpus = join(out, 'corpus');
  const sample = await writeDistractorSample({ from: values.corpus, out: corpus, size: parseSize(values.size) });
  say(`sample: ${sample.documents} documents (${sample.core} core, ${sample.distractors} of ${sample.distractorsAvailable} distractors) in ${corpus}`);
}
const buildFlags = ['--corpus', corpus, '--shards', values.shards!, '--seed', values.seed!, ...(values.set ? ['--set', values.set] : [])];
const env = { ...process.env, DSI_LOG_JSON: '1' };

interface Row {
  name: string;
  seconds: number;
  figures: Figures;
  models: Record<string, string>;
}

const rows: Row[] = [];
for (let i = 1; i <= Number(values['local-builds']); i++) {
  const dir = join(out, `local-${i}`);
  const started = performance.now();
  await run(['index', ...buildFlags, '--out', dir], `local-${i}`);
  rows.push({ name: `local ${i}`, seconds: (performance.now() - started) / 1000, figures: await evaluate(dir, `local-${i}`), models: modelFiles(dir) });
  say(`local build ${i}: ${rows.at(-1)!.seconds.toFixed(0)} s`);
}

// The distributed build: a NATS server with JetStream, the workers, a build sent to them.
const nats = await startLocalNats(process.env.PATH ?? '', log);
const workers: { child: ChildProcess; name: string; running: Map<string, number>; killed: boolean }[] = [];
let kill: { worker: string; job: string; trainedS: number } | undefined;
const killAfterMs = Number(values['kill-after']) * 1000;
try {
  for (let w = 1; w <= Number(values.workers); w++) {
    const name = `worker-${w}`;
    const child = start(['worker', '--nats', nats.url, '--slots', '1', '--ack-wait', values['ack-wait']!], name);
    const worker = { child, name, running: new Map<string, number>(), killed: false };
    workers.push(worker);
    onLogLine(child, (line) => {
      // The worker logs when a job's process starts and when the job is stored: what it is training now.
      if (line.msg === 'training started' && typeof line.job_id === 'string') {
        const job = line.job_id;
        worker.running.set(job, performance.now());
        setTimeout(() => {
          if (kill || !worker.running.has(job)) return;
          kill = { worker: name, job: String(line.job), trainedS: (performance.now() - worker.running.get(job)!) / 1000 };
          worker.killed = true;
          child.kill('SIGKILL');
          say(`SIGKILLed ${name} after ${kill.trainedS.toFixed(1)} s of training ${kill.job}`);
        }, killAfterMs).unref();
      }
      if ((line.msg === 'trained; output stored' || String(line.msg).includes('completion is dropped') || String(line.msg).startsWith('training failed')) && typeof line.job_id === 'string') worker.running.delete(line.job_id);
    });
  }
  const dir = join(out, 'distributed');
  const started = performance.now();
  const built = await run(['index', ...buildFlags, '--out', dir, '--nats', nats.url], 'distributed', false);
  const seconds = (performance.now() - started) / 1000;
  if (!built) {
    say(`the distributed build FAILED (log: ${join(out, 'distributed.log')})`);
    process.exitCode = 1;
  } else {
    rows.push({ name: 'distributed', seconds, figures: await evaluate(dir, 'distributed'), models: modelFiles(dir) });
    say(`distributed build: ${seconds.toFixed(0)} s`);
  }
} finally {
  for (const w of workers) if (!w.killed) w.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => (w.child.exitCode === null && w.child.signalCode === null ? new Promise((r) => w.child.once('exit', r)) : undefined)));
  await nats.stop();
}

say('');
say(`corpus ${corpus}, --shards ${values.shards} --seed ${values.seed}${values.set ? ` --set ${values.set}` : ''}; ${values.workers} workers, ack wait ${values['ack-wait']} s`);
say('build        wall s   hits@1  hits@10  mrr@10  routing  shards: index_recall@1 / collision_rate / hits@10');
for (const r of rows) {
  const f = r.figures;
  const shards = f.shards.map((s) => `${s.id} ${s['index_recall@1'].toFixed(3)}/${s.collision_rate.toFixed(3)}/${s['hits@10'].toFixed(3)}`).join('  ');
  say(`${r.name.padEnd(12)} ${r.seconds.toFixed(0).padStart(6)}   ${f['hits@1'].toFixed(3)}  ${f['hits@10'].toFixed(3).padStart(7)}  ${f['mrr@10'].toFixed(3)}   ${(f.routing * 100).toFixed(1).padStart(5)}%  ${shards}`);
}
const [first, second] = rows;
const distributed = rows.find((r) => r.name === 'distributed');
if (first && second && second.name !== 'distributed') say(`local builds: ${sameModels(first, second) ? 'byte-identical models' : 'models differ'}; spread of Hits@10 ${Math.abs(first.figures['hits@10'] - second.figures['hits@10']).toFixed(4)}`);
if (first && distributed) say(`distributed against local 1: ${sameModels(first, distributed) ? 'byte-identical models' : 'models differ'}; Hits@10 ${(distributed.figures['hits@10'] - first.figures['hits@10']).toFixed(4)}, Hits@1 ${(distributed.figures['hits@1'] - first.figures['hits@1']).toFixed(4)}`);
say(kill ? `fault: ${kill.worker} SIGKILLed after ${kill.trainedS.toFixed(1)} s of training ${kill.job}` : `fault: NONE (no job trained for ${values['kill-after']} s on a worker: lower --kill-after)`);
say(`logs and indexes in ${out}`);
if (!kill) process.exitCode = 1;

interface Figures {
  'hits@1': number;
  'hits@10': number;
  'mrr@10': number;
  routing: number;
  shards: { id: string; 'index_recall@1': number; collision_rate: number; 'hits@10': number }[];
}

async function evaluate(dir: string, name: string): Promise<Figures> {
  const stdout: string[] = [];
  await run(['eval', '--index', dir, '--corpus', corpus, '--split', 'test', '--json', '--no-bm25'], `${name}-eval`, true, stdout);
  const report = JSON.parse(stdout.join('').split('\n').find((l) => l.startsWith('{"queries"'))!) as { dsi: Omit<Figures, 'routing' | 'shards'>; routing: { hits: number }; shards: Figures['shards'] };
  return { 'hits@1': report.dsi['hits@1'], 'hits@10': report.dsi['hits@10'], 'mrr@10': report.dsi['mrr@10'], routing: report.routing.hits, shards: report.shards };
}

/** sha256 of every model file of an index (reports, which hold timings, left out). */
function modelFiles(dir: string): Record<string, string> {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { files: Record<string, string> };
  return Object.fromEntries(Object.entries(manifest.files).filter(([path]) => !path.endsWith('report.json')));
}

function sameModels(a: Row, b: Row): boolean {
  return JSON.stringify(a.models) === JSON.stringify(b.models);
}

function start(args: string[], name: string): ChildProcess {
  const child = spawn(process.execPath, [DSI_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const file = createWriteStream(join(out, `${name}.log`));
  child.stdout!.pipe(file);
  child.stderr!.pipe(file);
  return child;
}

/** Runs `dsi args` to its end (its stdout's chunks into `stdout`, if given); resolves true on exit 0 (false, or a thrown error when `mustPass`, otherwise). */
function run(args: string[], name: string, mustPass = true, stdout?: string[]): Promise<boolean> {
  const child = start(args, name);
  if (stdout) child.stdout!.on('data', (d: Buffer) => stdout.push(d.toString()));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      if (code === 0) resolve(true);
      else if (mustPass) reject(new Error(`dsi ${args[0]} (${name}) exited with ${code}: see ${join(out, `${name}.log`)}`));
      else resolve(false);
    }),
  );
}

function onLogLine(child: ChildProcess, onLine: (line: Record<string, unknown>) => void): void {
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const part of parts) {
      if (!part.startsWith('{')) continue;
      try {
        onLine(JSON.parse(part) as Record<string, unknown>);
      } catch {
        // Not a log line.
      }
    }
  });
}
