import { readFileSync } from 'node:fs';
import { DEFAULT_ACCESS, type AccessConfig } from '../../router/config.ts';
import { BadInputError } from '../../shared/errors.ts';

/**
 * Who may call the router: bearer tokens and a per-client rate limit, from flags first,
 * then the environment. Tokens come from a file (one a line, `#` comments) or from
 * DSI_AUTH_TOKENS (comma-separated), never from a flag's value, so they stay out of `ps`.
 */
export const ACCESS_FLAGS = {
  'auth-tokens': { type: 'string' },
  'rate-limit': { type: 'string' },
  'rate-burst': { type: 'string' },
} as const;

export const ACCESS_FLAGS_HELP = '[--auth-tokens FILE] [--rate-limit REQ_PER_S [--rate-burst N]]';

/** Shortest token accepted: a guessable token is no protection. */
const MIN_TOKEN_CHARS = 16;

export function accessSettings(flags: { 'auth-tokens'?: string; 'rate-limit'?: string; 'rate-burst'?: string }, env: NodeJS.ProcessEnv): AccessConfig {
  const file = flags['auth-tokens'] ?? env.DSI_AUTH_TOKENS_FILE;
  const tokens = file !== undefined ? readTokens(file) : (env.DSI_AUTH_TOKENS ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of tokens) {
    if (t.length < MIN_TOKEN_CHARS || /\s/.test(t)) throw new BadInputError(`auth tokens must be at least ${MIN_TOKEN_CHARS} characters with no spaces${file ? ` (${file})` : ' (DSI_AUTH_TOKENS)'}`);
  }
  const rate = positive(flags['rate-limit'] ?? env.DSI_RATE_LIMIT, '--rate-limit');
  const burst = positive(flags['rate-burst'] ?? env.DSI_RATE_BURST, '--rate-burst');
  if (burst !== undefined && rate === undefined) throw new BadInputError('--rate-burst needs --rate-limit');
  return Object.freeze({
    tokens: Object.freeze(tokens),
    ratePerSecond: rate ?? DEFAULT_ACCESS.ratePerSecond,
    // One second's worth by default: a client may catch up on a second it was idle, no more.
    rateBurst: burst ?? (rate === undefined ? DEFAULT_ACCESS.rateBurst : Math.max(1, Math.ceil(rate))),
  });
}

/** The settings as environment variables for a child router (`dsi up`): tokens travel there, not in argv. */
export function accessEnv(access: AccessConfig): Record<string, string> {
  const env: Record<string, string> = {};
  if (access.tokens.length > 0) env.DSI_AUTH_TOKENS = access.tokens.join(',');
  if (access.ratePerSecond > 0) Object.assign(env, { DSI_RATE_LIMIT: String(access.ratePerSecond), DSI_RATE_BURST: String(access.rateBurst) });
  return env;
}

function readTokens(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new BadInputError(`cannot read the auth tokens file ${file}: ${(cause as Error).message}`, { cause });
  }
  const tokens = text.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
  if (tokens.length === 0) throw new BadInputError(`${file}: no auth tokens (one a line)`);
  return tokens;
}

function positive(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new BadInputError(`${flag} must be a positive number, got '${value}'`);
  return n;
}
