/**
 * The CLI's client side through its built bin: questions answered on a real pseudo-terminal (util-linux
 * `script`), declined without one, sampling refused, roots; and the resources/prompts commands against
 * the bundled servers and the asking fixture.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { BIN, ROOT } from '../helpers.js';

const T = { timeout: 60_000 };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The bin with stdin a pipe (not a terminal), as execFile gives it. */
function run(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: opts.cwd ?? tmpdir(),
        env: { ...process.env, SWITCHBOARD_CONFIG: '', ...opts.env },
        timeout: 30_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end();
  });
}

const ASKING = join(ROOT, 'test/fixtures/asking-stdio.mjs');

function askingConfig(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-ask-'));
  const file = join(dir, 'switchboard.json');
  writeFileSync(
    file,
    JSON.stringify({ mcpServers: { ask: { command: process.execPath, args: [ASKING, 'ask'] } } }),
  );
  return file;
}

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * The bin on a pseudo-terminal: `script -qfec <cmd> /dev/null` runs it with a pty as stdin, stdout and
 * stderr, and copies what we write to its stdin into the pty, as typing would.
 */
class Terminal {
  readonly #child: ChildProcessWithoutNullStreams;
  #output = '';
  #seen = 0;
  readonly exited: Promise<number | null>;

  constructor(args: string[], cwd = tmpdir(), env: Record<string, string> = {}) {
    const command = [process.execPath, BIN, ...args].map(quote).join(' ');
    this.#child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd,
      env: { ...process.env, SWITCHBOARD_CONFIG: '', TERM: 'xterm', ...env },
    });
    this.#child.stdout.on('data', (chunk: Buffer) => {
      this.#output += chunk.toString('utf8');
    });
    this.exited = new Promise((resolve) => this.#child.once('close', (code) => resolve(code)));
  }

  /** All output so far, without terminal control sequences and carriage returns. */
  get text(): string {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
    return this.#output.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
  }

  /** Waits until the output after the last match matches `pattern` (bounded in time); returns the match. */
  async expect(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.text.slice(this.#seen);
      const m = pattern.exec(rest);
      if (m) {
        this.#seen += m.index + m[0].length;
        return m[0];
      }
      if (Date.now() > until || this.#child.exitCode !== null)
        throw new Error(`no ${pattern} in the terminal output:\n${this.text}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  type(line: string): void {
    this.#child.stdin.write(line);
  }

  kill(): void {
    this.#child.kill('SIGKILL');
  }
}

/** The tool result the bin printed (its last JSON line: the asking tools print their result as JSON). */
function lastJson(text: string): Record<string, unknown> {
  const line = text
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  assert.ok(line, `no JSON result in:\n${text}`);
  return JSON.parse(line) as Record<string, unknown>;
}

describe('CLI elicitation on a terminal', () => {
  test('a form is asked field by field, re-asked with the reason, defaults taken, then sent', T, async () => {
    const term = new Terminal(['--config', askingConfig(), 'call', 'ask/ask_form', 'nonce=f-7731']);
    try {
      await term.expect(/'ask' asks: form:f-7731/);
      const answers: [RegExp, string][] = [
        [/Your name \(text, 2-10 characters\): $/, 'J'],
        [/at least 2 characters, got 1; try again\n.*Your name.*: $/, 'Jo'],
        [/Where to write\nemail \(email address, optional, Enter to skip\): $/, 'not-an-email'],
        [/not a valid email address; try again\n.*: $/, 'jo@example.com'],
        [/age \(whole number 18 to 120\): $/, '17'],
        [/17 is below 18; try again\n.*: $/, '42'],
        [/ratio \(number, Enter for 0\.5\): $/, ''],
        [/subscribe \(y\/n, Enter for yes\): $/, 'n'],
        [/1\) Small \[s\]\n.*\n.*3\) Large \[l\]\nsize \(pick one, 1-3\): $/, 'large'],
        [/color \(pick one, 1-2, Enter for Green\): $/, ''],
        [/tags \(pick 1 to 2, numbers separated by commas\): $/, '1,2,3'],
        [/pick at most 2, got 3; try again\n.*: $/, '3, 1'],
      ];
      for (const [prompt, answer] of answers) {
        await term.expect(prompt);
        term.type(`${answer}\n`);
      }
      await term.expect(/answers: name="Jo", email="jo@example\.com", age=42, ratio=0\.5/);
      await term.expect(/Send\? \[y\]es, \[n\]o = decline, \[c\]ancel, \[e\]dit \(Enter: yes\): $/);
      term.type('\n');
      assert.equal(await term.exited, 0, term.text);
      assert.deepEqual(lastJson(term.text), {
        nonce: 'f-7731',
        action: 'accept',
        content: {
          name: 'Jo',
          email: 'jo@example.com',
          age: 42,
          ratio: 0.5,
          subscribe: false,
          size: 'l',
          color: '#0f0',
          tags: ['c', 'a'],
        },
      });
    } finally {
      term.kill();
    }
  });

  test('the bundled notes server asks for the text of a note; the answer is what it stores', T, async () => {
    const env = { NOTES_FILE: join(mkdtempSync(join(tmpdir(), 'sb-notes-')), 'notes.json') };
    const term = new Terminal(['call', 'notes/add'], tmpdir(), env);
    try {
      await term.expect(/'notes' asks: New note/);
      await term.expect(/Text \(text, at least 1 character\): $/);
      term.type('\n');
      await term.expect(/an answer is required; try again\n.*: $/);
      term.type('milk n-902\n');
      await term.expect(/Tag \(text, optional, Enter to skip\): $/);
      term.type('\n');
      await term.expect(/answers: text="milk n-902"\n/);
      term.type('y\n');
      await term.expect(/added note 1/);
      assert.equal(await term.exited, 0, term.text);
    } finally {
      term.kill();
    }
    const listed = await run(['call', 'notes/list', '--json'], { env });
    assert.deepEqual(
      JSON.parse(listed.stdout).structuredContent.notes.map((n: { text: string; tag?: string }) => [
        n.text,
        n.tag,
      ]),
      [['milk n-902', undefined]],
    );
  });

  test('decline and cancel are answers too; Ctrl-D cancels', T, async () => {
    const config = askingConfig();
    for (const [keys, action] of [
      [['hello\n', 'n\n'], 'decline'],
      [['hello\n', 'c\n'], 'cancel'],
      [['\u0004'], 'cancel'],
    ] as const) {
      const nonce = `d-${action}-${keys.length}`;
      const term = new Terminal(['--config', config, 'call', 'ask/ask', `nonce=${nonce}`]);
      try {
        await term.expect(new RegExp(`asks: question:${nonce}`));
        for (const key of keys) {
          await term.expect(/: $/);
          term.type(key);
        }
        assert.equal(await term.exited, 0, term.text);
        assert.deepEqual(lastJson(term.text), { nonce, action, reply: null });
      } finally {
        term.kill();
      }
    }
  });

  test('URL mode: the URL is shown, Enter answers, and the completion notice is reported', T, async () => {
    const term = new Terminal(['--config', askingConfig(), 'call', 'ask/ask_url', 'nonce=u-42']);
    try {
      await term.expect(
        /'ask' asks you to open a URL: sign in:u-42\n\s+https:\/\/example\.com\/sign-in\?n=u-42/,
      );
      await term.expect(/Press Enter when you are done there \(\[d\]ecline, \[c\]ancel\): $/);
      term.type('\n');
      await term.expect(/'ask' says the step at the URL is complete/);
      assert.equal(await term.exited, 0, term.text);
      assert.deepEqual(lastJson(term.text), { nonce: 'u-42', action: 'accept', notified: true });
    } finally {
      term.kill();
    }
  });

  test('--no-input declines even on a terminal, and says how to answer', T, async () => {
    const term = new Terminal(['--config', askingConfig(), 'call', 'ask/ask', 'nonce=q-5', '--no-input']);
    try {
      assert.equal(await term.exited, 0, term.text);
      assert.match(
        term.text,
        /'ask' asked: "question:q-5" \(reply\); declined, because of --no-input\. Run the command in a terminal without --no-input to answer it\./,
      );
      assert.deepEqual(lastJson(term.text), { nonce: 'q-5', action: 'decline', reply: null });
    } finally {
      term.kill();
    }
  });
});

describe('CLI client side without a terminal', () => {
  test(
    'stdin a pipe: a question is declined with a note on stderr; stdout has only the result',
    T,
    async () => {
      const config = askingConfig();
      const asked = await run(['--config', config, 'call', 'ask/ask', 'nonce=p-1']);
      assert.equal(asked.code, 0, asked.stderr);
      assert.deepEqual(JSON.parse(asked.stdout), { nonce: 'p-1', action: 'decline', reply: null });
      assert.match(
        asked.stderr,
        /'ask' asked: "question:p-1" \(reply\); declined, because stdin is not a terminal\. Run the command in a terminal to answer it\./,
      );
      const url = await run(['--config', config, 'call', 'ask/ask_url', 'nonce=p-2']);
      assert.equal(url.code, 0, url.stderr);
      assert.equal(JSON.parse(url.stdout).action, 'decline');
      assert.match(
        url.stderr,
        /'ask' asked you to open https:\/\/example\.com\/sign-in\?n=p-2 \("sign in:p-2"\); declined/,
      );
    },
  );

  test('sampling is declined: the server gets an error that says the CLI has no model', T, async () => {
    const sampled = await run(['--config', askingConfig(), 'call', 'ask/sample', 'nonce=s-1']);
    assert.equal(sampled.code, 1, sampled.stderr);
    assert.match(
      sampled.stderr,
      /'ask' asked for an LLM completion \(sampling\); declined: the switchboard CLI has no model/,
    );
    // The server's own report of the error it got in its request's place:
    assert.match(
      sampled.stderr,
      /ask\/sample reported an error:\n.*the switchboard CLI has no model, so it declines sampling\/createMessage/,
    );
  });

  test(
    'roots: the current folder, or each --root; a missing or non-folder --root is a usage error',
    T,
    async () => {
      const config = askingConfig();
      const cwd = realpathSync(mkdtempSync(join(tmpdir(), 'sb-roots-')));
      mkdirSync(join(cwd, 'a'));
      mkdirSync(join(cwd, 'b c'));
      writeFileSync(join(cwd, 'file.txt'), 'x');
      const here = await run(['--config', config, 'call', 'ask/roots', 'nonce=r-1'], { cwd });
      assert.equal(here.code, 0, here.stderr);
      assert.deepEqual(JSON.parse(here.stdout).roots, [pathToFileURL(cwd).href]);
      const given = await run(
        ['--config', config, 'call', 'ask/roots', 'nonce=r-2', '--root', 'a', '--root', join(cwd, 'b c')],
        { cwd },
      );
      assert.equal(given.code, 0, given.stderr);
      assert.deepEqual(JSON.parse(given.stdout).roots, [
        pathToFileURL(join(cwd, 'a')).href,
        pathToFileURL(join(cwd, 'b c')).href, // file:///…/b%20c
      ]);
      const missing = await run(['--config', config, 'call', 'ask/roots', 'nonce=r-3', '--root', 'nope'], {
        cwd,
      });
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /--root nope: no such folder \(.*\/nope\); give a folder that exists/);
      const file = await run(['--config', config, 'call', 'ask/roots', 'nonce=r-4', '--root', 'file.txt'], {
        cwd,
      });
      assert.equal(file.code, 2);
      assert.match(file.stderr, /--root file\.txt is a file \(.*\/file\.txt\); give a folder/);
    },
  );
});

describe('CLI resources and prompts', () => {
  test('against the bundled servers: list, read, get, with --json, and bad input', T, async () => {
    const env = { NOTES_FILE: join(mkdtempSync(join(tmpdir(), 'sb-notes-')), 'notes.json') };
    assert.equal((await run(['call', 'notes/add', 'text=buy milk n-311', 'tag=shop'], { env })).code, 0);

    const resources = await run(['resources'], { env });
    assert.equal(resources.code, 0, resources.stderr);
    assert.match(resources.stdout, /^SERVER\s+URI\s+NAME\s+DESCRIPTION$/m);
    assert.match(resources.stdout, /^notes\s+notes:\/\/1\s+note 1\s+One note as text$/m);
    const listed = JSON.parse((await run(['resources', 'notes', '--json'], { env })).stdout) as {
      server: string;
      resource: { uri: string; name: string };
    }[];
    assert.deepEqual(
      listed.map((r) => [r.server, r.resource.uri, r.resource.name]),
      [['notes', 'notes://1', 'note 1']],
    );

    const read = await run(['read', 'notes', 'notes://1'], { env });
    assert.equal(read.code, 0, read.stderr);
    assert.equal(read.stdout, 'buy milk n-311\n');
    const readJson = JSON.parse((await run(['read', 'notes', 'notes://1', '--json'], { env })).stdout);
    assert.equal(readJson.contents[0].text, 'buy milk n-311');
    const unknown = await run(['read', 'notes', 'notes://9'], { env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /error \[JSON-RPC -32602\]: .*no note 9/);
    assert.match(unknown.stderr, /'notes' lists: notes:\/\/1 \(see `switchboard resources notes`\)/);

    const prompts = await run(['prompts'], { env });
    assert.equal(prompts.code, 0, prompts.stderr);
    assert.match(prompts.stdout, /^notes\/summarize\s+tag\?\s+Asks the model to summarize/m);
    const prompt = await run(['prompt', 'notes/summarize', 'tag=shop'], { env });
    assert.equal(prompt.code, 0, prompt.stderr);
    assert.equal(prompt.stdout, '[user] Summarize these notes:\n- buy milk n-311\n');
    const noPrompt = await run(['prompt', 'notes/summary'], { env });
    assert.equal(noPrompt.code, 1);
    assert.match(
      noPrompt.stderr,
      /error: 'notes' has no prompt 'summary'; it has summarize \(see `switchboard prompts notes`\)/,
    );
    const clockPrompt = await run(['prompt', 'clock/summarize']);
    assert.equal(clockPrompt.code, 1);
    assert.match(clockPrompt.stderr, /'clock' has no prompts/);

    const badServer = await run(['resources', 'nope']);
    assert.equal(badServer.code, 2);
    assert.match(badServer.stderr, /E_UNKNOWN_SERVER.*'nope'.*clock, notes/);
    const badRead = await run(['read', 'nope', 'x://1']);
    assert.equal(badRead.code, 2);
    assert.match(badRead.stderr, /E_UNKNOWN_SERVER/);
    const noUri = await run(['read', 'notes']);
    assert.equal(noUri.code, 2);
    assert.match(noUri.stderr, /'read' takes a server and a URI: switchboard read <server> <uri>/);
    const noSlash = await run(['prompt', 'summarize']);
    assert.equal(noSlash.code, 2);
    assert.match(noSlash.stderr, /'prompt' needs a prompt as <server>\/<prompt>, not 'summarize'/);
  });

  test('tools of one server with --schema', T, async () => {
    const tools = await run(['tools', 'clock', '--schema']);
    assert.equal(tools.code, 0, tools.stderr);
    assert.doesNotMatch(tools.stdout, /notes\//);
    assert.match(tools.stdout, /^clock\/now {2}The current date and time/m);
    assert.match(tools.stdout, /^ {2}timeZone\s+optional\s+\{"description":"IANA zone.*"type":"string"\}$/m);
    assert.match(
      tools.stdout,
      /^ {2}from\s+optional\s+\{"default":3,"type":"integer","minimum":1,"maximum":100\}$/m,
    );
    const json = JSON.parse((await run(['tools', 'notes', '--json'])).stdout) as { server: string }[];
    assert.deepEqual([...new Set(json.map((t) => t.server))], ['notes']);
    const unknown = await run(['tools', 'nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /E_UNKNOWN_SERVER/);
  });

  test('against the asking fixture: a required prompt argument, unknown ones, a resource', T, async () => {
    const config = askingConfig();
    const prompts = await run(['--config', config, 'prompts', 'ask']);
    assert.match(prompts.stdout, /^ask\/greet\s+who style\?\s+A greeting/m);
    const missing = await run(['--config', config, 'prompt', 'ask/greet', 'style=warmly']);
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      /prompt 'ask\/greet' needs who=<value> \(whom to greet\); its arguments: who style\? \(an argument with \? is optional\)/,
    );
    const extra = await run(['--config', config, 'prompt', 'ask/greet', 'who=Ann', 'mood=x']);
    assert.equal(extra.code, 2);
    assert.match(extra.stderr, /prompt 'ask\/greet' has no argument 'mood'; its arguments: who style\?/);
    const got = await run(['--config', config, 'prompt', 'ask/greet', 'who=Ann n-58', 'style=warmly']);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, '[user] greet Ann n-58 warmly from ask\n');
    const json = JSON.parse(
      (await run(['--config', config, 'prompt', 'ask/greet', 'who=Bo', '--json'])).stdout,
    );
    assert.equal(json.messages[0].content.text, 'greet Bo from ask');

    const read = await run(['--config', config, 'read', 'ask', 'asking://info']);
    assert.equal(read.code, 0, read.stderr);
    assert.equal(read.stdout, 'asking-ask\n');
    const unknown = await run(['--config', config, 'read', 'ask', 'asking://nope']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /error \[JSON-RPC -?\d+\]: .*asking:\/\/nope/);
    assert.match(unknown.stderr, /'ask' lists: asking:\/\/info/);
    const schema = await run(['--config', config, 'tools', 'ask', '--schema']);
    assert.match(schema.stdout, /^ask\/ask_form {2}Asks the user a form/m);
    assert.match(schema.stdout, /^ {2}nonce\s+required\s+\{"type":"string"\}$/m);
  });
});
