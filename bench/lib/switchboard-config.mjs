// The one place that knows the shape of a Switchboard config for the bench: servers `s0`..`s<n-1>`,
// each the raw echo upstream over stdio.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RAW_ECHO = join(dirname(fileURLToPath(import.meta.url)), '..', 'servers', 'raw-echo.mjs');

/**
 * `count` raw-echo servers hosted `isolation`. maxInFlight is raised to the bench's concurrency so the
 * mailbox does not throttle a c=64 run below what the other contenders get (the library default is 16).
 */
export function rawEchoServers(count, isolation, extra = {}) {
  const server = { command: process.execPath, args: [RAW_ECHO], isolation, maxInFlight: 64, ...extra };
  return {
    mcpServers: Object.fromEntries(Array.from({ length: count }, (_, i) => [`s${i}`, { ...server }])),
  };
}
