/**
 * One way to make a logger for every process of the system. Production output is
 * pino's JSON lines on stdout (what log shippers expect); `pretty` is for a person at a
 * terminal and relies on pino-pretty, which is only a devDependency, so a production
 * install without it still logs rather than failing to start.
 */
import { createRequire } from 'node:module';
import { pino, type Logger as PinoLogger } from 'pino';
import { BadInputError } from './errors.ts';

export type Logger = PinoLogger;

export interface LoggerOptions {
  /** Component name, emitted as the `name` field of every line (e.g. "router", "expert-3"). */
  name: string;
  /** pino level name or "silent"; defaults to "info". */
  level?: string;
  /** Human-readable colored output via pino-pretty, when it is installed. */
  pretty?: boolean;
}

const PRETTY_TARGET = 'pino-pretty';

export function createLogger(opts: LoggerOptions): Logger {
  const level = opts.level ?? 'info';
  // pino throws a bare Error on an unknown level; the level usually comes from a flag,
  // so report it as the caller's mistake with the accepted names.
  if (level !== 'silent' && !(level in pino.levels.values)) {
    const known = [...Object.keys(pino.levels.values), 'silent'].join(', ');
    throw new BadInputError(`unknown log level "${level}" (expected one of: ${known})`);
  }

  if (opts.pretty === true) {
    if (prettyAvailable()) {
      return pino({
        name: opts.name,
        level,
        transport: { target: PRETTY_TARGET, options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
      });
    }
    const log = pino({ name: opts.name, level });
    log.warn(`${PRETTY_TARGET} is not installed (it is a devDependency); logging JSON`);
    return log;
  }
  return pino({ name: opts.name, level });
}

/**
 * The transport loads its target in a worker thread, where a missing module surfaces
 * asynchronously as a crashed worker; resolving it here first keeps the fallback
 * synchronous and certain.
 */
function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve(PRETTY_TARGET);
    return true;
  } catch {
    return false;
  }
}
