#!/usr/bin/env node
// The same `echo` tool as raw-echo.mjs, written with the MCP SDK 2.x server
// (McpServer + StdioServerTransport). Measures what the SDK server costs.
import { McpServer } from '@modelcontextprotocol/server';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import * as z from 'zod';

const server = new McpServer({ name: 'sdk-echo', version: '1.0.0' });

server.registerTool(
  'echo',
  {
    description: 'Returns the nonce it was given.',
    inputSchema: z.object({ nonce: z.string() }),
  },
  async ({ nonce }) => ({
    content: [{ type: 'text', text: nonce }],
    structuredContent: { nonce },
  }),
);

await server.connect(new StdioServerTransport());
