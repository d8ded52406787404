import type { Command } from './context.ts';

/**
 * Commands by name, loaded on demand: a training or expert process should not pay for
 * loading the evaluation or HTTP code it never runs.
 */
interface CommandEntry {
  summary: string;
  load: () => Promise<Command>;
}

export const COMMANDS: Readonly<Record<string, CommandEntry>> = Object.freeze({
  index: { summary: 'build an index from a BEIR collection', load: async () => (await import('./index-command.ts')).indexCommand },
  eval: { summary: 'measure an index on a split, next to BM25', load: async () => (await import('./eval-command.ts')).evalCommand },
  query: { summary: 'answer a query from an index, in this process', load: async () => (await import('./query-command.ts')).queryCommand },
  demo: { summary: 'build the demo index (once) and answer sample queries', load: async () => (await import('./demo-command.ts')).demoCommand },
  expert: { summary: 'serve one shard of an index over NATS', load: async () => (await import('./expert-command.ts')).expertCommand },
  router: { summary: 'serve the HTTP search API, asking the experts over NATS', load: async () => (await import('./router-command.ts')).routerCommand },
  publish: { summary: 'publish a local index into the registry', load: async () => (await import('./publish-command.ts')).publishCommand },
  status: { summary: 'print the shards of a running cluster', load: async () => (await import('./status-command.ts')).statusCommand },
  'add-shard': { summary: 'add documents as a new shard under new topics', load: async () => (await import('./add-shard-command.ts')).addShardCommand },
  retrain: { summary: "retrain one shard and publish it if it is not worse", load: async () => (await import('./retrain-command.ts')).retrainCommand },
  rollback: { summary: "make a shard's previous model current again", load: async () => (await import('./rollback-command.ts')).rollbackCommand },
  worker: { summary: 'train jobs of builds, new shards and retrains taken from a NATS job queue', load: async () => (await import('./worker-command.ts')).workerCommand },
  up: { summary: 'run NATS, the experts and the router of an index on this machine', load: async () => (await import('./up-command.ts')).upCommand },
  'build-job': { summary: '(internal) train one model of an index build', load: async () => (await import('./build-job-command.ts')).buildJobCommand },
});

export async function usage(): Promise<string> {
  const lines: string[] = [];
  for (const [name, entry] of Object.entries(COMMANDS)) {
    if (name === 'build-job') continue;
    lines.push(`  ${name.padEnd(8)} ${entry.summary}\n           ${(await entry.load()).usage}`);
  }
  return `usage: dsi <command> [flags]\n\n${lines.join('\n')}\n`;
}
