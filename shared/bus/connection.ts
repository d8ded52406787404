import { connect, Events, type Msg, type NatsConnection, type Subscription } from 'nats';
import { openKeyValue, openObjectStore, type BucketOptions, type KeyValueBucket, type ObjectBucket } from './stores.ts';
import { openWorkQueue, type DeliverySettings, type WorkQueue, type WorkQueueSpec } from './work-queue.ts';
import { BusUnavailableError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { toBusError } from './bus-errors.ts';
import type { BusAddress } from './address.ts';

/** Where to connect, and how this connection shows itself and logs. */
export interface BusOptions extends BusAddress {
  /** Connection name shown by the server's monitoring (e.g. "dsi-expert-s0"). */
  readonly name: string;
  readonly log: Logger;
}

/** A message received on a subscription. */
export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Replies to the sender of a request; false when the message expects no reply. */
  respond(payload: Uint8Array): boolean;
}

/** A handler may be async; a draining subscription waits for the promises it returned. */
export type MessageHandler = (message: BusMessage) => void | Promise<void>;

export interface SubscribeOptions {
  /** Queue group: each message goes to one member of the group instead of every subscriber. */
  queue?: string;
}

export interface BusSubscription {
  readonly subject: string;
  /** Stops receiving, delivers what the server already routed here, and waits for every handler to finish. */
  drain(): Promise<void>;
}

/**
 * The message bus every process of the cluster talks through: a thin seam over one NATS
 * connection, so nats.js types stay in shared/bus/ and the rest of the code sees bytes,
 * subjects and our own typed errors.
 */
export interface Bus {
  readonly name: string;
  /** True while the connection is up; false while reconnecting and after close. */
  isConnected(): boolean;
  /** Sends a request and resolves with the first reply's payload; rejects with TimeoutError, NoRespondersError or BusUnavailableError. */
  request(subject: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  subscribe(subject: string, options: SubscribeOptions, handler: MessageHandler): BusSubscription;
  /** Fire and forget; buffered by the client while it reconnects. Throws BusUnavailableError once closed. */
  publish(subject: string, payload: Uint8Array): void;
  /** Resolves once the server has processed everything sent so far (e.g. subscriptions are live). */
  flush(): Promise<void>;
  /** Drains every subscription, flushes pending publishes, then closes. */
  drain(): Promise<void>;
  close(): Promise<void>;
  /** Resolves when the connection is closed for good: undefined when closed on purpose, else why. */
  closed(): Promise<Error | undefined>;
  /** A JetStream key-value bucket, created when missing. */
  keyValue(bucket: string, options?: BucketOptions): Promise<KeyValueBucket>;
  /** A JetStream object store, created when missing. */
  objectStore(bucket: string, options?: BucketOptions): Promise<ObjectBucket>;
  /** A JetStream work queue, created when missing; with delivery settings, for taking messages as one of its workers. */
  workQueue(spec: WorkQueueSpec, delivery?: DeliverySettings): Promise<WorkQueue>;
}

/** Connection tuning: a lost server is retried forever, quickly, since experts and routers must outlive NATS restarts. */
const RECONNECT = {
  maxReconnectAttempts: -1,
  reconnectTimeWait: 250,
  reconnectJitter: 100,
  /** A dead server is noticed after pingInterval × maxPingOut without a PONG. */
  pingInterval: 5_000,
  maxPingOut: 2,
  /**
   * nats.js otherwise captures a stack trace for every request (an Error made up front, in
   * case the request fails): a few percent of the router's time per search. Failures are
   * mapped by their code (bus-errors.ts), never by their stack.
   */
  noAsyncTraces: true,
} as const;

export async function connectBus(options: BusOptions): Promise<Bus> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.url,
      name: options.name,
      token: options.token,
      user: options.user,
      pass: options.pass,
      ...RECONNECT,
    });
  } catch (cause) {
    throw new BusUnavailableError(`cannot connect to NATS at ${options.url}: ${(cause as Error).message}`, { cause });
  }
  options.log.info({ server: nc.getServer(), connection: options.name }, 'connected to NATS');
  return new NatsBus(nc, options.name, options.log);
}

class NatsBus implements Bus {
  readonly name: string;
  readonly #nc: NatsConnection;
  readonly #log: Logger;
  #connected = true;

