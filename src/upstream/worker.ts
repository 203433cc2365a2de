/**
 * The worker side of a thread host: one upstream connection, driven over this worker's MessagePort.
 * Deadlines live on the main side; here a call ends when the upstream answers or the main side cancels.
 * However the connection ends (closed by the main side, or lost), the worker ends the server's process
 * tree before it closes its port and exits: the crash path and the close path are one path.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import type { RelayedCancel } from '../core/correlator.js';
import { fromWire, SwitchboardError, toWire } from '../core/errors.js';
import type { Params } from '../core/jsonrpc.js';
import { UpstreamConnection } from './connection.js';
import {
  type FromWorker,
  jsonCopy,
  type ToWorker,
  WORKER_STATS,
  WORKER_STDERR,
  type WorkerInit,
} from './port-protocol.js';
import { PortWriter } from './port-writer.js';

const { config, port, capabilities } = workerData as WorkerInit & { port: MessagePort };
// What crosses from here is parsed JSON or made of it; should a clone refuse something (the SDK's server
// description), it goes as JSON carries it.
const writer = new PortWriter<FromWorker>(port, {
  unclonable: (message) => {
    try {
      return jsonCopy(message);
    } catch {
      return undefined;
    }
  },
  // An answer leaves at once when no other call is in flight (its own has just left `inflight`).
  alone: () => inflight.size === 0,
});
const post = (message: FromWorker) => writer.post(message);
/** The calls sent upstream for the main side, by its ids: how its cancellations reach them. */
const inflight = new Map<number, RelayedCancel>();
/** Server requests passed on to the main side, waiting for its answer. */
const asks = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
let nextAsk = 1;
let conn: UpstreamConnection | undefined;
let ending: Promise<void> | undefined;
/** A close that arrives during the handshake ends the handshake too, not only what follows it. */
const starting = new AbortController();

/**
 * Ends the connection and its process tree, then the port: the worker then runs out of work and exits.
 * `ending` is set before the connection is asked to close, since a transport may report the close from
 * inside close(), and that report comes back here.
 */
function end(now: boolean): Promise<void> {
  if (ending) {
    if (now) void conn?.close(undefined, { now: true });
    return ending;
  }
  let done!: () => void;
  ending = new Promise<void>((resolve) => {
    done = resolve;
  });
  void (conn?.close(undefined, { now }) ?? Promise.resolve()).finally(() => {
    closePort();
    done();
  });
  return ending;
}

/** What is queued for the main side leaves first; then the port closes and nothing more is sent. */
function closePort(): void {
  writer.flush();
  writer.close();
  port.close();
}

async function main(): Promise<void> {
  try {
    conn = await UpstreamConnection.open(config, {
      signal: starting.signal,
      capabilities,
      events: {
        notification: (message) => post({ t: 'note', message }),
        warning: (err) => post({ t: 'warn', error: toWire(err) }),
        stderr: (line) => post({ t: 'stderr', line }),
        spawn: (pid) => post({ t: 'spawned', pid }),
        // Contexts here are the main side's call ids (see onRequest); the main side has the handlers.
        serverRequest: (request, link, signal) =>
          new Promise<Record<string, unknown>>((resolve, reject) => {
            const id = nextAsk++;
            asks.set(id, { resolve, reject });
            signal.addEventListener(
              'abort',
              () => {
                if (asks.delete(id)) {
                  post({ t: 'unask', id, reason: toWire(signal.reason) });
                  reject(signal.reason as Error);
                }
              },
              { once: true },
            );
            post({
              t: 'ask',
              id,
              request,
              related: link.related as number | undefined,
              inflight: link.inflight as number[],
            });
          }),
        close: (reason) => {
          if (ending) return;
          // The calls fail now; the process tree is ended before the worker goes.
          post({ t: 'closed', error: toWire(reason), stats: conn!.stats, stderr: conn!.stderrTail });
          void end(false);
        },
      },
    });
  } catch (err) {
    post({ t: 'failed', error: toWire(err) });
    closePort();
    return;
  }
  if (ending) {
    await conn.close(); // closed while the handshake finished: the port is already gone
    return;
  }
  post({ t: 'ready', description: conn.description });
}

port.on('message', (batch: ToWorker[]) => {
  for (const msg of batch) onMessage(msg);
});

function onMessage(msg: ToWorker): void {
  switch (msg.t) {
    case 'req':
      onRequest(msg);
      return;
    case 'cancel': {
      const relay = inflight.get(msg.id);
      if (relay) {
        inflight.delete(msg.id); // the main side has settled this call: no answer goes back for it
        relay.cancel?.(fromWire(msg.reason) as SwitchboardError);
      }
      return;
    }
    case 'notify':
      conn?.notify(msg.method, msg.params).catch(() => {});
      return;
    case 'answer': {
      const ask = asks.get(msg.id);
      if (!ask) return;
      asks.delete(msg.id);
      if (msg.error) ask.reject(fromWire(msg.error));
      else ask.resolve(msg.result ?? {});
      return;
    }
    case 'close':
      starting.abort(new SwitchboardError('E_CLOSED', `'${config.name}' was closed during start-up`));
      void end(msg.now);
      return;
  }
}

function onRequest(msg: Extract<ToWorker, { t: 'req' }>): void {
  const { id } = msg;
  if (msg.method === WORKER_STATS || msg.method === WORKER_STDERR) {
    const result = msg.method === WORKER_STATS ? conn?.stats : (conn?.stderrTail ?? []);
    post({ t: 'res', id, result });
    return;
  }
  if (!conn) {
    post({
      t: 'err',
      id,
      error: toWire(new SwitchboardError('E_UPSTREAM_UNAVAILABLE', `'${config.name}' is not started`)),
    });
    return;
  }
  const relay: RelayedCancel = { cancel: undefined };
  inflight.set(id, relay);
  conn
    .request(msg.method, msg.params === undefined ? undefined : (JSON.parse(msg.params) as Params), {
      relay,
      onProgress: msg.progress ? (params) => post({ t: 'progress', id, params }) : undefined,
      context: msg.asks ? id : undefined,
      capabilities: msg.capabilities,
    })
    .then(
      (result) => {
        if (inflight.delete(id)) post({ t: 'res', id, result });
      },
      (err: unknown) => {
        if (inflight.delete(id)) post({ t: 'err', id, error: toWire(err) });
      },
    );
}

void main();
