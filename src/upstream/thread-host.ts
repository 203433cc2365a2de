import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { Isolation, ServerConfig } from '../config/config.js';
import { Correlator } from '../core/correlator.js';
import { fromWire, SwitchboardError, toWire } from '../core/errors.js';
import type { Params } from '../core/jsonrpc.js';
import type { ConnectionStats, ServerDescription } from './connection.js';
import type { HostEvents, RequestOptions, UpstreamHost } from './host.js';
import { closedError } from './inline-host.js';
import {
  type FromWorker,
  type ToWorker,
  WORKER_STATS,
  WORKER_STDERR,
  type WorkerInit,
} from './port-protocol.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);

/**
 * The connection in a worker thread of its own. The main side keeps a futures table of its own (ids,
 * deadlines, abort listeners) over the worker's MessagePort; the worker keeps the upstream's. Errors
 * cross as {code, message, data} and are rebuilt here, with the caller's stack.
 */
export class ThreadHost implements UpstreamHost {
  readonly server: string;
  readonly isolation: Isolation = 'thread';
  #config: ServerConfig;
  #events: HostEvents;
  #worker: Worker | undefined;
  #port: MessagePort | undefined;
  #correlator: Correlator;
  #ready: Promise<ServerDescription> | undefined;
  #closing: Promise<void> | undefined;
  #final: { stats: ConnectionStats; stderr: string[] } | undefined;
  /** Settles when the worker has exited, however that happened. */
  #exited: Promise<void> = Promise.resolve();

  constructor(config: ServerConfig, events: HostEvents) {
    this.server = config.name;
    this.#config = config;
    this.#events = events;
    this.#correlator = new Correlator(config.name, {
      send: (pending, params) => {
        this.#post({
          t: 'req',
          id: pending.id,
          method: pending.method,
          params,
          progress: pending.onProgress !== undefined,
        });
      },
      cancel: (pending, reason) => {
        this.#post({ t: 'cancel', id: pending.id, reason: toWire(reason) });
      },
    });
  }

  start(opts: { signal?: AbortSignal | undefined } = {}): Promise<ServerDescription> {
    this.#ready ??= this.#spawn(opts.signal);
    return this.#ready;
  }

  #spawn(signal: AbortSignal | undefined): Promise<ServerDescription> {
    return new Promise<ServerDescription>((resolve, reject) => {
      const { port1, port2 } = new MessageChannel();
      const init: WorkerInit & { port: MessagePort } = { config: this.#config, port: port2 };
      const worker = new Worker(WORKER_URL, {
        workerData: init,
        transferList: [port2],
        name: `upstream:${this.server}`,
      });
      this.#worker = worker;
      this.#port = port1;
      this.#exited = new Promise<void>((r) => worker.once('exit', () => r()));
      let started = false;
      const onAbort = () => {
        reject(
          new SwitchboardError('E_ABORTED', `start of '${this.server}' was aborted by the caller`, {
            data: { server: this.server },
          }),
        );
        void this.close();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      port1.on('message', (msg: FromWorker) => {
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
          case 'closed': {
            this.#final = { stats: msg.stats, stderr: msg.stderr };
            const reason = fromWire(msg.error) as SwitchboardError;
            this.#correlator.close(reason);
            this.#events.close?.(reason);
            void this.#shutdownWorker();
            return;
          }
        }
      });
      worker.on('error', (err) => {
        signal?.removeEventListener('abort', onAbort);
        const reason = new SwitchboardError(
          'E_UPSTREAM_CLOSED',
          `the worker thread of '${this.server}' failed: ${err.message}`,
          {
            cause: err,
            data: { server: this.server },
          },
        );
        this.#correlator.close(reason);
        if (!started) reject(reason);
        else this.#events.close?.(reason);
      });
      worker.on('exit', (code) => {
        signal?.removeEventListener('abort', onAbort);
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
            {
              data: { server: this.server, exitCode: code },
            },
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
    this.#post({ t: 'notify', method, params });
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

  close(reason?: SwitchboardError): Promise<void> {
    this.#closing ??= (async () => {
      this.#correlator.close(reason ?? closedError(this.server));
      const worker = this.#worker;
      if (!worker) return;
      try {
        this.#port?.postMessage({ t: 'close' } satisfies ToWorker);
      } catch {
        // The port is already closed: the worker is on its way out.
      }
      // The worker ends its upstream (stdio trees included), then runs out of work and exits.
      const timer = setTimeout(() => void worker.terminate(), this.#config.closeGraceMs * 3 + 1000);
      timer.unref();
      await this.#exited;
      clearTimeout(timer);
    })();
    return this.#closing;
  }

  #shutdownWorker(): Promise<void> {
    this.#port?.close();
    return this.#worker ? this.#worker.terminate().then(() => {}) : Promise.resolve();
  }

  #post(message: ToWorker): void {
    this.#port!.postMessage(message);
  }
}
