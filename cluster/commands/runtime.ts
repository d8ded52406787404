import { initBackend, type BackendName } from '../../shared/model/backend.ts';
import { createLogger, type Logger } from '../../shared/log.ts';
import { BadInputError } from '../../shared/errors.ts';
import type { CommandContext } from './context.ts';

const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;

/** Logger and TensorFlow.js backend for a command, configured from flags first, then the environment. */
export async function startRuntime(ctx: CommandContext, name: string, flags: { backend?: string; 'log-level'?: string }): Promise<{ log: Logger; backend: BackendName }> {
  const log = commandLogger(ctx, name, flags);
  const backend = await initBackend({ prefer: backendPreference(ctx, flags), log });
  return { log, backend };
}

/** The backend asked for (flag, then DSI_BACKEND); an unknown name is a BadInputError. */
export function backendPreference(ctx: CommandContext, flags: { backend?: string }): BackendName | 'auto' {
  const prefer = flags.backend ?? ctx.env.DSI_BACKEND ?? 'auto';
  if (!(BACKENDS as readonly string[]).includes(prefer)) throw new BadInputError(`--backend must be one of ${BACKENDS.join(', ')}, got '${prefer}'`);
  return prefer as BackendName | 'auto';
}

/** The logger alone, for a command that trains nothing itself (a worker: its children do). */
export function commandLogger(ctx: CommandContext, name: string, flags: { 'log-level'?: string }): Logger {
  return createLogger({ name, level: flags['log-level'] ?? ctx.env.DSI_LOG_LEVEL ?? 'info', pretty: ctx.isTTY && !ctx.env.DSI_LOG_JSON });
}

export const RUNTIME_FLAGS = {
  backend: { type: 'string' },
  'log-level': { type: 'string' },
} as const;

/** Environment for child processes of a command: the parent's, with the flags that shape a runtime carried over. */
export function childEnvironment(ctx: CommandContext, flags: { backend?: string; 'log-level'?: string }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...ctx.env, DSI_LOG_JSON: '1' };
  if (flags.backend) env.DSI_BACKEND = flags.backend;
  if (flags['log-level']) env.DSI_LOG_LEVEL = flags['log-level'];
  return env;
}
