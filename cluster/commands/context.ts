import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BadInputError } from '../../shared/errors.ts';

/** What a command gets from the process: read once at the edge, passed down. */
export interface CommandContext {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** stderr is a terminal: progress is drawn as bars there, and commands log human lines there (JSON lines elsewhere). */
  isTTY: boolean;
  /** stdout is a terminal: the services, which log there, log human lines (JSON lines elsewhere). */
  stdoutIsTTY: boolean;
}

export interface Command {
  summary: string;
  usage: string;
  run(argv: string[], ctx: CommandContext): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** util.parseArgs with its errors turned into one-line usage errors. */
export function parseFlags<O extends Options>(argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (cause) {
    throw new BadInputError((cause as Error).message, { cause });
  }
}

export function requireFlag(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new BadInputError(`${flag} is required`);
  return value;
}

export function intFlag(value: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new BadInputError(`${flag} must be an integer in [${min}, ${max}], got '${value}'`);
  return n;
}

export const RUNTIME_FLAGS_HELP = '[--backend auto|tensorflow-gpu|tensorflow|wasm|cpu] [--log-level LEVEL] [--log-format json|pretty]';
