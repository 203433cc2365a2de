// After `npm ci` in a clone, make `npx switchboard` run this checkout's CLI. npm links the bins of
// dependencies into node_modules/.bin, but never the project's own; installed as a dependency, npm
// links it itself and this script is not run (prepare runs only in the project being developed).
import { chmodSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'dist/src/cli/bin.js');
const binDir = join(root, 'node_modules/.bin');
if (!existsSync(target)) {
  console.error(`link-own-bin: ${target} is missing; run the build first`);
  process.exit(1);
}
chmodSync(target, 0o755);
mkdirSync(binDir, { recursive: true });
const link = join(binDir, 'switchboard');
rmSync(link, { force: true });
symlinkSync(relative(binDir, target), link);
