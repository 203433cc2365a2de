#!/usr/bin/env node
// Bundled example server: the time, and a countdown that reports progress. No network, no state.
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';

function build() {
  const server = new McpServer({ name: 'switchboard-clock', version: '1.0.0' });
  server.registerTool(
    'now',
    {
      description: 'The current date and time, in ISO 8601 and in a time zone of your choice',
      inputSchema: z.object({
        timeZone: z.string().optional().describe('IANA zone, e.g. Europe/Paris (default UTC)'),
      }),
      annotations: { readOnlyHint: true },
    },
    async ({ timeZone = 'UTC' }) => {
      const now = new Date();
      let local;
      try {
        local = now.toLocaleString('en-GB', { timeZone, dateStyle: 'full', timeStyle: 'long' });
      } catch {
        return {
          content: [
            { type: 'text', text: `unknown time zone '${timeZone}'; use an IANA name like Europe/Paris` },
          ],
          isError: true,
        };
      }
      return {
        content: [{ type: 'text', text: `${local} (${now.toISOString()})` }],
        structuredContent: { iso: now.toISOString(), timeZone, local },
      };
    },
  );
  server.registerTool(
    'countdown',
    {
      description: 'Counts down from `from` to zero, one step every `intervalMs`, reporting progress',
      inputSchema: z.object({
        from: z.number().int().min(1).max(100).default(3),
        intervalMs: z.number().int().min(0).max(10_000).default(200),
      }),
    },
    async ({ from, intervalMs }, ctx) => {
      const token = ctx.mcpReq._meta?.progressToken;
      for (let i = 1; i <= from; i++) {
        await new Promise((resolve, reject) => {
          const t = setTimeout(resolve, intervalMs);
          ctx.mcpReq.signal.addEventListener(
            'abort',
            () => {
              clearTimeout(t);
              reject(new Error('cancelled'));
            },
            { once: true },
          );
        });
        if (token !== undefined) {
          await ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken: token, progress: i, total: from, message: `${from - i} left` },
          });
        }
      }
      return { content: [{ type: 'text', text: 'liftoff' }], structuredContent: { counted: from } };
    },
  );
  return server;
}

serveStdio(() => build());
