import { readdirSync, readFileSync } from 'node:fs';

/**
 * The processes of a cluster, from /proc (Linux): their tree, and their resident memory,
 * which the soak and steady runs report at their start and end to show it stays flat.
 */
export interface ProcessMemory {
  readonly pid: number;
  /** e.g. "router", "expert s0", "nats-server"; "" for a process that is none of the cluster's. */
  readonly name: string;
  readonly rss_mb: number;
}

/** The process and every process below it, with their RSS; [] where /proc is not there. */
export function treeMemory(rootPid: number): ProcessMemory[] {
  // Only the cluster's own processes: not the runtime's own processes (tsx's esbuild service).
  return processTree(rootPid).flatMap((pid) => {
    const m = memoryOf(pid);
    return m && m.name !== '' ? [m] : [];
  });
}

/** The pid and every pid below it (children, their children…), from /proc; [] where /proc is not there. */
export function processTree(rootPid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  const parent = new Map<number, number>();
  for (const e of entries) {
    try {
      // Field 4 of /proc/PID/stat, after the parenthesised command name (which may hold spaces).
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const tree = [rootPid];
  for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of parent) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

/** The command line of a process, for reports; '' once it is gone. */
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

export function memoryOf(pid: number): ProcessMemory | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    if (!rss) return undefined;
    return { pid, name: nameOf(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')), rss_mb: Math.round(Number(rss[1]) / 102.4) / 10 };
  } catch {
    return undefined;
  }
}

function nameOf(argv: string[]): string {
  if (argv.some((a) => a.endsWith('nats-server'))) return 'nats-server';
  const i = argv.findIndex((a) => a.endsWith('dsi.js'));
  if (i < 0) return '';
  const command = argv[i + 1] ?? '';
  const shard = argv.indexOf('--shard');
  return shard > 0 ? `${command} ${argv[shard + 1]}` : command;
}
