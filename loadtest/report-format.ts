import { SCENARIOS } from './scenarios.js';
import type { DrillResult } from './drills/drill.ts';
import type { LoadResult } from './node/result.ts';
import type { Figures } from './node/samples.ts';

/** The results section of loadtest/README.md, from a report's data: one table for scenarios and drills, then the ramp steps and memory. */
export interface ReportData {
  readonly command: string;
  readonly at: string;
  readonly machine: { cores: number; cpu: string; memory_gb: number; load_average_before?: number[] };
  readonly index: string;
  readonly replicas: number;
  /** Shards one expert process served in the scenarios (absent in reports of before the option: one). */
  readonly shards_per_expert?: number;
  readonly knee_rps: number | null;
  readonly scenarios: readonly Omit<LoadResult, 'run'>[];
  readonly drills: readonly DrillResult[];
}

export const START = '<!-- report:start -->';
export const END = '<!-- report:end -->';

export function replaceReport(readme: string, section: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`loadtest/README.md has no ${START} … ${END} markers`);
  return `${readme.slice(0, a + START.length)}\n${section}\n${readme.slice(b)}`;
}

export function renderReport(r: ReportData): string {
  const out: string[] = [];
  const load = r.machine.load_average_before ? `; load average before the run ${r.machine.load_average_before.join(', ')}` : '';
  out.push(`Measured ${r.at.slice(0, 16).replace('T', ' ')} UTC on ${r.machine.cores} cores (${r.machine.cpu}, ${r.machine.memory_gb} GB${load}), index \`${r.index}\`, ${r.replicas} replica(s) per shard, ${r.shards_per_expert ?? 1} shard(s) per expert process in the scenarios (one per process in the drills); load generator, router, experts and NATS all on the same cores. Regenerate with:`);
  out.push('', '```bash', r.command, '```', '');
  out.push(`**Knee** (highest ramp step with p99 ≤ 25 ms and errors < 0.1%): **${r.knee_rps === null ? 'none' : `${r.knee_rps} req/s`}**.`, '');
  out.push('| run | load applied | requests | p50 ms | p99 ms | errors by kind | degraded | expectation | outcome |');
  out.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const s of r.scenarios) {
    const load = s.executor === 'constant-arrival-rate' ? `${s.peak_rate} req/s for ${s.elapsed_s.toFixed(0)} s` : `up to ${s.peak_rate} req/s, ${s.elapsed_s.toFixed(0)} s`;
    const expectation = s.thresholds.map((t) => `${t.metric} ${t.expression}`).join(', ');
    // For a spike, how latency stood before it and after it: it must come back down.
    const stages = s.stages.length >= 2 ? ` (p99 before ${fmt(s.stages[0]!.p99_ms)} ms, during ${fmt(Math.max(...s.stages.slice(1, -1).map((x) => x.p99_ms ?? 0)))} ms, after ${fmt(s.stages.at(-1)!.p99_ms)} ms)` : '';
    const outcome = s.scenario === 'ramp' ? `knee ${r.knee_rps ?? 'none'} req/s${s.passed ? '' : ' (first step over)'}` : s.passed ? 'pass' : `**fail** (${s.thresholds.filter((t) => !t.ok).map((t) => `${t.metric} ${t.expression}: ${fmt(t.actual)}`).join('; ') || 'checks'})`;
    out.push(`| ${s.scenario} | ${load} | ${s.overall.requests} | ${fmt(s.overall.latency_ms?.p50)} | ${fmt(s.overall.latency_ms?.p99)} | ${kinds(s.overall)} | ${s.overall.degraded} | ${expectation} | ${outcome}${stages} |`);
  }
  for (const d of r.drills) {
    const f = d.figures;
    const measures = Object.entries(d.measures).map(([k, v]) => `${k} ${v}`).join('; ');
    const outcome = d.outcome === 'pass' ? 'pass' : d.outcome === 'fail' ? '**fail**' : `skipped: ${d.notes.join('; ')}`;
    out.push(`| drill: ${d.name} | ${d.load} | ${f ? f.requests : '-'} | ${fmt(f?.latency_ms?.p50)} | ${fmt(f?.latency_ms?.p99)} | ${f ? kinds(f) : '-'} | ${f ? f.degraded : '-'} | ${d.expectation} | ${outcome}${measures ? ` (${measures})` : ''} |`);
  }
  const ramp = r.scenarios.find((s) => s.scenario === 'ramp');
  if (ramp && ramp.steps.length > 0) {
    const steps = SCENARIOS.ramp.steps!;
    out.push('', `**Ramp steps** (${steps.rise} rise, then ${steps.hold} held and measured):`, '');
    out.push('| req/s | requests | p50 ms | p99 ms | max ms | errors | within knee limits |');
    out.push('| --- | --- | --- | --- | --- | --- | --- |');
    for (const s of ramp.steps) out.push(`| ${s.rate} | ${s.requests} | ${fmt(s.latency_ms?.p50)} | ${fmt(s.latency_ms?.p99)} | ${fmt(s.latency_ms?.max)} | ${(s.error_rate * 100).toFixed(2)}% | ${s.within ? 'yes' : 'no'} |`);
  }
  const steady = r.scenarios.find((s) => s.scenario === 'steady');
  if (steady?.memory) {
    out.push('', `**Memory during steady** (${steady.peak_rate} req/s for ${steady.elapsed_s.toFixed(0)} s), RSS in MB:`, '');
    out.push('| process | start | end | change | peak (sampled every 5 s) |');
    out.push('| --- | --- | --- | --- | --- |');
    for (const m of steady.memory.start) {
      const end = steady.memory.end.find((e) => e.pid === m.pid);
      const peak = steady.memory.peak?.find((e) => e.pid === m.pid);
      out.push(`| ${m.name} (pid ${m.pid}) | ${m.rss_mb.toFixed(1)} | ${end ? end.rss_mb.toFixed(1) : 'gone'} | ${end ? signed(end.rss_mb - m.rss_mb) : '-'} | ${peak ? peak.rss_mb.toFixed(1) : '-'} |`);
    }
  }
  const notes = r.drills.flatMap((d) => d.notes.filter(() => d.outcome !== 'skipped').map((n) => `- ${d.name}: ${n}`));
  if (notes.length > 0) out.push('', ...notes);
  return out.join('\n');
}

function kinds(f: Figures): string {
  return Object.entries(f.errors_by_kind).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
}

function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '-';
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

function signed(v: number): string {
  return `${v >= 0 ? '+' : ''}${v.toFixed(1)}`;
}
