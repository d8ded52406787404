import type { DrillResult } from './drill.ts';

/** A drill's result as a few lines of text: the verdict, the load, what clients saw, the drill's own measures. */
export function formatDrill(r: DrillResult): string {
  const lines = [``, `  ${r.outcome === 'pass' ? '✓' : r.outcome === 'fail' ? '✗' : '-'} ${r.name}: ${r.title}`, `    expected: ${r.expectation}`];
  if (r.outcome === 'skipped') {
    lines.push(`    skipped: ${r.notes.join('; ')}`);
    return `${lines.join('\n')}\n`;
  }
  const f = r.figures;
  if (f) {
    const l = f.latency_ms;
    const kinds = Object.entries(f.errors_by_kind).map(([k, n]) => `${k}=${n}`).join(' ') || 'none';
    lines.push(`    load: ${r.load}; ${f.requests} searches, p50 ${l ? l.p50.toFixed(1) : '-'} ms, p99 ${l ? l.p99.toFixed(1) : '-'} ms, errors: ${kinds}, degraded: ${f.degraded}`);
  }
  lines.push(`    measured: ${Object.entries(r.measures).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  for (const n of r.notes) lines.push(`    note: ${n}`);
  return `${lines.join('\n')}\n`;
}
