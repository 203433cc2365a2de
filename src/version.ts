import { createRequire } from 'node:module';

/** The package's version, read from its package.json (dist/src/version.js -> ../../package.json). */
export const VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string })
  .version;
