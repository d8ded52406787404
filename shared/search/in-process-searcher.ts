import type { ShardAnswer, ShardQuery } from '../bus/protocol.ts';
import { LOCAL_INDEX_VERSION } from '../artifact/index-artifact.ts';
import { ShardUnavailableError } from '../errors.ts';
import type { LoadedExpert } from '../model/expert/expert-store.ts';
import { searchExpert, type ExpertSearchConfig } from '../model/expert/search-expert.ts';
import { searchEach, type ShardOutcome, type ShardSearcher } from './shard-searcher.ts';

/** How in-process answers name their replica. */
export const IN_PROCESS_REPLICA = 'in-process';

/**
 * The shards as experts loaded in this process: each is searched exactly as its expert
 * process would search it (searchExpert), with no bus in between.
 */
export class InProcessSearcher implements ShardSearcher {
  readonly #experts: ReadonlyMap<string, LoadedExpert>;
  readonly #config: ExpertSearchConfig;
  readonly #version: number;

  /** `version`: the model version the answers report (an index folder holds version 1 of every shard). */
  constructor(experts: ReadonlyMap<string, LoadedExpert>, config: ExpertSearchConfig, version = LOCAL_INDEX_VERSION) {
    this.#experts = experts;
    this.#config = config;
    this.#version = version;
  }

  async search(shard: string, query: ShardQuery): Promise<ShardAnswer> {
    const expert = this.#experts.get(shard);
    if (!expert) throw new ShardUnavailableError(shard, 'no expert of it is loaded in this process');
    return { hits: searchExpert(expert, query, this.#config), replica: IN_PROCESS_REPLICA, version: this.#version };
  }

  searchShards(queries: ReadonlyMap<string, ShardQuery>): Promise<ShardOutcome[]> {
    return searchEach(this, queries);
  }
}
