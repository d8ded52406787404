import type { IndexConfig } from '../../config.ts';
import { VocabularyBuilder, type Vocabulary } from '../../text/vocabulary.ts';
import type { TrainingCorpus } from '../examples.ts';
import { fullView } from '../views.ts';

/**
 * The vocabulary a text tower is built over: every feature of the documents' whole texts
 * and of the training queries that passes the config's thresholds, with idf weights. Each
 * expert builds one over its shard; a build or a growth step builds one over every
 * document, for the pre-trained tower and the gating model.
 */
export function buildVocabulary(corpus: TrainingCorpus, config: Readonly<IndexConfig>): Vocabulary {
  const builder = new VocabularyBuilder(config.vocabulary);
  for (const doc of corpus.docs) builder.addDocument(fullView(doc, config.featurizer));
  for (const q of corpus.queries) builder.addExtra(q.bag);
  return builder.build();
}