  constructor(nc: NatsConnection, name: string, log: Logger) {
    this.#nc = nc;
    this.name = name;
    this.#log = log;
    void this.#watchStatus();
  }

  isConnected(): boolean {
    return this.#connected && !this.#nc.isClosed();
  }

  async request(subject: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    try {
      const reply = await this.#nc.request(subject, payload, { timeout: timeoutMs });
      return reply.data;
    } catch (error) {
      throw toBusError(error, subject, timeoutMs);
    }
  }

  subscribe(subject: string, options: SubscribeOptions, handler: MessageHandler): BusSubscription {
    const log = this.#log;
    const pending = new Set<Promise<void>>();
    let sub: Subscription;
    try {
      sub = this.#nc.subscribe(subject, {
        queue: options.queue,
        // A callback rather than the async iterator: messages are handled as they are
        // parsed, with no queue in between, and a slow handler cannot stall the others.
        callback: (err, msg) => {
          if (err) {
            log.warn({ subject, err: err.message }, 'subscription error');
            return;
          }
          // Handlers must never take the process down: whatever escapes them is logged here.
          try {
            const done = handler(wrapMessage(msg));
            if (done instanceof Promise) {
              const tracked = done.catch((e: unknown) => log.error({ subject, err: e }, 'message handler failed'));
              pending.add(tracked);
              void tracked.finally(() => pending.delete(tracked));
            }
          } catch (e) {
            log.error({ subject, err: e }, 'message handler failed');
          }
        },
      });
    } catch (error) {
      throw toBusError(error, subject);
    }
    return {
      subject,
      async drain() {
        if (!sub.isClosed()) {
          try {
            await sub.drain();
          } catch (error) {
            // Already closed (with its connection): nothing more can arrive, only handlers to await.
            log.debug({ subject, err: (error as Error).message }, 'subscription drain skipped');
          }
        }
        await Promise.allSettled([...pending]);
      },
    };
  }

  publish(subject: string, payload: Uint8Array): void {
    try {
      this.#nc.publish(subject, payload);
    } catch (error) {
      throw toBusError(error, subject);
    }
  }

  async flush(): Promise<void> {
    try {
      await this.#nc.flush();
    } catch (error) {
      throw toBusError(error, '(flush)');
    }
  }

  async drain(): Promise<void> {
    if (this.#nc.isClosed()) return;
    if (this.#nc.isDraining()) {
      await this.#nc.closed();
      return;
    }
    try {
      await this.#nc.drain();
    } catch (error) {
      throw toBusError(error, '(drain)');
    }
  }

  async close(): Promise<void> {
    if (!this.#nc.isClosed()) await this.#nc.close();
  }

  async closed(): Promise<Error | undefined> {
    return (await this.#nc.closed()) ?? undefined;
  }

  keyValue(bucket: string, options?: BucketOptions): Promise<KeyValueBucket> {
    return openKeyValue(this.#nc, bucket, this.#log, options);
  }

  objectStore(bucket: string, options?: BucketOptions): Promise<ObjectBucket> {
    return openObjectStore(this.#nc, bucket, options);
  }

  workQueue(spec: WorkQueueSpec, delivery?: DeliverySettings): Promise<WorkQueue> {
    return openWorkQueue(this.#nc, spec, delivery);
  }

  /** Connection state changes are logged and tracked for isConnected(); the loop ends when the connection closes. */
  async #watchStatus(): Promise<void> {
    for await (const status of this.#nc.status()) {
      const data = typeof status.data === 'string' || typeof status.data === 'number' ? status.data : undefined;
      switch (status.type) {
        case Events.Disconnect:
          this.#connected = false;
          this.#log.warn({ server: data }, 'disconnected from NATS; reconnecting');
          break;
        case Events.Reconnect:
          this.#connected = true;
          this.#log.info({ server: data }, 'reconnected to NATS');
          break;
        case Events.LDM:
          this.#log.warn({ server: data }, 'NATS server entering lame duck mode');
          break;
        case Events.Error:
          this.#log.warn({ err: data }, 'NATS async error');
          break;
        default:
          this.#log.debug({ event: status.type, data }, 'NATS status');
      }
    }
    this.#connected = false;
  }
}

function wrapMessage(msg: Msg): BusMessage {
  return {
    subject: msg.subject,
    data: msg.data,
    respond: (payload) => msg.respond(payload),
  };
}
