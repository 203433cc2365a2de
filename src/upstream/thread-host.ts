import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { Isolation, ServerConfig } from '../config/config.js';
import { Correlator } from '../core/correlator.js';
import { abortError, fromWire, SwitchboardError, toWire } from '../core/errors.js';
import type { Params } from '../core/jsonrpc.js';
import { MAX_TIMER_MS } from '../core/validate.js';
import { groupAlive, signalGroup, trackGroup, untrackGroup } from '../transport/process-tree.js';
import type { ConnectionStats, ServerDescription } from './connection.js';
import type { CloseOptions, HostEvents, HostOptions, RequestOptions, UpstreamHost } from './host.js';
import { closedError } from './inline-host.js';
import {
  type FromWorker,
  jsonCopy,
  type ToWorker,
  WORKER_STATS,
  WORKER_STDERR,
  type WorkerInit,
} from './port-protocol.js';
import { PortWriter } from './port-writer.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);

/**
 * The Node options a worker is given. By default a worker inherits the host process's, but one given
 * `--input-type` or `--eval` (a switchboard in `node -e '...'`) refuses to start, so those are left out;
 * undefined (inherit) when there are none.
 */
const WORKER_EXEC_ARGV: string[] | undefined = (() => {
  const argv = process.execArgv;
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (/^(-e|--eval|-p|--print|--input-type)$/.test(arg))
      i++; // and its value
    else if (!/^(--eval|--print|--input-type)=/.test(arg)) out.push(arg);
  }
  return out.length === argv.length ? undefined : out;
})();

