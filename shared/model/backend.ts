/**
 * TensorFlow.js backend selection, done once per process.
 *
 * The fastest backends are native addons that not every machine can install
 * (tfjs-node-gpu downloads libtensorflow and needs CUDA; tfjs-node downloads
 * libtensorflow too), so 'auto' walks from fastest to most portable and settles on the
 * first one that loads and initialises. The pure-JS cpu backend always works.
 * The wasm backend runs single-threaded under Node (no worker pool there), yet its
 * SIMD kernels still beat the cpu backend on the matMuls that dominate our models.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node build registers no op gradients; the union package registers all of
// them (into tfjs-core's process-wide registry), which training needs on every backend.
import '@tensorflow/tfjs';
import { BackendError, BadInputError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { registerGradFixes } from './grad-fixes.ts';

export const BackendName = {
  TensorflowGpu: 'tensorflow-gpu',
  Tensorflow: 'tensorflow',
  Wasm: 'wasm',
  Cpu: 'cpu',
} as const;
export type BackendName = (typeof BackendName)[keyof typeof BackendName];

export interface InitBackendOptions {
  /** A backend to require, or 'auto' (default) for the fastest one that works here. */
  prefer?: BackendName | 'auto';
  log?: Logger;
}

interface Candidate {
  readonly name: BackendName;
  /** npm package whose import registers the backend with tfjs-core. */
  readonly pkg: string;
  /** Name the package registers the backend under (both node addons use 'tensorflow'). */
  readonly tfName: string;
}

/** Fastest first: the order 'auto' tries them in. */
const CANDIDATES: readonly Candidate[] = [
  { name: BackendName.TensorflowGpu, pkg: '@tensorflow/tfjs-node-gpu', tfName: 'tensorflow' },
  { name: BackendName.Tensorflow, pkg: '@tensorflow/tfjs-node', tfName: 'tensorflow' },
  { name: BackendName.Wasm, pkg: '@tensorflow/tfjs-backend-wasm', tfName: 'wasm' },
  { name: BackendName.Cpu, pkg: '@tensorflow/tfjs-backend-cpu', tfName: 'cpu' },
];

/**
 * The gradient fixes are for wasm, whose matMul is slow with transpose flags; cpu gets
 * them too (neutral there) so the two non-native backends compute gradients alike.
 */
const NEEDS_GRAD_FIXES: ReadonlySet<BackendName> = new Set([BackendName.Wasm, BackendName.Cpu]);

/**
 * Process-wide singleton: tfjs-core's engine is itself one per process, so the backend
 * chosen for it is too. Holding the promise (not the result) makes concurrent first
 * calls share one initialisation. Reset when initialisation fails so a caller may retry.
 */
let active: Promise<BackendName> | undefined;

/**
 * Selects and initialises the backend. Idempotent: later calls return the backend
 * the first successful call chose, whatever they prefer (a differing explicit
 * preference is logged, since the engine cannot switch under live tensors).
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendName> {
  const prefer = opts.prefer ?? 'auto';
  if (prefer !== 'auto' && !CANDIDATES.some((c) => c.name === prefer)) {
    const known = ['auto', ...CANDIDATES.map((c) => c.name)].join(', ');
    throw new BadInputError(`unknown backend "${String(prefer)}" (expected one of: ${known})`);
  }

  if (active !== undefined) {
    const name = await active;
    if (prefer !== 'auto' && prefer !== name) {
      opts.log?.warn({ backend: name, requested: prefer }, 'TensorFlow.js backend already initialised; keeping it');
    }
    return name;
  }

  active = select(prefer, opts.log);
  try {
    return await active;
  } catch (err) {
    active = undefined;
    throw err;
  }
}

/** Live tensor count and bytes, for leak checks around a unit of work. */
export function tfMemory(): { numTensors: number; numBytes: number } {
  const { numTensors, numBytes } = tf.memory();
  return { numTensors, numBytes };
}

