/**
 * Every failure the system reports has one class and one stable code. Codes cross
 * process boundaries (NATS replies, HTTP bodies, CLI exit lines); classes let callers
 * and tests branch on the kind of failure without matching message text.
 */
export const ErrorCode = {
  BadInput: 'bad_input',
  CollectionFormat: 'collection_format',
  ArtifactInvalid: 'artifact_invalid',
  BackendUnavailable: 'backend_unavailable',
  NotFound: 'not_found',
  PayloadTooLarge: 'payload_too_large',
  Unauthorized: 'unauthorized',
  RateLimited: 'rate_limited',
  ShardUnavailable: 'shard_unavailable',
  Timeout: 'timeout',
  BusUnavailable: 'bus_unavailable',
  Internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class DsiError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Input that a user or client supplied is unusable (flag, query, request field). */
export class BadInputError extends DsiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.BadInput, message, options);
  }
}

/** A BEIR collection file is missing or malformed; names the file and, where known, the line. */
export class CollectionFormatError extends DsiError {
  readonly file: string;
  readonly line: number | undefined;
  constructor(file: string, line: number | undefined, reason: string, options?: { cause?: unknown }) {
    super(ErrorCode.CollectionFormat, `${file}${line === undefined ? '' : `:${line}`}: ${reason}`, options);
    this.file = file;
    this.line = line;
  }
}

/** An index artifact is missing, of another format version, or damaged (checksum mismatch). */
export class ArtifactError extends DsiError {
  readonly path: string;
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super(ErrorCode.ArtifactInvalid, `${path}: ${reason}`, options);
    this.path = path;
  }
}

/** No TensorFlow.js backend could be initialised. */
export class BackendError extends DsiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.BackendUnavailable, message, options);
  }
}

/** A requested resource (document, route) does not exist. */
export class NotFoundError extends DsiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.NotFound, message, options);
  }
}

/** A request body or field is over its size limit. */
export class PayloadTooLargeError extends DsiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.PayloadTooLarge, message, options);
  }
}

/** A request carried no credentials, or ones this service does not accept. */
export class UnauthorizedError extends DsiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Unauthorized, message, options);
  }
}

/** A client sent more requests than its rate allows; it may try again after `retryAfterS` seconds. */
export class RateLimitedError extends DsiError {
  readonly retryAfterS: number;
  constructor(message: string, retryAfterS: number, options?: { cause?: unknown }) {
    super(ErrorCode.RateLimited, message, options);
    this.retryAfterS = retryAfterS;
  }
}

/** No live replica of a shard answered. */
export class ShardUnavailableError extends DsiError {
  readonly shard: string;
  constructor(shard: string, reason: string, options?: { cause?: unknown }) {
    super(ErrorCode.ShardUnavailable, `shard ${shard}: ${reason}`, options);
    this.shard = shard;
  }
}

/** A request over the bus got no reply within its deadline. */
export class TimeoutError extends DsiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Timeout, message, options);
  }
}

/** The message bus (NATS) is not connected. */
export class BusUnavailableError extends DsiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.BusUnavailable, message, options);
  }
}

/** A training job (of a build, a new shard or a retrain) did not produce its model: every attempt failed, or its trainer died. */
export class JobFailedError extends DsiError {
  /** The job's label ("gating", "shard s1"). */
  readonly job: string;
  /** Why, without the job's name. */
  readonly reason: string;
  constructor(job: string, reason: string, options?: { cause?: unknown }) {
    super(ErrorCode.Internal, `training ${job} failed: ${reason}`, options);
    this.job = job;
    this.reason = reason;
  }
}