function newWorker(init: WorkerInit & { port: MessagePort }, name: string): Worker {
  const opts = { workerData: init, transferList: [init.port], name };
  try {
    return new Worker(WORKER_URL, { ...opts, execArgv: WORKER_EXEC_ARGV });
  } catch (err) {
    // Given explicitly, V8 options (--expose-gc...) are refused where inherited ones are not.
    if ((err as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err;
    return new Worker(WORKER_URL, { ...opts, execArgv: [] });
  }
}

/**
 * The connection in a worker thread of its own. The main side keeps a futures table of its own (ids,
 * deadlines, abort listeners) over the worker's MessagePort; the worker keeps the upstream's. Errors
 * cross as {code, message, data} and are rebuilt here, with the caller's stack.
 *
 * However the connection ends, it ends one way: the worker ends the server's process tree, then exits;
 * only a worker that does not exit in time is terminated. The process groups the worker's servers lead
 * are known here too, so that they are ended if this process exits first, or if the worker never could.
 */
export class ThreadHost implements UpstreamHost {
  readonly server: string;
  readonly isolation: Isolation = 'thread';
  #config: ServerConfig;
  #events: HostEvents;
  #worker: Worker | undefined;
  #port: MessagePort | undefined;
  /** Messages to the worker, batched per turn; closed (nothing more leaves) once the worker is gone. */
  #writer: PortWriter<ToWorker> | undefined;
  #correlator: Correlator;
  #ready: Promise<ServerDescription> | undefined;
  #closing: Promise<void> | undefined;
  #now = false;
  #final: { stats: ConnectionStats; stderr: string[] } | undefined;
  /** Settles when the worker has exited, however that happened. */
  #exited: Promise<void> = Promise.resolve();
  /** Process groups led by the server processes the worker started. */
  #groups = new Set<number>();
  /** Settles when what the worker's servers left running is gone, after the worker exited. */
  #groupsEnded: Promise<void> | undefined;

  #capabilities: Record<string, unknown> | undefined;

  constructor(config: ServerConfig, events: HostEvents, options: HostOptions = {}) {
    this.server = config.name;
    this.#config = config;
    this.#events = events;
    this.#capabilities = options.capabilities;
    this.#correlator = new Correlator(config.name, {
      send: (pending, params) => {
        this.#tell({
          t: 'req',
          id: pending.id,
          method: pending.method,
          params: params === undefined ? undefined : JSON.stringify(params),
          progress: pending.onProgress !== undefined,
          asks: pending.context !== undefined,
          capabilities: pending.capabilities,
        });
      },
      cancel: (pending, reason) => {
        this.#tell({ t: 'cancel', id: pending.id, reason: toWire(reason) });
      },
    });
  }

  /**
   * A message the structured clone refuses, found when its batch is posted: params with a proxy or a
   * function beside an array's elements, an answer with a class instance... It goes as JSON sends it,
   * which is what an inline connection does with it too. If not even JSON can carry it, a call fails now
   * with the caller's E_INVALID_ARGUMENT, and an answer goes back to the server as an error.
   */
  #unclonable = (message: ToWorker): ToWorker | undefined => {
    try {
      return jsonCopy(message);
    } catch (err) {
      if (message.t === 'req') {
        this.#correlator.reject(
          message.id,
          new SwitchboardError(
            'E_INVALID_ARGUMENT',
            `${message.method} on '${this.server}': the request could not be passed to its worker thread (${(err as Error)?.message ?? String(err)})`,
            { cause: err, data: { server: this.server, method: message.method } },
          ),
        );
        return undefined;
      }
      if (message.t === 'answer') return { t: 'answer', id: message.id, error: toWire(err) };
      return undefined;
    }
  };

  start(opts: { signal?: AbortSignal | undefined } = {}): Promise<ServerDescription> {
    const { signal } = opts;
    if (signal?.aborted) {
      return Promise.reject(abortError(`start of '${this.server}'`, signal.reason, { server: this.server }));
    }
    if (this.#closing) return Promise.reject(closedError(this.server));
    this.#ready ??= this.#spawn(signal);
    return this.#ready;
  }

  #spawn(signal: AbortSignal | undefined): Promise<ServerDescription> {
    return new Promise<ServerDescription>((resolve, reject) => {
      const { port1, port2 } = new MessageChannel();
      const init: WorkerInit & { port: MessagePort } = {
        config: this.#config,
        capabilities: this.#capabilities,
        port: port2,
      };
      const worker = newWorker(init, `upstream:${this.server}`);
      this.#worker = worker;
      this.#port = port1;
      const writer = new PortWriter<ToWorker>(port1, {
        unclonable: this.#unclonable,
        // A request leaves at once when it is the only call in flight.
        alone: () => this.#correlator.size <= 1,
      });
      this.#writer = writer;
      this.#exited = new Promise<void>((r) => worker.once('exit', () => r()));
      let started = false;
      const onAbort = () => {
        reject(abortError(`start of '${this.server}'`, signal?.reason, { server: this.server }));
        void this.close();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const onMessage = (msg: FromWorker) => {
        switch (msg.t) {
          case 'ready':
            started = true;
            signal?.removeEventListener('abort', onAbort);
            resolve(msg.description);
            return;
          case 'failed':
            signal?.removeEventListener('abort', onAbort);
            reject(fromWire(msg.error));
            return;
          case 'res':
            this.#correlator.resolve(msg.id, msg.result);
            return;
          case 'err':
            this.#correlator.reject(msg.id, fromWire(msg.error));
            return;
          case 'progress':
            this.#correlator.progress(msg.id, msg.params);
            return;
          case 'note':
            this.#events.notification?.(msg.message);
            return;
          case 'warn':
            this.#events.warning?.(fromWire(msg.error));
            return;
          case 'stderr':
            this.#events.stderr?.(msg.line);
            return;
          case 'ask':
            this.#answer(msg);
            return;
          case 'unask':
            this.#asked.get(msg.id)?.abort(fromWire(msg.reason));
            return;
          case 'spawned':
            this.#groups.add(msg.pid);
            trackGroup(msg.pid);
            this.#events.spawn?.(msg.pid);
            return;
          case 'closed': {
            // The upstream went away: calls fail now; the worker is already ending the process tree.
            this.#final = { stats: msg.stats, stderr: msg.stderr };
            const reason = fromWire(msg.error) as SwitchboardError;
            this.#correlator.close(reason);
            this.#events.close?.(reason);
            void this.close(reason);
            return;
          }
        }
      };
      port1.on('message', (batch: FromWorker[]) => {
        for (const msg of batch) onMessage(msg);
      });
      // The worker closed its end (it is exiting): what is queued for it goes nowhere, and the flush
      // scheduled for it is cancelled. Its calls fail when the worker has exited (below), with its account.
      port1.once('close', () => writer.close());
      worker.on('error', (err) => {
        writer.close();
        signal?.removeEventListener('abort', onAbort);
        const reason = new SwitchboardError(
          'E_UPSTREAM_CLOSED',
          `the worker thread of '${this.server}' failed: ${err.message}`,
          { cause: err, data: { server: this.server } },
        );
        this.#correlator.close(reason);
        if (!started) reject(reason);
        else this.#events.close?.(reason);
      });
      worker.on('exit', (code) => {
        writer.close();
        signal?.removeEventListener('abort', onAbort);
        // What the worker posted before it exited is read first: its own account beats "it exited".
        for (let m = receiveMessageOnPort(port1); m; m = receiveMessageOnPort(port1))
          for (const msg of m.message as FromWorker[]) onMessage(msg);
        this.#groupsEnded = this.#endGroups();
        if (!started) {
          this.#correlator.close(closedError(this.server));
          reject(
            new SwitchboardError(
              'E_START_FAILED',
              `the worker thread of '${this.server}' exited during start-up`,
              {
                data: { server: this.server },
              },
            ),
          );
        } else if (!this.#closing && !this.#final) {
          // The worker went away on its own: that is the upstream closing, for everyone waiting on it.
          const reason = new SwitchboardError(
            'E_UPSTREAM_CLOSED',
            `the worker thread of '${this.server}' exited (code ${code})`,
            { data: { server: this.server, exitCode: code } },
          );
          this.#correlator.close(reason);
          this.#events.close?.(reason);
        }
      });
    });
  }

  request(method: string, params: Params | undefined, opts?: RequestOptions): Promise<unknown> {
    if (!this.#port)
      return Promise.reject(
        new SwitchboardError('E_UPSTREAM_UNAVAILABLE', `'${this.server}' is not started`, {
          data: { server: this.server },
        }),
      );
    return this.#correlator.request(method, params, opts);
  }

  notify(method: string, params?: Params): Promise<void> {
    if (!this.#port || this.#closing) return Promise.reject(closedError(this.server));
    this.#tell({ t: 'notify', method, params });
    return Promise.resolve();
  }

  async stats(): Promise<ConnectionStats> {
    if (this.#final) return this.#final.stats;
    return (await this.#correlator.request(WORKER_STATS, undefined, { timeoutMs: 5000 })) as ConnectionStats;
  }

  async stderrTail(): Promise<string[]> {
    if (this.#final) return this.#final.stderr;
    return (await this.#correlator.request(WORKER_STDERR, undefined, { timeoutMs: 5000 })) as string[];
  }

  close(reason?: SwitchboardError, opts: CloseOptions = {}): Promise<void> {
    if (opts.now && !this.#now && this.#closing) {
      this.#now = true;
      this.#tell({ t: 'close', now: true }); // cuts the graceful close in progress short
      this.#writer?.flush();
    }
    this.#closing ??= (async () => {
      this.#now ||= opts.now === true;
      this.#correlator.close(reason ?? closedError(this.server));
      const worker = this.#worker;
      if (!worker) return;
      this.#tell({ t: 'close', now: this.#now });
      this.#writer?.flush(); // the close does not wait for the end of the turn
      // The worker ends its upstream (stdio trees included: stdin, SIGTERM, SIGKILL, each after
      // closeGraceMs), then runs out of work and exits. Only a worker stuck past all that is terminated.
      const stuck = Math.min(this.#config.closeGraceMs * 3 + 1000, MAX_TIMER_MS);
      const timer = setTimeout(() => void worker.terminate(), stuck);
      await this.#exited;
      clearTimeout(timer);
      await (this.#groupsEnded ?? this.#endGroups());
    })();
    return this.#closing;
  }

  /**
   * After the worker is gone: whatever its servers left running is ended from here, and the promise
   * settles once it is gone (a killed process takes a moment).
   */
  async #endGroups(): Promise<void> {
    const groups = [...this.#groups];
    this.#groups.clear();
    const left = groups.filter((pid) => groupAlive(pid));
    for (const pid of left) signalGroup(pid, 'SIGKILL');
    const until = Date.now() + 2000;
    while (left.some((pid) => groupAlive(pid)) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 10));
    for (const pid of groups) if (!groupAlive(pid)) untrackGroup(pid);
  }

  /** Server requests the worker passed on, being answered here: the server may cancel them. */
  #asked = new Map<number, AbortController>();

  /** A server request from the worker: its call ids become this side's contexts, and the answer goes back. */
  #answer(msg: Extract<FromWorker, { t: 'ask' }>): void {
    const ask = this.#events.serverRequest;
    const controller = new AbortController();
    this.#asked.set(msg.id, controller);
    const context = (id: number) => this.#correlator.contextOf(id);
    const link = {
      related: msg.related === undefined ? undefined : context(msg.related),
      inflight: msg.inflight.map(context).filter((c) => c !== undefined),
    };
    const answered = ask
      ? ask(msg.request, link, controller.signal)
      : Promise.reject(new Error(`mcp-switchboard does not handle '${msg.request.method}' from servers`));
    answered
      .then(
        (result) => this.#tell({ t: 'answer', id: msg.id, result }),
        (err: unknown) => this.#tell({ t: 'answer', id: msg.id, error: toWire(err) }),
      )
      .finally(() => this.#asked.delete(msg.id));
  }

  /** To the worker, in order, batched per turn. Once the worker is gone, nothing is sent. */
  #tell(message: ToWorker): void {
    this.#writer?.post(message);
  }
}
