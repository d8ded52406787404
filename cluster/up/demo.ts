import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { openIndex } from '../../shared/artifact/index-artifact.ts';
import { MANIFEST_FILE } from '../../shared/artifact/manifest.ts';
import { ArtifactError } from '../../shared/errors.ts';
import { defaultIndexConfig } from '../../shared/config.ts';
import type { Logger } from '../../shared/log.ts';
import { createProgress } from '../../shared/progress.ts';
import { buildIndex } from '../indexing/build-index.ts';
import { LocalJobRunner } from '../indexing/local-job-runner.ts';
import { DEMO_CORPUS, SAMPLE_QUERIES } from '../commands/demo-command.ts';

/** `dsi up --demo`: the demo index built on first use (as `dsi demo` builds it), and sample queries sent over HTTP once the cluster is ready. */
export async function ensureDemoIndex(indexDir: string, options: { log: Logger; tty: boolean; childEnv: NodeJS.ProcessEnv }): Promise<void> {
  const { log } = options;
  if (existsSync(join(indexDir, MANIFEST_FILE))) {
    // The demo index is derived from files in the repository: one this build cannot read
    // (built by an older version) is rebuilt rather than refused.
    try {
      await openIndex(indexDir);
      return;
    } catch (error) {
      if (!(error instanceof ArtifactError)) throw error;
      log.warn({ reason: error.message }, 'the demo index is from another version; rebuilding it');
    }
  }
  log.info({ corpus: DEMO_CORPUS, out: indexDir }, 'building the demo index (once)');
  await buildIndex({
    corpusDir: DEMO_CORPUS,
    outDir: indexDir,
    configFor: (n) => defaultIndexConfig(n, 2, 1),
    log,
    progress: createProgress({ tty: options.tty, log }),
    runner: new LocalJobRunner({ parallel: availableParallelism(), log, env: options.childEnv }),
  });
}

interface SearchAnswer {
  results: { id: string; docid: string; score: number; shard: string; title: string }[];
  routed: { topic: number; p: number }[];
  took_ms: number;
  degraded: boolean;
}

/** Sends the sample queries to a running router the way any client would, and prints their top answers and a curl line to try. */
export async function showSampleQueries(url: string, out: NodeJS.WritableStream, token?: string): Promise<void> {
  for (const query of SAMPLE_QUERIES) {
    const response = await fetch(`${url}/v1/search`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ query, k: 3 }) });
    if (!response.ok) {
      out.write(`\n"${query}"  HTTP ${response.status}: ${await response.text()}\n`);
      continue;
    }
    const answer = (await response.json()) as SearchAnswer;
    out.write(`\n"${query}"  (${answer.took_ms.toFixed(1)} ms, topics ${answer.routed.map((r) => r.topic).join(',')}${answer.degraded ? ', degraded' : ''})\n`);
    for (const h of answer.results) out.write(`   ${h.docid.padEnd(10)} ${h.title.padEnd(30)} score ${h.score.toFixed(2)}  [${h.shard}]\n`);
  }
  out.write(`\ntry:  curl -s -X POST ${url}/v1/search -H 'content-type: application/json' -d '{"query":"image viewer","k":5}'\n`);
  out.write(`      curl -s ${url}/v1/shards\n`);
}
