import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { processExists } from '../../cluster/up/process-exists.ts';
import { freePort } from '../../cluster/up/ports.ts';
import { OK } from '../node/samples.ts';
import { startLocalUp } from '../node/local-up.ts';
import { commandOf, processTree } from '../node/processes.ts';
import { sleep } from './drill-cluster.ts';
import { result, round, type Drill } from './drill.ts';
import { underLoad, untilReadyFor } from './under-load.ts';

/** Longest the processes `dsi up` started may outlive it. */
const ORPHANS_GONE_MS = 5000;
const FAULT_AT_MS = 5000;
/** Load keeps running this long after the new `dsi up` is ready, to show it answers. */
const AFTER_READY_MS = 5000;

/**
 * SIGKILL of `dsi up` itself: no handler runs, so its children must notice on their own
 * (experts and router read end-of-file on the pipe it gave them; nats-server gets SIGTERM
 * from the kernel through setpriv --pdeathsig). Then a new `dsi up` on the same port,
 * which removes the dead one's NATS folder. Searches run throughout; those due while no
 * router listens fail, as they must; those due once the new one is ready must not.
 */
export const killSupervisorDrill: Drill = {
  name: 'kill-supervisor',
  title: 'SIGKILL dsi up itself, then start it again on the same port',
  expectation: `within ${ORPHANS_GONE_MS / 1000} s of the kill no process it started is alive; a new dsi up on the same port is ready, answers every search due after that (no error status), and the dead one's NATS folder is gone`,
  async run(ctx) {
    const port = await freePort();
    const start = () => startLocalUp({ indexDir: ctx.cluster.o.indexDir, replicas: ctx.cluster.o.replicas, port, env: { ...process.env, DSI_LOG_LEVEL: 'warn' }, log: ctx.log });
    const first = await start();
    let second: Awaited<ReturnType<typeof start>> | undefined;
    const started = processTree(first.pid).slice(1);
    const names = new Map(started.map((pid) => [pid, commandOf(pid)]));
    let goneAfterMs: number | null = null;
    let left: number[] = [];
    const restart = untilReadyFor(AFTER_READY_MS);
    try {
      const run = await underLoad(
        {
          url: first.url,
          queries: ctx.queries,
          rate: ctx.rate,
          durationS: 120,
          stopWhen: restart.stopWhen,
          onStart: restart.onStart,
        },
        [
          {
            atMs: FAULT_AT_MS,
            run: async () => {
              const killedAt = performance.now();
              process.kill(first.pid, 'SIGKILL');
              while (performance.now() - killedAt < ORPHANS_GONE_MS * 2) {
                left = started.filter(processExists);
                if (left.length === 0) {
                  goneAfterMs = Math.round(performance.now() - killedAt);
                  break;
                }
                await sleep(50);
              }
              await first.stop();
              second = await start();
              restart.ready();
            },
          },
        ],
      );
      const readyMs = restart.readyMs();
      const afterReady = run.recorder.samples.filter((s) => readyMs !== null && s.dueMs > readyMs);
      const failedAfter = afterReady.filter((s) => s.kind !== OK).length;
      // A cluster that has just started may answer degraded while its experts warm up on a busy machine: reported, not judged here.
      const degradedAfter = afterReady.filter((s) => s.degraded).length;
      const storeGone = first.natsTokenFile === undefined ? null : !existsSync(dirname(first.natsTokenFile));
      const ok = goneAfterMs !== null && goneAfterMs <= ORPHANS_GONE_MS && second?.url === first.url && afterReady.length > 0 && failedAfter === 0 && storeGone === true;
      return result(this, ctx, Math.round(run.elapsedMs / 1000), run.recorder.figures(), {
        processes_started: started.length,
        all_gone_after_ms: goneAfterMs,
        still_alive: left.map((pid) => `${names.get(pid)} (pid ${pid})`).join(', ') || 'none',
        restarted_ready_at_s: readyMs === null ? null : round(readyMs / 1000),
        same_url: second?.url === first.url,
        failed_after_restart: failedAfter,
        degraded_after_restart: degradedAfter,
        old_nats_folder_removed: storeGone,
      }, ok, [`killed at ${FAULT_AT_MS / 1000} s; requests due while no router listened fail by design`]);
    } finally {
      await second?.stop();
      await first.stop();
    }
  },
};
