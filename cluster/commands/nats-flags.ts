import { DEFAULT_BUS_URL, type BusAddress } from '../../shared/bus/address.ts';
import { BadInputError } from '../../shared/errors.ts';

/** The flags every command that talks to NATS takes, with their help text. */
export const NATS_FLAGS = {
  nats: { type: 'string' },
  token: { type: 'string' },
  user: { type: 'string' },
  pass: { type: 'string' },
} as const;

export const NATS_FLAGS_HELP = '[--nats URL] [--token T | --user U --pass P]';

type NatsFlagValues = { nats?: string; token?: string; user?: string; pass?: string };

/** The bus address from the flags, then DSI_NATS_URL / _TOKEN / _USER / _PASS, then the local default. */
export function natsAddress(flags: NatsFlagValues, env: NodeJS.ProcessEnv): BusAddress {
  const url = natsUrlGiven(flags, env) ?? DEFAULT_BUS_URL;
  const token = flags.token ?? env.DSI_NATS_TOKEN;
  const user = flags.user ?? env.DSI_NATS_USER;
  const pass = flags.pass ?? env.DSI_NATS_PASS;
  if (token && (user || pass)) throw new BadInputError('give either --token or --user/--pass, not both (flags or DSI_NATS_* variables)');
  if (Boolean(user) !== Boolean(pass)) throw new BadInputError('--user and --pass go together');
  return Object.freeze({ url, ...(token ? { token } : {}), ...(user && pass ? { user, pass } : {}) });
}

/** The URL the user named (flag or DSI_NATS_URL), if any: `dsi up` joins that server instead of starting one. */
export function natsUrlGiven(flags: NatsFlagValues, env: NodeJS.ProcessEnv): string | undefined {
  return flags.nats ?? env.DSI_NATS_URL;
}

/** The credentials of an address as environment variables for a child process: they travel there, not in argv (where `ps` shows them). */
export function natsEnv(address: BusAddress): Record<string, string> {
  const env: Record<string, string> = {};
  if (address.token) env.DSI_NATS_TOKEN = address.token;
  if (address.user && address.pass) Object.assign(env, { DSI_NATS_USER: address.user, DSI_NATS_PASS: address.pass });
  return env;
}
