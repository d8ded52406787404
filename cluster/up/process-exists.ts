import { readFileSync } from 'node:fs';

/**
 * Whether a process with this pid exists and is not a zombie: a process that exited keeps
 * its pid until its parent (or, for an orphan, init) reaps it, and signal 0 still reaches it.
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    // /proc/<pid>/stat is "pid (comm) state …", and comm may hold spaces and parentheses: the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z';
  } catch {
    // No /proc (not Linux), or it just went: signal 0 said it was there.
    return false;
  }
}
