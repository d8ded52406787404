import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, type NatsServerHandle } from '../../test/helpers/nats-server.ts';
import { BusUnavailableError, TimeoutError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { NoRespondersError } from './bus-errors.ts';
import { connectBus, type Bus } from './connection.ts';

/** The bus against a real nats-server: request/reply, queue groups, typed failures, drain. */
let server: NatsServerHandle;
let bus: Bus;
const log = createLogger({ name: 'bus-test', level: 'silent' });
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

beforeAll(async () => {
  server = await startNatsServer();
  bus = await connectBus({ url: server.url, name: 'bus-test', log });
});

afterAll(async () => {
  await bus?.close();
  await server?.stop();
});

describe('bus', () => {
  it('answers a request from a subscriber, async handlers included', async () => {
    bus.subscribe('t.echo', {}, async (m) => {
      await new Promise((r) => setTimeout(r, 5));
      m.respond(bytes(`echo ${text(m.data)}`));
    });
    await bus.flush();
    expect(text(await bus.request('t.echo', bytes('hi'), 2000))).toBe('echo hi');
    expect(bus.isConnected()).toBe(true);
  });

  it('fails with NoRespondersError when nobody listens, TimeoutError when nobody answers', async () => {
    await expect(bus.request('t.nobody', bytes('x'), 2000)).rejects.toBeInstanceOf(NoRespondersError);
    bus.subscribe('t.silent', {}, () => {});
    await bus.flush();
    const started = performance.now();
    await expect(bus.request('t.silent', bytes('x'), 200)).rejects.toBeInstanceOf(TimeoutError);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('survives a handler that throws', async () => {
    let calls = 0;
    bus.subscribe('t.throws', {}, (m) => {
      calls++;
      if (calls === 1) throw new Error('boom');
      m.respond(bytes('fine'));
    });
    await bus.flush();
    await expect(bus.request('t.throws', bytes('x'), 200)).rejects.toBeInstanceOf(TimeoutError);
    expect(text(await bus.request('t.throws', bytes('x'), 2000))).toBe('fine');
  });

  it('drains a subscription only after its running handlers finish', async () => {
    let finished = 0;
    const sub = bus.subscribe('t.slow', {}, async (m) => {
      await new Promise((r) => setTimeout(r, 100));
      finished++;
      m.respond(bytes('done'));
    });
    await bus.flush();
    const replies = Promise.all([bus.request('t.slow', bytes('1'), 2000), bus.request('t.slow', bytes('2'), 2000)]);
    await bus.flush();
    await sub.drain();
    expect(finished).toBe(2);
    expect((await replies).map(text)).toEqual(['done', 'done']);
    await expect(bus.request('t.slow', bytes('3'), 2000)).rejects.toBeInstanceOf(NoRespondersError);
  });

  it('refuses to connect to a server that is not there, with a BusUnavailableError', async () => {
    const other = await startNatsServer();
    const url = other.url;
    await other.stop();
    await expect(connectBus({ url, name: 'nobody-home', log })).rejects.toBeInstanceOf(BusUnavailableError);
  });

  it('authenticates with a token or a user and password, and refuses wrong credentials', async () => {
    const withToken = await startNatsServer({ token: 's3cret' });
    const withUser = await startNatsServer({ user: 'dsi', pass: 'pw' });
    try {
      const ok = await Promise.all([
        connectBus({ url: withToken.url, name: 'token', token: 's3cret', log }),
        connectBus({ url: withUser.url, name: 'user', user: 'dsi', pass: 'pw', log }),
      ]);
      expect(ok.every((b) => b.isConnected())).toBe(true);
      await Promise.all(ok.map((b) => b.close()));
      await expect(connectBus({ url: withToken.url, name: 'token', token: 'wrong', log })).rejects.toBeInstanceOf(BusUnavailableError);
      await expect(connectBus({ url: withUser.url, name: 'user', user: 'dsi', pass: 'nope', log })).rejects.toBeInstanceOf(BusUnavailableError);
    } finally {
      await Promise.all([withToken.stop(), withUser.stop()]);
    }
  });

  it('reconnects by itself after the server restarts', async () => {
    const own = await startNatsServer();
    try {
      const client = await connectBus({ url: own.url, name: 'reconnect-test', log });
      client.subscribe('t.back', {}, (m) => {
        m.respond(bytes('back'));
      });
      await client.flush();
      own.kill('SIGKILL');
      await waitFor(() => !client.isConnected());
      await own.restart();
      await waitFor(() => client.isConnected());
      // The client re-sends its subscriptions on reconnect.
      await client.flush();
      expect(text(await client.request('t.back', bytes('x'), 2000))).toBe('back');
      await client.close();
    } finally {
      await own.stop();
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
