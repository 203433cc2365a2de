import type { MessagePort } from 'node:worker_threads';

/**
 * What to do with a message a structured clone refuses: a replacement to post in its place, or
 * undefined to drop it (its sender is told by the callback itself).
 */
export type Unclonable<M> = (message: M, err: unknown) => M | undefined;

export interface PortWriterOptions<M> {
  unclonable: Unclonable<M>;
  /**
   * Whether the message being posted is the only one in flight, so that nothing will join it in this
   * turn: it is then posted at once rather than at the end of the turn.
   */
  alone: () => boolean;
}

/**
 * The sending half of one side of a thread host's MessagePort: messages leave in batches (arrays), one
 * postMessage per turn of the event loop instead of one per message. Each postMessage is a structured
 * clone call, a lock on the port's queue and a wake-up of the other thread: at 64 callers that was most
 * of a call's cost on both sides. A turn's messages leave together, in order, when its I/O callbacks are
 * done (setImmediate). A message posted while it is alone in flight, with nothing queued, leaves at once
 * (at concurrency 1 nothing would join it, and the other side starts on it sooner); with other calls in
 * flight it waits for the rest of its turn, so that the other thread is woken once for all of them, not
 * once for the first and again for the rest.
 *
 * `close()` drops what is queued and cancels the scheduled flush: nothing is posted after it, and no
 * Immediate of this writer keeps the event loop alive once its port is gone.
 */
export class PortWriter<M> {
  #port: MessagePort;
  #unclonable: Unclonable<M>;
  #alone: () => boolean;
  /** Messages waiting for the flush at the end of this turn. */
  #queue: M[] = [];
  /** The flush at the end of this turn, while one is scheduled: a message posted now joins its queue. */
  #immediate: NodeJS.Immediate | undefined;
  #closed = false;

  constructor(port: MessagePort, options: PortWriterOptions<M>) {
    this.#port = port;
    this.#unclonable = options.unclonable;
    this.#alone = options.alone;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Messages waiting for this turn's flush. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Sends `message` in order after every message posted before it. After close(), does nothing. */
  post(message: M): void {
    if (this.#closed) return;
    if (this.#immediate) {
      this.#queue.push(message);
    } else if (this.#alone()) {
      this.#send([message]); // nothing is queued: nothing posted earlier is overtaken
    } else {
      this.#queue.push(message);
      this.#immediate = setImmediate(this.#flush);
    }
  }

  /** Posts what is queued now, rather than at the end of the turn (before the port is closed). */
  flush(): void {
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#flush();
  }

  /**
   * Nothing more leaves: the queue is dropped and the scheduled flush cancelled. Returns what was
   * dropped, for the owner to fail. Idempotent.
   */
  close(): M[] {
    this.#closed = true;
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    const dropped = this.#queue;
    this.#queue = [];
    return dropped;
  }

  #flush = (): void => {
    this.#immediate = undefined;
    if (this.#queue.length === 0) return;
    const batch = this.#queue;
    this.#queue = [];
    this.#send(batch);
  };

  #send(batch: M[]): void {
    try {
      this.#port.postMessage(batch);
    } catch {
      // One message the clone refuses (DataCloneError) fails the whole postMessage before anything is
      // sent: the batch goes again one by one, in order, and only that message is replaced (or dropped)
      // by its owner. This may run in the flush, where a throw would end the process.
      for (const message of batch) this.#sendOne(message);
    }
  }

  #sendOne(message: M): void {
    try {
      this.#port.postMessage([message]);
    } catch (err) {
      const replacement = this.#unclonable(message, err);
      if (replacement === undefined) return;
      try {
        this.#port.postMessage([replacement]);
      } catch {
        // A replacement is plain JSON data; a port that cannot take even that is going away.
      }
    }
  }
}
