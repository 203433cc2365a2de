// Preloaded into a process the bench starts and wants to weigh (node --expose-gc --require this):
// on SIGUSR2, two full collections, then the process's memoryUsage() as JSON in the file named by
// BENCH_MEMORY_REPORT (written whole, then renamed into place, so a reader never sees half of it).
// A signal listener does not keep the process alive; without the variable this does nothing.
const { renameSync, writeFileSync } = require('node:fs');

const out = process.env.BENCH_MEMORY_REPORT;
if (out) {
  process.on('SIGUSR2', () => {
    if (typeof globalThis.gc === 'function') {
      globalThis.gc();
      globalThis.gc();
    }
    writeFileSync(
      `${out}.tmp`,
      JSON.stringify({ ...process.memoryUsage(), collected: typeof globalThis.gc === 'function' }),
    );
    renameSync(`${out}.tmp`, out);
  });
}
