import { describe, expect, it } from 'vitest';
import { runNode } from '../test/helpers/cli.ts';
import { BadInputError } from './errors.ts';
import { createLogger, humanMessage } from './log.ts';

describe('human log lines', () => {
  it('put the name, the message and the fields on one line, an error as its message', () => {
    const line = humanMessage({ level: 30, time: 1, pid: 7, hostname: 'h', name: 'dsi-up', msg: 'nats-server started', url: 'nats://127.0.0.1:4222', pid_of: 42, tags: ['a b'], err: { type: 'Error', message: 'boom', stack: 'Error: boom\n at x' } });
    expect(line).toBe('dsi-up  nats-server started  url=nats://127.0.0.1:4222 pid_of=42 tags=["a b"] err=boom');
  });

  it('come out one a line, in order with what the process writes to the same stream itself', async () => {
    const script = `import { createLogger } from './shared/log.ts';
      const log = createLogger({ name: 'demo', format: 'pretty', stream: 'stdout' });
      log.info({ n: 2 }, 'started');
      process.stdout.write('between\\n');
      log.warn({ err: new Error('boom') }, 'failed');
      log.debug('not shown at info');`;
    const { code, stdout } = await runNode(['--import', 'tsx', '--input-type=module', '-e', script]);
    expect(code).toBe(0);
    expect(stdout.split('\n')).toEqual([expect.stringMatching(/^\[\d\d:\d\d:\d\d\] INFO: demo {2}started {2}n=2$/), 'between', expect.stringMatching(/^\[\d\d:\d\d:\d\d\] WARN: demo {2}failed {2}err=boom$/), '']);
  });

  it('go to stderr unless a stream is named, in either format, so stdout holds only what the process writes there', async () => {
    const script = `import { createLogger } from './shared/log.ts';
      createLogger({ name: 'json' }).info('a json line');
      createLogger({ name: 'human', format: 'pretty' }).info('a human line');
      process.stdout.write('{"result":1}\\n');`;
    const { code, stdout, stderr } = await runNode(['--import', 'tsx', '--input-type=module', '-e', script]);
    expect(code).toBe(0);
    expect(stdout).toBe('{"result":1}\n');
    expect(stderr.split('\n')).toEqual([expect.stringMatching(/^\{.*"name":"json".*"msg":"a json line"\}$/), expect.stringMatching(/INFO: human {2}a human line$/), '']);
  });

  it('refuses an unknown level as bad input', () => {
    expect(() => createLogger({ name: 'x', level: 'loud' })).toThrow(BadInputError);
  });
});
