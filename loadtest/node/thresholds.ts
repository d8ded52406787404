/**
 * k6 threshold expressions (`p(99)<25`, `rate<0.001`, `max>=0`…) on the metrics the Node
 * runner measures, so the scenarios' thresholds are evaluated here exactly as written for
 * k6. Supported: aggregations avg, min, med, max, p(N) on trends, rate on rates, count on
 * counters; operators < <= > >= ==; a metric may carry one tag filter, e.g. `{step:3}`.
 */
export interface ThresholdResult {
  readonly metric: string;
  readonly expression: string;
  readonly actual: number | null;
  readonly ok: boolean;
}

/** Values a metric (optionally filtered by a tag) can be aggregated to: null when it had no samples. */
export type MetricLookup = (metric: string, tag: { key: string; value: string } | undefined, aggregation: string) => number | null;

const EXPRESSION = /^\s*(avg|min|med|max|count|rate|p\((\d+(?:\.\d+)?)\))\s*(<=|>=|==|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/;
const METRIC = /^([a-z_][a-z0-9_]*)(?:\{([a-z_][a-z0-9_]*):([^}]*)\})?$/i;

export function evaluateThresholds(thresholds: Readonly<Record<string, readonly string[]>>, lookup: MetricLookup): ThresholdResult[] {
  const results: ThresholdResult[] = [];
  for (const [name, expressions] of Object.entries(thresholds)) {
    const m = METRIC.exec(name);
    if (!m) throw new Error(`threshold on '${name}': not a metric name`);
    const tag = m[2] === undefined ? undefined : { key: m[2], value: m[3]! };
    for (const expression of expressions) {
      const e = EXPRESSION.exec(expression);
      if (!e) throw new Error(`threshold '${name}: ${expression}': not an expression this runner knows`);
      const aggregation = e[2] === undefined ? e[1]! : `p${e[2]}`;
      const actual = lookup(m[1]!, tag, aggregation);
      // k6 passes a threshold whose sub-metric saw no samples; so does this runner.
      const ok = actual === null ? true : compare(actual, e[3]!, Number(e[4]));
      results.push({ metric: name, expression, actual, ok });
    }
  }
  return results;
}

function compare(actual: number, op: string, limit: number): boolean {
  switch (op) {
    case '<':
      return actual < limit;
    case '<=':
      return actual <= limit;
    case '>':
      return actual > limit;
    case '>=':
      return actual >= limit;
    default:
      return actual === limit;
  }
}
