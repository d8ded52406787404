import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DEMO_CORPUS = `${REPO_ROOT}data/demo`;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `dsi` command as a child process, the way a user does. */
export function runDsi(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runNode([`${REPO_ROOT}bin/dsi.js`, ...args], { DSI_BACKEND: 'wasm', DSI_LOG_LEVEL: 'warn', DSI_LOG_JSON: '1', ...env });
}

/** Runs `node ...argv` from the repository root to its end, with the given variables on top of this process's environment. */
export function runNode(argv: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
