import type { WeightedTerms } from './query-head.ts';
import { searchSorted } from './sorted.ts';
import type { TermIndex } from './term-index.ts';

/**
 * The lexical half's plan over topics: for every term, the topics whose documents have it
 * and the largest impact it has in each. A query's bound for a topic, Σ weight · largest
 * impact, is the most any of its documents could score lexically, so the router can ask
 * the topics where the lexical half would find strong candidates even when the gating
 * model did not expect them (PAG's plan, at the level of topics). Its size grows with
 * terms and topics, not with documents.
 */
export class TopicTerms {
  /** Term ids, ascending; term i's topics are topics[offsets[i] .. offsets[i + 1]). */
  readonly terms: Uint32Array;
  readonly offsets: Int32Array;
  readonly topics: Int32Array;
  readonly impacts: Float32Array;

  constructor(terms: Uint32Array, offsets: Int32Array, topics: Int32Array, impacts: Float32Array) {
    this.terms = terms;
    this.offsets = offsets;
    this.topics = topics;
    this.impacts = impacts;
  }

  static empty(): TopicTerms {
    return new TopicTerms(new Uint32Array(0), new Int32Array(1), new Int32Array(0), new Float32Array(0));
  }

  /** From documents' term lists and each document's topic. */
  static build(index: TermIndex, topicOfDoc: ArrayLike<number>): TopicTerms {
    return TopicTerms.empty().withDocuments(index, topicOfDoc);
  }

  /** This plan with more documents (a new shard's) counted in. */
  withDocuments(index: TermIndex, topicOfDoc: ArrayLike<number>): TopicTerms {
    const best = new Map<number, Map<number, number>>();
    for (let i = 0; i < this.terms.length; i++) {
      const m = new Map<number, number>();
      for (let p = this.offsets[i]!; p < this.offsets[i + 1]!; p++) m.set(this.topics[p]!, this.impacts[p]!);
      best.set(this.terms[i]!, m);
    }
    for (let d = 0; d < index.documents; d++) {
      const topic = topicOfDoc[d]!;
      for (let p = index.docOffsets[d]!; p < index.docOffsets[d + 1]!; p++) {
        const term = index.terms[index.docTerms[p]!]!;
        let m = best.get(term);
        if (!m) best.set(term, (m = new Map()));
        const impact = index.docImpacts[p]!;
        if (impact > (m.get(topic) ?? 0)) m.set(topic, impact);
      }
    }
    const terms = Uint32Array.from(best.keys()).sort();
    const offsets = new Int32Array(terms.length + 1);
    let total = 0;
    terms.forEach((t, i) => {
      total += best.get(t)!.size;
      offsets[i + 1] = total;
    });
    const topics = new Int32Array(total);
    const impacts = new Float32Array(total);
    terms.forEach((t, i) => {
      let at = offsets[i]!;
      for (const [topic, impact] of [...best.get(t)!].sort((a, b) => a[0] - b[0])) {
        topics[at] = topic;
        impacts[at++] = impact;
      }
    });
    return new TopicTerms(terms, offsets, topics, impacts);
  }

  /** Each topic's bound for a query: Σ over its positive terms of weight · the term's largest impact in the topic. */
  bounds(query: WeightedTerms): Map<number, number> {
    const out = new Map<number, number>();
    for (let q = 0; q < query.ids.length; q++) {
      const w = query.weights[q]!;
      if (w <= 0) continue;
      const i = searchSorted(this.terms, query.ids[q]!);
      if (i < 0) continue;
      for (let p = this.offsets[i]!; p < this.offsets[i + 1]!; p++) out.set(this.topics[p]!, (out.get(this.topics[p]!) ?? 0) + w * this.impacts[p]!);
    }
    return out;
  }
}
