import { KNEE } from '../scenarios.js';
import type { LoadResult } from './result.ts';
import type { Figures } from './samples.ts';

/** A run's result as k6 prints one: a line per metric, then each threshold with ✓ or ✗. */
export function formatSummary(r: LoadResult): string {
  const lines: string[] = [];
  const rate = r.executor === 'constant-arrival-rate' ? `${r.peak_rate} req/s for ${r.planned_s} s` : `up to ${r.peak_rate} req/s over ${r.planned_s} s`;
  lines.push('', `  scenario ${r.scenario} (${r.executor}, ${rate}) against ${r.url}`, `  ${r.description}`, '');
  lines.push(...figureLines(r.overall, r.achieved_rps));
  if (r.checks.length > 0) {
    lines.push('', '  endpoint checks');
    for (const c of r.checks) lines.push(`    ${c.ok ? '✓' : '✗'} ${c.name}${c.ok ? '' : `  (${c.detail})`}`);
  }
  if (r.steps.length > 0) {
    lines.push('', `  ramp steps (knee: p99 <= ${KNEE.p99Ms} ms and errors < ${KNEE.errorRate * 100}%)`);
    lines.push(`    ${'req/s'.padStart(6)} ${'requests'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'errors'.padStart(8)}`);
    for (const s of r.steps) {
      const l = s.latency_ms;
      lines.push(`    ${String(s.rate).padStart(6)} ${String(s.requests).padStart(9)} ${fmt(l?.p50).padStart(8)} ${fmt(l?.p99).padStart(8)} ${fmt(l?.max).padStart(8)} ${pct(s.error_rate).padStart(8)}${s.within ? '' : '  over'}`);
    }
    lines.push(`  knee: ${r.knee_rps === null ? 'none (the first step is already over the limits)' : `${r.knee_rps} req/s`}${r.stopped_early ? ' (the ramp stopped once two steps were over)' : ''}`);
  }
  if (r.stages.length > 0) {
    lines.push('', '  stages');
    lines.push(`    ${'from s'.padStart(7)} ${'to s'.padStart(6)} ${'req/s'.padStart(9)} ${'requests'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(8)}`);
    for (const st of r.stages) lines.push(`    ${String(st.from_s).padStart(7)} ${String(st.to_s).padStart(6)} ${`${st.rates[0]}→${st.rates[1]}`.padStart(9)} ${String(st.requests).padStart(9)} ${fmt(st.p50_ms ?? undefined).padStart(8)} ${fmt(st.p99_ms ?? undefined).padStart(8)} ${pct(st.error_rate).padStart(8)}`);
  }
  if (r.memory) {
    lines.push('', '  RSS MB at start → end (peak)');
    for (const start of r.memory.start) {
      const end = r.memory.end.find((m) => m.pid === start.pid);
      const peak = r.memory.peak.find((m) => m.pid === start.pid);
      lines.push(`    ${start.name.padEnd(14)} pid ${String(start.pid).padEnd(8)} ${start.rss_mb.toFixed(1).padStart(7)} → ${end ? end.rss_mb.toFixed(1) : 'gone'}${peak ? `  (${peak.rss_mb.toFixed(1)})` : ''}`);
    }
  }
  lines.push('');
  for (const t of r.thresholds) lines.push(`  ${t.ok ? '✓' : '✗'} ${t.metric} ${t.expression}${t.actual === null ? ' (no samples)' : `  (${round(t.actual)})`}`);
  lines.push('', `  ${r.passed ? 'PASSED' : 'FAILED'}: ${r.scenario}`, '');
  return lines.join('\n');
}

function figureLines(f: Figures, rps: number): string[] {
  const l = f.latency_ms;
  const kinds = Object.entries(f.errors_by_kind).map(([k, n]) => `${k}=${n}`).join(' ') || 'none';
  return [
    `  http_reqs..............: ${f.requests}  ${rps.toFixed(1)}/s`,
    `  http_req_duration......: ${l ? `avg=${fmt(l.avg)}ms min=${fmt(l.min)}ms med=${fmt(l.p50)}ms p(90)=${fmt(l.p90)}ms p(99)=${fmt(l.p99)}ms max=${fmt(l.max)}ms` : 'no answers'}`,
    `  http_req_failed........: ${pct(f.failed_rate)}  ${f.failed} of ${f.requests}`,
    `  errors by kind.........: ${kinds}`,
    `  search_degraded........: ${f.degraded}`,
    `  dropped_iterations.....: ${f.dropped}`,
    `  checks.................: ${pct(f.checks_rate)}`,
    `  generator lag..........: ${f.lag_ms ? `p99=${fmt(f.lag_ms.p99)}ms max=${fmt(f.lag_ms.max)}ms` : '-'}`,
  ];
}

function fmt(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return '-';
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(2);
}

function pct(rate: number): string {
  return `${(rate * 100).toFixed(2)}%`;
}

function round(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(4)).toString();
}
