import { DsiError, ErrorCode } from '../shared/errors.ts';
import { COMMANDS, usage } from './commands/registry.ts';

/**
 * The `dsi` command. Each subcommand parses its own flags (util.parseArgs) and gets the
 * process environment here, once; nothing below reads process.env. Failures end with one
 * line on stderr: exit 2 for bad usage or input, 1 for anything else.
 */
async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    (name ? process.stdout : process.stderr).write(await usage());
    return name ? 0 : 2;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    process.stderr.write(`dsi: unknown command '${name}' (dsi --help lists them)\n`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`usage: ${command.usage}\n${command.summary}\n`);
    return 0;
  }
  return command.run(rest, { env: process.env, stdout: process.stdout, stderr: process.stderr, isTTY: Boolean(process.stderr.isTTY), stdoutIsTTY: Boolean(process.stdout.isTTY) });
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  const code = error instanceof DsiError && error.code === ErrorCode.BadInput ? 2 : 1;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`dsi: ${message.split('\n')[0]}\n`);
  if (process.env.DSI_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  process.exitCode = code;
}