async function select(prefer: BackendName | 'auto', log: Logger | undefined): Promise<BackendName> {
  const candidates = prefer === 'auto' ? CANDIDATES : CANDIDATES.filter((c) => c.name === prefer);
  for (const candidate of candidates) {
    const failure = await tryCandidate(candidate);
    if (failure === undefined) {
      if (NEEDS_GRAD_FIXES.has(candidate.name)) registerGradFixes();
      log?.info({ backend: candidate.name }, 'TensorFlow.js backend ready');
      return candidate.name;
    }
    if (prefer !== 'auto') {
      throw new BackendError(
        `TensorFlow.js backend "${candidate.name}" is unavailable (${failure.reason}); ` +
          `install it with: npm install ${candidate.pkg}`,
        { cause: failure.cause },
      );
    }
    log?.debug({ backend: candidate.name, pkg: candidate.pkg, reason: failure.reason }, 'TensorFlow.js backend skipped');
  }
  // Unreachable while the cpu backend is a dependency, but a broken install can get here.
  throw new BackendError(
    `no TensorFlow.js backend could be initialised; install ${CANDIDATES[CANDIDATES.length - 1].pkg}`,
  );
}

interface Failure {
  reason: string;
  cause?: unknown;
}

/** Loads and initialises one backend; undefined on success, else why not. */
async function tryCandidate(candidate: Candidate): Promise<Failure | undefined> {
  // A variable specifier keeps tsc from needing type declarations for the optional
  // native packages, which are not installed everywhere.
  const specifier: string = candidate.pkg;
  try {
    await import(specifier);
  } catch (cause) {
    return { reason: describeImportFailure(cause), cause };
  }
  if (tf.findBackendFactory(candidate.tfName) === undefined) {
    // The package loaded but registered with a different copy of tfjs-core (a version
    // mismatch leaves two copies in node_modules), so this engine cannot use it.
    return { reason: `${candidate.pkg} did not register "${candidate.tfName}" with this @tensorflow/tfjs-core` };
  }

  const before = snapshotProcessListeners();
  let ok: boolean;
  try {
    ok = await tf.setBackend(candidate.tfName);
    if (ok) await tf.ready();
  } catch (cause) {
    return { reason: `initialisation failed: ${firstLine(cause)}`, cause };
  } finally {
    if (candidate.name === BackendName.Wasm) removeEmscriptenListeners(before);
  }
  if (!ok) return { reason: 'initialisation failed (see the tfjs warning above)' };
  return undefined;
}

function describeImportFailure(cause: unknown): string {
  const code = (cause as { code?: unknown } | null)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return 'package not installed';
  return `package failed to load: ${firstLine(cause)}`;
}

/** Emscripten errors can carry a whole generated source file; keep logs to one line. */
function firstLine(cause: unknown): string {
  const text = cause instanceof Error ? cause.message : String(cause);
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

type ProcessEvent = 'uncaughtException' | 'unhandledRejection';
const PROCESS_EVENTS: readonly ProcessEvent[] = ['uncaughtException', 'unhandledRejection'];
// process's typed overloads take one literal event at a time; the plain emitter view
// lets the two events share one loop.
const processEmitter: NodeJS.EventEmitter = process;

function snapshotProcessListeners(): Map<ProcessEvent, ReadonlySet<unknown>> {
  return new Map(PROCESS_EVENTS.map((e) => [e, new Set<unknown>(processEmitter.listeners(e))]));
}

/**
 * The wasm backend's Emscripten runtime installs process-wide uncaughtException and
 * unhandledRejection listeners that rethrow whatever they receive. A throw inside such a
 * listener kills the process (exit 7) and Node prints the source line of the rethrow,
 * which in the minified Emscripten build is the entire file. They add nothing Node does
 * not already do, so the listeners that appeared while the backend initialised go.
 */
function removeEmscriptenListeners(before: Map<ProcessEvent, ReadonlySet<unknown>>): void {
  for (const event of PROCESS_EVENTS) {
    const known = before.get(event) ?? new Set<unknown>();
    for (const listener of processEmitter.listeners(event)) {
      if (!known.has(listener) && looksLikeEmscripten(listener)) {
        processEmitter.removeListener(event, listener as (...args: unknown[]) => void);
      }
    }
  }
}

function looksLikeEmscripten(listener: unknown): boolean {
  const source = String(listener);
  return source.includes('ExitStatus') || /throw\s+reason/.test(source);
}
