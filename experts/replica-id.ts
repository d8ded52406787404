import { randomBytes } from 'node:crypto';

/**
 * A replica's identity: host and pid say where to look for it, the random part keeps a
 * restarted process (same pid in a fresh container) from being taken for the old one.
 * It becomes one token of a NATS subject, so anything but [A-Za-z0-9_-] (the dots of a
 * fully qualified host name, above all) is replaced.
 */
export function newReplicaId(hostname: string, pid: number, random: string = randomBytes(3).toString('hex')): string {
  return `${hostname}-${pid}-${random}`.replace(/[^A-Za-z0-9_-]/g, '-');
}
