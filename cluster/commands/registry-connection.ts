import { connectBus, type Bus } from '../../shared/bus/connection.ts';
import type { Logger } from '../../shared/log.ts';
import { Registry } from '../../shared/registry/registry.ts';
import type { BusAddress } from '../../shared/bus/address.ts';

/** Runs `work` with the registry of the NATS server named by the flags, and leaves the bus cleanly whatever happens. */
export async function withRegistry<T>(nats: BusAddress, name: string, log: Logger, work: (registry: Registry, bus: Bus) => Promise<T>): Promise<T> {
  const bus = await connectBus({ ...nats, name, log });
  try {
    return await work(await Registry.open(bus), bus);
  } finally {
    await bus.drain().catch(() => bus.close());
  }
}
