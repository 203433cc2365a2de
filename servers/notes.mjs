#!/usr/bin/env node
// Bundled example server: a small notebook kept in one JSON file (NOTES_FILE), with tools, a resource
// per note and a prompt. Writes are atomic (temp file + rename).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  acceptedContent,
  inputRequired,
  inputResponse,
  McpServer,
  ResourceNotFoundError,
  ResourceTemplate,
} from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';

const FILE = process.env.NOTES_FILE || join(tmpdir(), 'mcp-switchboard-notes.json');

function load() {
  try {
    const data = JSON.parse(readFileSync(FILE, 'utf8'));
    return Array.isArray(data.notes) ? data.notes : [];
  } catch {
    return [];
  }
}

function save(notes) {
  const tmp = `${FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ notes }, null, 2));
  renameSync(tmp, FILE);
}

const text = (t, structured) => ({
  content: [{ type: 'text', text: t }],
  ...(structured ? { structuredContent: structured } : {}),
});

const NOTE_FORM = z.object({
  text: z.string().min(1).describe('What to note').meta({ title: 'Text' }),
  tag: z.string().optional().meta({ title: 'Tag' }),
});

function build() {
  const server = new McpServer({ name: 'switchboard-notes', version: '1.0.0' });
  server.registerTool(
    'add',
    {
      description: 'Adds a note and returns its id; asks you for the text when it is not given',
      inputSchema: z.object({ text: z.string().min(1).optional(), tag: z.string().optional() }),
    },
    async (args, ctx) => {
      let { text: body, tag } = args;
      if (body === undefined) {
        // No text: ask the user for it (elicitation; on a 2025-era connection the SDK sends elicitation/create).
        const view = inputResponse(ctx.mcpReq.inputResponses, 'note');
        if (view.kind !== 'elicit')
          return inputRequired({
            inputRequests: {
              note: inputRequired.elicit({ message: 'New note', requestedSchema: NOTE_FORM }),
            },
          });
        const answer = acceptedContent(ctx.mcpReq.inputResponses, 'note', NOTE_FORM);
        if (!answer) return { ...text(`no note added (you chose ${view.action})`), isError: true };
        body = answer.text;
        tag = answer.tag || tag;
      }
      const notes = load();
      const id = (notes.reduce((m, n) => Math.max(m, n.id), 0) || 0) + 1;
      notes.push({ id, text: body, tag, created: new Date().toISOString() });
      save(notes);
      return text(`added note ${id}`, { id });
    },
  );
  server.registerTool(
    'list',
    {
      description: 'Lists notes, optionally only those with a tag',
      inputSchema: z.object({ tag: z.string().optional() }),
      annotations: { readOnlyHint: true },
    },
    async ({ tag }) => {
      const notes = load().filter((n) => tag === undefined || n.tag === tag);
      return text(
        notes.length
          ? notes.map((n) => `${n.id}. ${n.text}${n.tag ? ` [${n.tag}]` : ''}`).join('\n')
          : 'no notes',
        { notes },
      );
    },
  );
  server.registerTool(
    'delete',
    {
      description: 'Deletes a note by id',
      inputSchema: z.object({ id: z.number().int() }),
      annotations: { destructiveHint: true, idempotentHint: true },
    },
    async ({ id }) => {
      const notes = load();
      const kept = notes.filter((n) => n.id !== id);
      if (kept.length === notes.length) return { ...text(`no note ${id}`), isError: true };
      save(kept);
      return text(`deleted note ${id}`, { id });
    },
  );
  server.registerResource(
    'note',
    new ResourceTemplate('notes://{id}', {
      list: async () => ({
        resources: load().map((n) => ({
          uri: `notes://${n.id}`,
          name: `note ${n.id}`,
          mimeType: 'text/plain',
        })),
      }),
    }),
    { description: 'One note as text', mimeType: 'text/plain' },
    async (uri, { id }) => {
      const note = load().find((n) => String(n.id) === String(id));
      if (!note) throw new ResourceNotFoundError(uri.href, `no note ${id}; list them with notes/list`);
      return { contents: [{ uri: uri.href, mimeType: 'text/plain', text: note.text }] };
    },
  );
  server.registerPrompt(
    'summarize',
    {
      description: 'Asks the model to summarize the notes with a tag',
      argsSchema: z.object({ tag: z.string().optional() }),
    },
    async ({ tag }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text: `Summarize these notes:\n${load()
              .filter((n) => !tag || n.tag === tag)
              .map((n) => `- ${n.text}`)
              .join('\n')}`,
          },
        },
      ],
    }),
  );
  return server;
}

serveStdio(() => build());
