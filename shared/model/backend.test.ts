import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import * as tf from '@tensorflow/tfjs-core';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { BackendError, BadInputError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { BackendName, initBackend, tfMemory } from './backend.ts';
import { transposeFreeBatchMatMulGrad } from './grad-fixes.ts';

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/** A debug-level logger whose lines land in an array instead of stdout. */
function captureLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

const tfNameOf: Record<BackendName, string> = {
  'tensorflow-gpu': 'tensorflow',
  tensorflow: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

// One process, one backend: the cases below run in order and build on each other.
describe('initBackend', () => {
  it('rejects a backend name it does not know', async () => {
    await expect(initBackend({ prefer: 'webgl' as BackendName })).rejects.toBeInstanceOf(BadInputError);
  });

  it.skipIf(installed('@tensorflow/tfjs-node'))(
    'names the package to install when an explicit backend is unavailable',
    async () => {
      const err = await initBackend({ prefer: BackendName.Tensorflow }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackendError);
      expect((err as BackendError).code).toBe('backend_unavailable');
      expect((err as BackendError).message).toContain('npm install @tensorflow/tfjs-node');
    },
  );

  it('picks the first working backend, logs it once, and says why earlier ones were skipped', async () => {
    const { log, lines } = captureLogger();
    const [first, second] = await Promise.all([initBackend({ log }), initBackend({ log })]);
    expect(second).toBe(first);
    expect(Object.values(BackendName)).toContain(first);
    expect(tf.getBackend()).toBe(tfNameOf[first]);

    const ready = lines.filter((l) => l.msg === 'TensorFlow.js backend ready');
    expect(ready).toEqual([expect.objectContaining({ backend: first, level: 30 })]);
    const skipped = lines.filter((l) => l.msg === 'TensorFlow.js backend skipped').map((l) => l.backend);
    const order = Object.values(BackendName);
    expect(skipped).toEqual(order.slice(0, order.indexOf(first)));
  });

  it('returns the active backend on later calls, whatever they prefer', async () => {
    const active = await initBackend({});
    const other = active === BackendName.Cpu ? BackendName.Wasm : BackendName.Cpu;
    const { log, lines } = captureLogger();
    expect(await initBackend({ prefer: other, log })).toBe(active);
    expect(lines.map((l) => l.msg)).toEqual(['TensorFlow.js backend already initialised; keeping it']);
  });

  it('installs the gradient fixes on the CPU-class backends', async () => {
    const active = await initBackend({});
    if (active === BackendName.Wasm || active === BackendName.Cpu) {
      expect(tf.getGradient(tf.BatchMatMul)).toBe(transposeFreeBatchMatMulGrad);
    }
  });

  it('leaves no Emscripten listener that would rethrow uncaught errors', async () => {
    await initBackend({});
    const emitter: NodeJS.EventEmitter = process;
    for (const event of ['uncaughtException', 'unhandledRejection']) {
      for (const listener of emitter.listeners(event)) {
        expect(String(listener)).not.toContain('ExitStatus');
        expect(String(listener)).not.toMatch(/throw\s+reason/);
      }
    }
  });

  it('runs ops after initialisation', async () => {
    await initBackend({});
    const product = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0]);
    expect(product).toBe(11);
  });
});

describe('tfMemory', () => {
  it('counts live tensors and their bytes', async () => {
    await initBackend({});
    const before = tfMemory();
    const t = tf.zeros([4, 8]); // 32 float32 values
    expect(tfMemory()).toEqual({ numTensors: before.numTensors + 1, numBytes: before.numBytes + 32 * 4 });
    t.dispose();
    expect(tfMemory()).toEqual(before);
  });
});
