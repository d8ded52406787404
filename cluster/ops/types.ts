import type { BeirDoc } from '../../shared/beir/reader.ts';
import type { ShardData, ShardQueries } from '../../shared/artifact/shard-data.ts';
import type { IndexConfig } from '../../shared/config.ts';

/** One shard of a running cluster, as files on local disk. */
export interface ShardOnDisk {
  id: string;
  topics: number[];
  /** Folder holding SHARD_FILES. */
  dir: string;
  data: ShardData;
}

/** The models of a running cluster on local disk: what adding a shard starts from. */
export interface ClusterModels {
  config: IndexConfig;
  /** Topic ids in use are 0 .. topicCount − 1; new topics continue after them. */
  topicCount: number;
  gatingDir: string;
  shards: ShardOnDisk[];
}

/** Documents to index and the queries that point at them (train: may be trained on; heldout: only checked on). */
export interface AddedData {
  docs: BeirDoc[];
  queries: ShardQueries;
}

/** The figures every shard reports, and over how many held-out queries Hits@10 was measured. */
export interface ShardChecks {
  'index_recall@1': number;
  collision_rate: number;
  /** null when there were no held-out queries. */
  'hits@10': number | null;
  heldout_queries: number;
}

export const NO_ADDED: Readonly<AddedData> = Object.freeze({ docs: [], queries: Object.freeze({ train: [], heldout: [] }) }) as Readonly<AddedData>;
