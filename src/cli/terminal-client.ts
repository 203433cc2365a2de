import { createInterface, type Interface } from 'node:readline';
import type { ClientHandlers, Root, ServerRequestContext } from '../index.js';
import {
  type Field,
  formOf,
  optionLines,
  parseAnswer,
  printable,
  promptOf,
  summaryOf,
} from './elicitation-form.js';

export interface TerminalClientOptions {
  /** Where answers are read from (stdin), got on the first question only. */
  input: () => NodeJS.ReadableStream & { isTTY?: boolean };
  /** Where questions and notes go (stderr: stdout keeps the command's result clean). */
  output: NodeJS.WritableStream;
  /** Why nothing is asked (`--no-input`, no terminal); undefined when questions are asked. */
  noInput?: string | undefined;
  /** The roots every server is given. */
  roots: readonly Root[];
  /** Ctrl-C while a question is open (readline takes it in raw mode); by default, SIGINT to this process. */
  onInterrupt?: (() => void) | undefined;
}

/** Questions waiting for the terminal, at most this many; one more is refused at once. */
const MAX_WAITING = 16;
/** URL-mode elicitations whose completion notice would be announced, at most this many (oldest go). */
const MAX_URLS = 64;

type Result = Record<string, unknown>;

/**
 * The CLI's answers to what servers ask: elicitation on the terminal (a form, or a URL to open), a
 * refusal of sampling (the CLI has no model), and the roots it was given. One question at a time; the
 * form logic is in elicitation-form.ts, this is the terminal I/O.
 */
export class TerminalClient {
  readonly #opts: TerminalClientOptions;
  #rl: Interface | undefined;
  /** stdin ended (Ctrl-D, or a pipe's end): every open and later question is cancelled. */
  #ended = false;
  #turn: Promise<unknown> = Promise.resolve();
  #waiting = 0;
  /** URL-mode elicitations shown, by id: their server, and the wait to end when they complete. */
  readonly #urls = new Map<string, { server: string; complete?: (() => void) | undefined }>();

  constructor(opts: TerminalClientOptions) {
    this.#opts = opts;
  }

  /** The handlers to give the switchboard, as defaults for every call. */
  handlers(): ClientHandlers {
    return {
      onElicitation: (params, ctx) => this.#elicit(params, ctx),
      onElicitationComplete: (params) => this.#completed(params),
      onSampling: (_params, ctx) => this.#sample(ctx),
      roots: this.#opts.roots,
    };
  }

  /** Ends the terminal reader (and raw mode), so stdin no longer holds the process. Idempotent. */
  close(): void {
    this.#rl?.close();
  }

