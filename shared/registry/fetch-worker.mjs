// Worker thread entry: loads the TypeScript task through tsx, as bin/dsi.js does for the main thread.
import { register } from 'tsx/esm/api';

register();
await import('./fetch-task.ts');
