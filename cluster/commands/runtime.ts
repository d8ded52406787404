import { initBackend, type BackendName } from '../../shared/model/backend.ts';
import { createLogger, LOG_FORMATS, type LogFormat, type Logger, type LogStream } from '../../shared/log.ts';
import { BadInputError } from '../../shared/errors.ts';
import type { CommandContext } from './context.ts';

const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;

export const RUNTIME_FLAGS = {
  backend: { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
} as const;

type RuntimeFlags = { backend?: string; 'log-level'?: string; 'log-format'?: string };

/** How a command logs: its default level, and where the lines go (see shared/log.ts). */
export interface CommandLogOptions {
  /** Level when neither --log-level nor DSI_LOG_LEVEL names one; info unless given. */
  readonly level?: string;
  /** stderr unless given: a command's stdout is its result. The services log on stdout. */
  readonly stream?: LogStream;
}

/** Logger and TensorFlow.js backend for a command, configured from flags first, then the environment. */
export async function startRuntime(ctx: CommandContext, name: string, flags: RuntimeFlags, logOptions: CommandLogOptions = {}): Promise<{ log: Logger; backend: BackendName; format: LogFormat }> {
  const { log, format } = commandLogger(ctx, name, flags, logOptions);
  const backend = await initBackend({ prefer: backendPreference(ctx, flags), log });
  return { log, backend, format };
}

/** The backend asked for (flag, then DSI_BACKEND); an unknown name is a BadInputError. */
export function backendPreference(ctx: CommandContext, flags: { backend?: string }): BackendName | 'auto' {
  const prefer = flags.backend ?? ctx.env.DSI_BACKEND ?? 'auto';
  if (!(BACKENDS as readonly string[]).includes(prefer)) throw new BadInputError(`--backend must be one of ${BACKENDS.join(', ')}, got '${prefer}'`);
  return prefer as BackendName | 'auto';
}

/**
 * A command's logger: human lines when the stream it logs to is a terminal, JSON lines
 * otherwise; --log-format (or DSI_LOG_FORMAT; DSI_LOG_JSON=1 means json) says which regardless.
 */
export function commandLogger(ctx: CommandContext, name: string, flags: RuntimeFlags, options: CommandLogOptions = {}): { log: Logger; format: LogFormat } {
  const stream = options.stream ?? 'stderr';
  const tty = stream === 'stdout' ? ctx.stdoutIsTTY : ctx.isTTY;
  const format = logFormat(ctx, flags, tty);
  const log = createLogger({ name, level: flags['log-level'] ?? ctx.env.DSI_LOG_LEVEL ?? options.level ?? 'info', format, colorize: format === 'pretty' && tty, stream });
  return { log, format };
}

function logFormat(ctx: CommandContext, flags: RuntimeFlags, tty: boolean): LogFormat {
  const chosen = flags['log-format'] ?? ctx.env.DSI_LOG_FORMAT ?? (ctx.env.DSI_LOG_JSON ? 'json' : undefined);
  if (chosen === undefined) return tty ? 'pretty' : 'json';
  if (!(LOG_FORMATS as readonly string[]).includes(chosen)) throw new BadInputError(`--log-format must be one of ${LOG_FORMATS.join(', ')}, got '${chosen}'`);
  return chosen as LogFormat;
}

/**
 * Environment for the processes a command starts: the parent's, with the flags that shape
 * a runtime carried over and the parent's log format. Under human lines they log warnings
 * and errors only unless a level was asked for: the parent reports their progress itself
 * (a bar, lines of its own), and a person reads one story, not one per process.
 */
export function childEnvironment(ctx: CommandContext, flags: RuntimeFlags, format: LogFormat): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...ctx.env, DSI_LOG_FORMAT: format };
  delete env.DSI_LOG_JSON;
  if (flags.backend) env.DSI_BACKEND = flags.backend;
  if (flags['log-level']) env.DSI_LOG_LEVEL = flags['log-level'];
  else if (format === 'pretty' && !ctx.env.DSI_LOG_LEVEL) env.DSI_LOG_LEVEL = 'warn';
  return env;
}
