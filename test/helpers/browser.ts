import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { REPO_ROOT } from './cli.ts';

/**
 * A real headless browser for tests of the status page: Debian's `chromium` (installed by
 * bin/setup, as nats-server is) driven by playwright-core, which downloads no browser of
 * its own. CHROMIUM_PATH names another binary.
 */
export const TEST_OUTPUT = join(REPO_ROOT, 'test-results');

export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? findOnPath(['chromium', 'chromium-browser']);
  if (!executablePath) throw new Error('chromium is not installed: run bin/setup (apt-get install -y chromium), or set CHROMIUM_PATH');
  return chromium.launch({ executablePath });
}

function findOnPath(names: string[]): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of names) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not here
      }
    }
  }
  return undefined;
}
