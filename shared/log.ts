/**
 * One way to make a logger for every process of the system. Two formats: pino's JSON
 * lines (what log shippers expect: the default when the output is not a terminal) and
 * human lines for a person at a terminal, one line per event:
 *
 *   18:04:12 INFO  dsi-up  nats-server started  url=nats://127.0.0.1:40123 pid=4242
 *
 * Human lines are formatted by pino-pretty in this thread (not a transport's worker), so
 * they come out in order with what the process writes itself.
 *
 * Logs go to stderr unless a process's output is its log: stdout is for results (a
 * report, JSON), so `dsi eval --json > file` writes a clean file. The services (`dsi
 * expert`, `dsi router`, `dsi up`) log on stdout, where log shippers read them.
 */
import { createRequire } from 'node:module';
import { pino, type Logger as PinoLogger } from 'pino';
import type PinoPretty from 'pino-pretty';
import { BadInputError } from './errors.ts';

export type Logger = PinoLogger;

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  /** Component name, emitted as the `name` field of every line (e.g. "dsi-router"). */
  name: string;
  /** pino level name or "silent"; defaults to "info". */
  level?: string;
  /** JSON lines (the default) or human lines. */
  format?: LogFormat;
  /** Colours in human lines. */
  colorize?: boolean;
  /** Where the lines go; stderr unless given. */
  stream?: LogStream;
}

export type LogStream = 'stdout' | 'stderr';

const FD_OF: Readonly<Record<LogStream, number>> = { stdout: 1, stderr: 2 };

/** Fields every line has, which a human line shows in its own way or not at all. */
const SHOWN_APART = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

export function createLogger(opts: LoggerOptions): Logger {
  const level = opts.level ?? 'info';
  // pino throws a bare Error on an unknown level; the level usually comes from a flag,
  // so report it as the caller's mistake with the accepted names.
  if (level !== 'silent' && !(level in pino.levels.values)) {
    const known = [...Object.keys(pino.levels.values), 'silent'].join(', ');
    throw new BadInputError(`unknown log level "${level}" (expected one of: ${known})`);
  }
  const fd = FD_OF[opts.stream ?? 'stderr'];
  if (opts.format !== 'pretty') return pino({ name: opts.name, level }, pino.destination({ dest: fd, sync: true }));
  // Loaded only here: the processes that log JSON (servers, CI) do not pay for it at start-up.
  const prettyStream = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  const pretty = prettyStream({
    colorize: opts.colorize ?? false,
    translateTime: 'SYS:HH:MM:ss',
    ignore: [...SHOWN_APART].filter((k) => k !== 'level' && k !== 'time').join(','),
    hideObject: true,
    sync: true,
    destination: fd,
    messageFormat: (log, messageKey) => humanMessage(log, messageKey),
  });
  return pino({ name: opts.name, level }, pretty);
}

/**
 * `name  message  key=value …`: the fields of the event after its message, values as
 * compact JSON unless plain words, an error as its message (its stack is in the JSON lines).
 */
export function humanMessage(log: Record<string, unknown>, messageKey = 'msg'): string {
  const shown = (v: unknown): unknown => (v && typeof v === 'object' && 'message' in v && 'stack' in v ? (v as { message: unknown }).message : v);
  const fields = Object.entries(log)
    .filter(([k]) => !SHOWN_APART.has(k) && k !== messageKey)
    .map(([k, raw]) => {
      const v = shown(raw);
      return `${k}=${typeof v === 'string' && /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)}`;
    });
  return [log.name, log[messageKey], fields.join(' ')].filter((part) => part !== undefined && part !== '').join('  ');
}
