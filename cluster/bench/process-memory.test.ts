import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { kindOf, readTreeMemory, watchPeakMemory } from './process-memory.ts';

const MB = 2 ** 20;

/** A child node process, named `memory-holder` in its argv, that holds 64 MB (touched, so resident) for a moment, then exits. */
function childHolding64MB(): ReturnType<typeof spawn> {
  return spawn(process.execPath, ['-e', 'const b = Buffer.alloc(64 * 2 ** 20, 1); setTimeout(() => b.length, 600)'], { stdio: 'ignore', argv0: 'memory-holder' });
}

describe('process memory', () => {
  it('names a process by its dsi command, else by its program', () => {
    expect(kindOf(['/usr/bin/node', '/repo/bin/dsi.js', 'build-job'])).toBe('dsi build-job');
    expect(kindOf(['node', '--cpu-prof', 'bin/dsi.js', 'router', '--port', '0'])).toBe('dsi router');
    expect(kindOf(['/usr/sbin/nats-server', '-js'])).toBe('nats-server');
  });

  it('reads the processes below this one, and keeps the peak of one that has exited', async () => {
    const watch = watchPeakMemory(process.pid, 50);
    const child = childHolding64MB();
    await new Promise((r) => setTimeout(r, 400));
    const seen = readTreeMemory(process.pid).find((p) => p.pid === child.pid);
    expect(seen?.kind).toBe('memory-holder');
    expect(seen!.rssBytes).toBeGreaterThan(64 * MB);
    await once(child, 'exit');
    const peak = watch.stop();
    expect(readTreeMemory(process.pid).some((p) => p.pid === child.pid)).toBe(false);
    expect(peak.kinds['memory-holder']).toEqual({ processes: 1, peak_rss_bytes: expect.any(Number) });
    expect(peak.kinds['memory-holder']!.peak_rss_bytes).toBeGreaterThan(64 * MB);
    // This process and the child at once.
    expect(peak.tree_peak_rss_bytes).toBeGreaterThan(peak.kinds['memory-holder']!.peak_rss_bytes);
  });
});
