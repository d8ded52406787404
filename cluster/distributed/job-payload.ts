import { Packr } from 'msgpackr';
import { ArtifactError } from '../../shared/errors.ts';
import { JOB_INPUT_FOLDERS, type BuildJob } from '../indexing/jobs.ts';

/**
 * A training job as bytes, for the object store: the whole job object, whatever its
 * fields, so a field added to a job travels without a change here. msgpackr's structured
 * clone keeps what the local runner's IPC (the structured clone algorithm) keeps: typed
 * arrays as typed arrays (a corpus of 100K documents stays compact), Maps, Sets, shared
 * references. Both ends are this code, so msgpackr's own extensions are fine here, unlike
 * on the bus (codec.ts), whose messages other clients read.
 */
const packr = new Packr({ structuredClone: true });

export type InputFolderField = (typeof JOB_INPUT_FOLDERS)[number];

export function encodeJob(job: BuildJob): Uint8Array {
  return packr.pack(job);
}

export function decodeJob(bytes: Uint8Array, what: string): BuildJob {
  let job: unknown;
  try {
    job = packr.unpack(bytes);
  } catch (cause) {
    throw new ArtifactError(what, 'not a training job', { cause });
  }
  const fields = job as Partial<Record<string, unknown>> | null;
  if (!fields || typeof fields.kind !== 'string' || typeof fields.outDir !== 'string') throw new ArtifactError(what, 'not a training job (no kind or outDir)');
  return job as BuildJob;
}

/** The folders a job reads, by field: what must be copied to a machine that trains it. */
export function inputFolders(job: BuildJob): Partial<Record<InputFolderField, string>> {
  const fields = job as Partial<Record<InputFolderField, unknown>>;
  const out: Partial<Record<InputFolderField, string>> = {};
  for (const field of JOB_INPUT_FOLDERS) {
    const dir = fields[field];
    if (typeof dir === 'string') out[field] = dir;
  }
  return out;
}

/** The same job reading and writing folders of this machine: each input field pointed at its local copy, the output at `outDir`. */
export function relocateJob(job: BuildJob, inputs: Partial<Record<string, string>>, outDir: string): BuildJob {
  const moved: Record<string, unknown> = { ...job, outDir };
  for (const [field, dir] of Object.entries(inputs)) {
    if (!(JOB_INPUT_FOLDERS as readonly string[]).includes(field)) throw new ArtifactError(`input ${field}`, `not a folder field of a job (${JOB_INPUT_FOLDERS.join(', ')})`);
    moved[field] = dir;
  }
  return moved as unknown as BuildJob;
}
