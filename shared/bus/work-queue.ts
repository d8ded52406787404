import { AckPolicy, nanos, RetentionPolicy, type Consumer, type JetStreamManager, type JsMsg, type NatsConnection } from 'nats';
import { asBusCall, jetStreamError } from './stores.ts';

/** Where a work queue lives: a stream with work-queue retention and the one durable pull consumer its workers share. */
export interface WorkQueueSpec {
  readonly stream: string;
  readonly subjects: string;
  readonly consumer: string;
}

/**
 * How the shared consumer hands out messages. A taken message comes back to the queue
 * when its taker neither acks nor reports progress within `ackWaitMs` (it died or hung),
 * at most `maxDeliver` times in all.
 */
export interface DeliverySettings {
  readonly ackWaitMs: number;
  readonly maxDeliver: number;
}

/** One message taken from the queue: it stays there until acked (done) or terminated (given up). */
export interface TakenMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** The message's sequence number in the stream. */
  readonly seq: number;
  /** 1 on first delivery, 2 after one redelivery, … */
  readonly deliveries: number;
  /** Still working on it: restarts the ack wait, so a long job is not handed to someone else. */
  working(): void;
  /** Done: resolves once the server has removed the message. */
  ack(): Promise<void>;
  /** Not done here: delivered again (to anyone) after `delayMs`. */
  nak(delayMs?: number): void;
  /** Never deliver again. */
  term(): void;
}

export interface WorkQueue {
  /** Appends a message; resolves with its sequence number in the stream once stored. */
  publish(subject: string, data: Uint8Array): Promise<number>;
  /** The next message for this taker, or null when none came within `expiresMs`. Only for queues opened with delivery settings. */
  take(expiresMs: number): Promise<TakenMessage | null>;
  /** Removes every message on subjects matching `filter` (delivered or not); resolves with how many. */
  purge(filter: string): Promise<number>;
  /** The shared consumer's settings, or null while no worker has created it. */
  deliverySettings(): Promise<DeliverySettings | null>;
}

/**
 * Opens (creating when missing) a work-queue stream. A producer opens it without delivery
 * settings and only publishes; a worker opens it with them, which creates the shared
 * consumer or updates its ack wait and max deliveries (the last worker started sets
 * them for all).
 */
export async function openWorkQueue(nc: NatsConnection, spec: WorkQueueSpec, delivery?: DeliverySettings): Promise<WorkQueue> {
  const label = `(queue ${spec.stream})`;
  let jsm: JetStreamManager;
  try {
    jsm = await nc.jetstreamManager();
    await ensureStream(jsm, spec);
    if (delivery) await ensureConsumer(jsm, spec, delivery);
  } catch (error) {
    throw jetStreamError(error, nc, label);
  }
  const js = nc.jetstream();
  let consumer: Consumer | undefined;
  return {
    publish: (subject, data) => asBusCall(`${label} ${subject}`, async () => (await js.publish(subject, data)).seq),
    take: (expiresMs) =>
      asBusCall(`${label} take`, async () => {
        if (!delivery) throw new Error('opened without delivery settings: a producer cannot take messages');
        consumer ??= await js.consumers.get(spec.stream, spec.consumer);
        const msg = await consumer.next({ expires: expiresMs });
        return msg ? taken(msg) : null;
      }),
    purge: (filter) => asBusCall(`${label} purge ${filter}`, async () => (await jsm.streams.purge(spec.stream, { filter })).purged),
    deliverySettings: () =>
      asBusCall(`${label} consumer`, async () => {
        try {
          const info = await jsm.consumers.info(spec.stream, spec.consumer);
          return { ackWaitMs: Math.round((info.config.ack_wait ?? 0) / 1e6), maxDeliver: info.config.max_deliver ?? -1 };
        } catch (error) {
          if (apiCode(error) === CONSUMER_NOT_FOUND) return null;
          throw error;
        }
      }),
  };
}

async function ensureStream(jsm: JetStreamManager, spec: WorkQueueSpec): Promise<void> {
  try {
    await jsm.streams.info(spec.stream);
  } catch (error) {
    if (apiCode(error) !== STREAM_NOT_FOUND) throw error;
    await jsm.streams.add({ name: spec.stream, subjects: [spec.subjects], retention: RetentionPolicy.Workqueue });
  }
}

async function ensureConsumer(jsm: JetStreamManager, spec: WorkQueueSpec, delivery: DeliverySettings): Promise<void> {
  const config = { ack_wait: nanos(delivery.ackWaitMs), max_deliver: delivery.maxDeliver };
  try {
    const info = await jsm.consumers.info(spec.stream, spec.consumer);
    if (info.config.ack_wait !== config.ack_wait || info.config.max_deliver !== config.max_deliver) await jsm.consumers.update(spec.stream, spec.consumer, config);
  } catch (error) {
    if (apiCode(error) !== CONSUMER_NOT_FOUND) throw error;
    await jsm.consumers.add(spec.stream, { durable_name: spec.consumer, ack_policy: AckPolicy.Explicit, filter_subject: spec.subjects, ...config });
  }
}

/** JetStream API error codes (nats-server's errors.json) of what is merely missing yet. */
const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;

function apiCode(error: unknown): number | undefined {
  return (error as { api_error?: { err_code?: number } }).api_error?.err_code;
}

function taken(msg: JsMsg): TakenMessage {
  return {
    subject: msg.subject,
    data: msg.data,
    seq: msg.seq,
    deliveries: msg.info.redeliveryCount,
    working: () => msg.working(),
    ack: async () => void (await msg.ackAck()),
    nak: (delayMs) => msg.nak(delayMs),
    term: () => msg.term(),
  };
}
