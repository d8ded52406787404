import { BusUnavailableError, DsiError, ErrorCode, PayloadTooLargeError, TimeoutError } from '../errors.ts';

/**
 * nats.js failures turned into our typed errors, so callers above the bus branch on
 * classes and codes and never see (or import) nats. nats.js marks its errors with a
 * string `code`; the few we distinguish are listed here rather than imported so this
 * mapping stays a pure function of the error.
 */
const NatsCode = {
  NoResponders: '503',
  Timeout: 'TIMEOUT',
  MaxPayloadExceeded: 'MAX_PAYLOAD_EXCEEDED',
} as const;

/**
 * Nobody subscribes to a request's subject. Every request on the bus targets a shard or
 * one of its replicas, so this carries the shard_unavailable code (the caller, which knows
 * the shard, may rethrow it as a ShardUnavailableError).
 */
export class NoRespondersError extends DsiError {
  readonly subject: string;
  constructor(subject: string, options?: { cause?: unknown }) {
    super(ErrorCode.ShardUnavailable, `no responders on ${subject}`, options);
    this.subject = subject;
  }
}

/** Maps a failure of a bus operation on `subject` to a DsiError; DsiErrors pass through unchanged. */
export function toBusError(error: unknown, subject: string, timeoutMs?: number): DsiError {
  if (error instanceof DsiError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case NatsCode.NoResponders:
      return new NoRespondersError(subject, { cause: error });
    case NatsCode.Timeout:
      return new TimeoutError(`no reply on ${subject}${timeoutMs === undefined ? '' : ` within ${timeoutMs} ms`}`, { cause: error });
    case NatsCode.MaxPayloadExceeded:
      return new PayloadTooLargeError(`payload for ${subject} exceeds the server's max_payload`, { cause: error });
    default:
      return new BusUnavailableError(`bus ${subject}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
