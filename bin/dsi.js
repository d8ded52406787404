#!/usr/bin/env node
// Entry point of the `dsi` command: loads the TypeScript sources through tsx so the
// repository runs as checked out, with no build step between an edit and a run.
import { register } from 'tsx/esm/api';

register();
await import('../cluster/cli.ts');
