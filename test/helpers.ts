import { fileURLToPath } from 'node:url';

/** Repo root, from dist/test/helpers.js. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURE = `${ROOT}test/fixtures/echo-server.mjs`;
export const BIN = `${ROOT}dist/src/cli/bin.js`;

export type Isolation = 'inline' | 'thread';

/** A config entry for the raw fixture server named `name`. */
export function fixture(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { command: process.execPath, args: [FIXTURE, name], ...extra };
}

export function fixtures(
  names: string[],
  extra: Record<string, unknown> = {},
): { mcpServers: Record<string, unknown> } {
  return { mcpServers: Object.fromEntries(names.map((n) => [n, fixture(n, extra)])) };
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  stepMs = 10,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return check();
}

export function structured<T = Record<string, unknown>>(result: { structuredContent?: unknown }): T {
  return result.structuredContent as T;
}