  async #elicit(params: Result, ctx: ServerRequestContext): Promise<Result> {
    const server = printable(ctx.server);
    const message = printable(String(params.message ?? ''));
    const url = params.mode === 'url' ? printable(String(params.url ?? '')) : undefined;
    let fields: Field[] = [];
    if (url === undefined) {
      try {
        fields = formOf(params.requestedSchema);
      } catch (err) {
        this.#say(
          `'${server}' asked: "${message}", with a form the CLI cannot show (${(err as Error).message}); declined`,
        );
        return { action: 'decline' };
      }
    }
    if (this.#opts.noInput !== undefined) {
      const asked =
        url !== undefined
          ? `asked you to open ${url} ("${message}")`
          : `asked: "${message}"${fields.length ? ` (${fields.map((f) => printable(f.key)).join(', ')})` : ''}`;
      this.#say(
        `'${server}' ${asked}; declined, because ${this.#opts.noInput}. Run the command in a terminal${this.#opts.noInput.includes('--no-input') ? ' without --no-input' : ''} to answer it.`,
      );
      return { action: 'decline' };
    }
    if (this.#waiting >= MAX_WAITING) {
      throw new Error(
        `${this.#waiting} questions are already waiting for the terminal; this one from '${ctx.server}' was refused`,
      );
    }
    this.#waiting++;
    const mine = this.#turn.then(() =>
      url !== undefined
        ? this.#url(server, message, url, String(params.elicitationId ?? ''), ctx.signal)
        : this.#form(server, message, fields, ctx.signal),
    );
    this.#turn = mine.catch(() => {});
    try {
      return await mine;
    } catch (err) {
      if (ctx.signal.aborted) this.#say(`  (the question from '${server}' was withdrawn)`);
      throw err;
    } finally {
      this.#waiting--;
    }
  }

  async #form(server: string, message: string, fields: Field[], signal: AbortSignal): Promise<Result> {
    this.#say(`\n'${server}' asks: ${message}`);
    if (fields.length) this.#say('  (Enter takes the default; Ctrl-D cancels)');
    for (;;) {
      const content: Record<string, unknown> = {};
      for (const field of fields) {
        if (field.description) this.#say(`  ${printable(field.description)}`);
        for (const line of optionLines(field)) this.#say(line);
        for (;;) {
          const line = await this.#ask(promptOf(field), signal);
          if (line === null) return this.#cancelled();
          const answer = parseAnswer(field, line);
          if ('error' in answer) {
            this.#say(`  ${answer.error}; try again`);
            continue;
          }
          if ('value' in answer) content[field.key] = answer.value;
          break;
        }
      }
      if (fields.length) this.#say(`  answers: ${summaryOf(fields, content) || '(none)'}`);
      for (;;) {
        const line = await this.#ask('Send? [y]es, [n]o = decline, [c]ancel, [e]dit (Enter: yes): ', signal);
        if (line === null) return this.#cancelled();
        const word = line.trim().toLowerCase();
        if (['', 'y', 'yes', 'a', 'accept'].includes(word)) return { action: 'accept', content };
        if (['n', 'no', 'd', 'decline'].includes(word)) return { action: 'decline' };
        if (['c', 'cancel'].includes(word)) return { action: 'cancel' };
        if (['e', 'edit'].includes(word) && fields.length) break;
        this.#say('  answer y, n, c or e');
      }
    }
  }

  /**
   * URL mode: the user opens the URL, then presses Enter; or the server says the step there is complete
   * (`notifications/elicitation/complete`), which ends the wait too. Either way the answer is accept:
   * the user agreed to go there (spec: client/elicitation, URL mode).
   */
  async #url(server: string, message: string, url: string, id: string, signal: AbortSignal): Promise<Result> {
    this.#say(`\n'${server}' asks you to open a URL: ${message}`);
    this.#say(`  ${url}`);
    let host = '';
    try {
      host = new URL(url).host;
    } catch {
      // not a URL the CLI can name a host of; it is shown as is
    }
    if (host) this.#say(`  (it goes to ${printable(host)})`);
    const completion = new AbortController();
    this.#remember(id, { server, complete: () => completion.abort() });
    try {
      for (;;) {
        const line = await this.#ask(
          'Press Enter when you are done there ([d]ecline, [c]ancel): ',
          AbortSignal.any([signal, completion.signal]),
        ).catch((err: unknown) => {
          if (completion.signal.aborted && !signal.aborted) return undefined;
          throw err;
        });
        if (line === undefined) {
          this.#say(`  '${server}' says the step at the URL is complete`);
          return { action: 'accept' };
        }
        if (line === null) return this.#cancelled();
        const word = line.trim().toLowerCase();
        if (word === '') return { action: 'accept' };
        if (['d', 'decline', 'n', 'no'].includes(word)) return { action: 'decline' };
        if (['c', 'cancel'].includes(word)) return { action: 'cancel' };
        this.#say('  press Enter, or answer d or c');
      }
    } finally {
      this.#remember(id, { server }); // a later notice is announced, not waited for
    }
  }

  #remember(id: string, entry: { server: string; complete?: () => void }): void {
    if (!id) return;
    this.#urls.delete(id);
    this.#urls.set(id, entry);
    if (this.#urls.size > MAX_URLS) this.#urls.delete(this.#urls.keys().next().value!);
  }

  #completed(params: Result): void {
    const id = String(params.elicitationId ?? '');
    const entry = this.#urls.get(id);
    if (!entry) return;
    if (entry.complete) entry.complete();
    else this.#say(`'${entry.server}' says the step at the URL is complete`);
  }

  #sample(ctx: ServerRequestContext): never {
    this.#say(
      `'${printable(ctx.server)}' asked for an LLM completion (sampling); declined: the switchboard CLI has no model. A program using the mcp-switchboard library can answer it with onSampling.`,
    );
    throw new Error(
      'the switchboard CLI has no model, so it declines sampling/createMessage; a program using the mcp-switchboard library can answer it with onSampling',
    );
  }

  #cancelled(): Result {
    this.#say('  cancelled: input ended (Ctrl-D)');
    return { action: 'cancel' };
  }

  #say(text: string): void {
    this.#opts.output.write(`${text}\n`);
  }

  /** One line from the terminal; null once stdin has ended. Rejects when `signal` fires. */
  #ask(prompt: string, signal: AbortSignal): Promise<string | null> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.#ended) return Promise.resolve(null);
    const rl = this.#open();
    return new Promise((resolve, reject) => {
      const done = () => {
        rl.off('close', onClose);
        signal.removeEventListener('abort', onAbort);
      };
      const onClose = () => {
        done();
        resolve(null);
      };
      const onAbort = () => {
        done();
        reject(signal.reason);
      };
      rl.once('close', onClose);
      signal.addEventListener('abort', onAbort, { once: true });
      rl.question(prompt, { signal }, (answer) => {
        done();
        resolve(answer);
      });
    });
  }

  #open(): Interface {
    if (this.#rl) return this.#rl;
    const input = this.#opts.input();
    const rl = createInterface({ input, output: this.#opts.output, terminal: Boolean(input.isTTY) });
    rl.on('close', () => {
      this.#ended = true;
    });
    // In raw mode Ctrl-C reaches readline, not the process: pass it on, so that it interrupts the
    // command (cancelling the call on the server) as it does everywhere else.
    rl.on('SIGINT', this.#opts.onInterrupt ?? (() => process.kill(process.pid, 'SIGINT')));
    this.#rl = rl;
    return rl;
  }
}
