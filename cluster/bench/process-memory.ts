/**
 * Memory of a tree of processes, read from Linux's /proc: each process's resident set
 * (VmRSS) and its high-water mark (VmHWM, the largest resident set it has had), grouped by
 * kind (`dsi index`, `dsi build-job`, `dsi router`, `nats-server`…). A process that
 * lives to the end can be read once (its VmHWM holds its peak); one that exits before
 * (a build's training jobs) has to be watched while it runs: `watchPeakMemory`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

export interface ProcessMemory {
  pid: number;
  kind: string;
  rssBytes: number;
  peakBytes: number;
}

export interface KindPeak {
  /** Processes of this kind seen. */
  processes: number;
  /** The largest VmHWM among them: the most memory one process of this kind held. */
  peak_rss_bytes: number;
}

export interface TreePeak {
  kinds: Record<string, KindPeak>;
  /** The largest sum of every process's VmRSS at one sample: what the tree held at once. */
  tree_peak_rss_bytes: number;
}

/** Every process of the tree rooted at `root` (itself first) with its memory; processes that end while it reads are left out. */
export function readTreeMemory(root: number): ProcessMemory[] {
  const out: ProcessMemory[] = [];
  for (const pid of [root, ...descendants(root)]) {
    const memory = readMemory(pid);
    if (memory) out.push(memory);
  }
  return out;
}

/**
 * Reads the tree every `intervalMs` until stopped; `stop()` returns each kind's peak. A
 * process's VmHWM only grows, so its last reading is its peak up to that sample (one that
 * grows in its last interval before exiting is under-read by that growth).
 */
export function watchPeakMemory(root: number, intervalMs = 200): { stop(): TreePeak } {
  const peaks = new Map<number, { kind: string; peakBytes: number }>();
  let treePeak = 0;
  const sample = () => {
    const tree = readTreeMemory(root);
    for (const p of tree) {
      const seen = peaks.get(p.pid);
      peaks.set(p.pid, { kind: seen?.kind ?? p.kind, peakBytes: Math.max(p.peakBytes, seen?.peakBytes ?? 0) });
    }
    treePeak = Math.max(treePeak, tree.reduce((sum, p) => sum + p.rssBytes, 0));
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { kinds: peaksByKind(peaks.values()), tree_peak_rss_bytes: treePeak };
    },
  };
}

export function peaksByKind(processes: Iterable<{ kind: string; peakBytes: number }>): Record<string, KindPeak> {
  const kinds: Record<string, KindPeak> = {};
  for (const p of processes) {
    const k = (kinds[p.kind] ??= { processes: 0, peak_rss_bytes: 0 });
    k.processes++;
    k.peak_rss_bytes = Math.max(k.peak_rss_bytes, p.peakBytes);
  }
  return kinds;
}

/** `dsi <command>` for a process of bin/dsi.js (node's flags before it skipped), else its program's name. */
export function kindOf(argv: readonly string[]): string {
  const script = argv.findIndex((arg) => arg.endsWith('/dsi.js') || arg === 'dsi.js');
  if (script >= 0 && argv[script + 1]) return `dsi ${argv[script + 1]}`;
  return basename(argv[0] ?? '');
}

function descendants(root: number): number[] {
  const childrenOf = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const parent = parentOf(Number(name));
    if (parent !== undefined) childrenOf.set(parent, [...(childrenOf.get(parent) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const queue = [...(childrenOf.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(childrenOf.get(pid) ?? []));
  }
  return out;
}

/** The parent pid from /proc/<pid>/stat ("pid (comm) state ppid …", comm may hold spaces and parentheses: the fields follow the last ')'). */
function parentOf(pid: number): number | undefined {
  const stat = readProcFile(pid, 'stat');
  if (stat === undefined) return undefined;
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

function readMemory(pid: number): ProcessMemory | undefined {
  const status = readProcFile(pid, 'status');
  const cmdline = readProcFile(pid, 'cmdline');
  // No command line: a process exiting (its memory already given back) or a zombie.
  if (status === undefined || !cmdline) return undefined;
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { pid, kind: kindOf(cmdline.split('\0').filter(Boolean)), rssBytes: kib('VmRSS'), peakBytes: kib('VmHWM') };
}

/** A file of /proc/<pid>, or undefined when the process has gone (or never was). */
function readProcFile(pid: number, name: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return undefined;
  }
}
