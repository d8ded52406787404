import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalIndex } from '../../cluster/local-index.ts';
import type { Manifest } from '../../shared/artifact/manifest.ts';
import { connectBus, type Bus, type BusSubscription } from '../../shared/bus/connection.ts';
import { followHeartbeats, ShardView } from '../../shared/bus/shard-view.ts';
import { createLogger } from '../../shared/log.ts';
import { initBackend } from '../../shared/model/backend.ts';
import { buildDemoIndex, type DemoIndexOptions } from './demo-index.ts';
import { startNatsServer, type NatsServerHandle } from './nats-server.ts';
import { ProcessRegistry, type DsiProcess } from './processes.ts';

export interface ExpertFleetOptions {
  /** Names the temporary folder and the client's bus connection. */
  readonly name: string;
  readonly shards: readonly string[];
  readonly demo?: DemoIndexOptions;
  /** The shards of each expert process started at once (one process may serve several). */
  readonly experts: readonly (readonly string[])[];
}

/**
 * A demo index served by real `dsi expert` processes on a real nats-server, next to the
 * same index loaded in this process (what the experts' answers are compared with), and a
 * client connection whose view follows the experts' heartbeats.
 */
export class ExpertFleet {
  readonly processes = new ProcessRegistry();
  readonly work: string;
  readonly indexDir: string;
  readonly view: ShardView;
  nats!: NatsServerHandle;
  index!: LocalIndex;
  manifest!: Manifest;
  client!: Bus;
  /** The processes started with the fleet, in the order of `experts`. */
  experts: DsiProcess[] = [];
  #heartbeats: BusSubscription | undefined;

  private constructor(name: string, shards: readonly string[]) {
    this.work = mkdtempSync(join(tmpdir(), `dsi-${name}-`));
    this.indexDir = join(this.work, 'index');
    this.view = new ShardView([...shards]);
  }

  /** Builds the index while nats-server starts, starts the experts, loads the index here and follows heartbeats; experts may not be ready yet. */
  static async start(o: ExpertFleetOptions): Promise<ExpertFleet> {
    const fleet = new ExpertFleet(o.name, o.shards);
    [fleet.nats] = await Promise.all([startNatsServer(), buildDemoIndex(fleet.indexDir, o.demo)]);
    fleet.experts = o.experts.map((shards) => fleet.startExpert(shards));
    await initBackend({ prefer: 'wasm' });
    ({ index: fleet.index, manifest: fleet.manifest } = await LocalIndex.open(fleet.indexDir));
    const log = createLogger({ name: o.name, level: 'silent' });
    fleet.client = await connectBus({ url: fleet.nats.url, name: o.name, log });
    fleet.#heartbeats = followHeartbeats(fleet.client, fleet.view, log);
    return fleet;
  }

  startExpert(shards: readonly string[]): DsiProcess {
    return this.processes.spawnDsi(['expert', '--index', this.indexDir, ...shards.flatMap((s) => ['--shard', s]), '--nats', this.nats.url]);
  }

  async stop(): Promise<void> {
    await this.processes.killAll();
    await this.#heartbeats?.drain();
    await this.client?.close();
    this.index?.dispose();
    await this.nats?.stop();
    rmSync(this.work, { recursive: true, force: true });
  }
}
