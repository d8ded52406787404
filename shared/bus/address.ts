/**
 * Where a process finds the bus and as whom it connects: one shape for every command, the
 * router, the experts, the model-fetching worker and `dsi up`. Parsed once, at the edge,
 * from flags and the environment (cluster/commands/nats-flags.ts).
 */
export interface BusAddress {
  /** NATS server URL, e.g. nats://127.0.0.1:4222. */
  readonly url: string;
  readonly token?: string;
  readonly user?: string;
  readonly pass?: string;
}

/** The credentials of an address: what a NATS server started here requires, or nothing. */
export type BusCredentials = Omit<BusAddress, 'url'>;

/** A NATS server on this machine, at its default port. */
export const DEFAULT_BUS_URL = 'nats://127.0.0.1:4222';
