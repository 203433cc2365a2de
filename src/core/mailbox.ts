import { abortError, SwitchboardError, timeoutError } from './errors.js';

export interface MailboxLimits {
  /** Calls allowed to run at once. */
  maxInFlight: number;
  /** Calls allowed to wait for a slot; one more is refused at once with E_QUEUE_FULL. */
  maxQueue: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  cleanup: () => void;
  settled: boolean;
}

/**
 * One server's mailbox: a bounded FIFO in front of a bounded number of running calls.
 *
 * `tryEnter()` is the synchronous fast path; `enter()` waits in line. Every entry is paired with one
 * `leave()`, which hands the slot to the oldest waiter. A waiter that is aborted or whose deadline passes
 * leaves the line at once and never takes a slot.
 */
export class Mailbox {
  readonly name: string;
  #limits: MailboxLimits;
  #running = 0;
  // FIFO as an array with a moving head: O(1) push and shift, compacted when half is dead.
  #queue: (Waiter | undefined)[] = [];
  #head = 0;
  #waiting = 0;
  #closed: Error | undefined;
  #paused = false;
  #idle: (() => void)[] = [];
  #noneRunning: (() => void)[] = [];

  constructor(name: string, limits: MailboxLimits) {
    assertLimits(name, limits);
    this.name = name;
    this.#limits = { ...limits };
  }

  get running(): number {
    return this.#running;
  }
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * Stops handing out slots: new calls wait in line (within their own deadlines) and a freed slot is not
   * passed on. For a server that is restarting: what was never sent waits for the new connection.
   */
  pause(): void {
    this.#paused = true;
  }

  /** Hands out slots again, to as many waiters as the limits allow, oldest first. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#pump();
  }

  /** New limits for later entries; waiters already in line keep their place. */
  setLimits(limits: MailboxLimits): void {
    assertLimits(this.name, limits);
    this.#limits = { ...limits };
    if (!this.#paused) this.#pump();
  }

  /** Fills free slots from the line. */
  #pump(): void {
    while (this.#running < this.#limits.maxInFlight && this.#waiting > 0) {
      this.#running++;
      this.leave(); // passes the slot just taken to the oldest live waiter
    }
  }

  /** Refuses every waiter now with `err`; later entries are still accepted (unlike `close`). */
  rejectWaiting(err: Error): void {
    const waiters = this.#queue;
    const head = this.#head;
    this.#queue = [];
    this.#head = 0;
    this.#waiting = 0;
    for (let i = head; i < waiters.length; i++) {
      const w = waiters[i];
      if (w && !w.settled) {
        w.settled = true;
        w.cleanup();
        w.reject(err);
      }
    }
    if (this.#running === 0) this.#flushIdle();
  }

  /** Takes a slot now if one is free and nobody is waiting ahead. */
  tryEnter(): boolean {
    if (this.#closed) throw this.#closed;
    if (!this.#paused && this.#running < this.#limits.maxInFlight && this.#waiting === 0) {
      this.#running++;
      return true;
    }
    return false;
  }

  /**
   * Waits in line for a slot. Rejects at once with E_QUEUE_FULL when the line is full, and with
   * E_ABORTED / E_TIMEOUT when the signal fires or the deadline (absolute, `performance.now()` ms) passes
   * while waiting.
   */
  enter(
    opts: {
      signal?: AbortSignal | undefined;
      deadline?: number | undefined;
      timeoutMs?: number | undefined;
    } = {},
  ): Promise<void> {
    if (this.tryEnter()) return Promise.resolve();
    if (this.#waiting >= this.#limits.maxQueue) {
      return Promise.reject(
        new SwitchboardError(
          'E_QUEUE_FULL',
          `queue of '${this.name}' is full: ${this.#waiting} waiting, ${this.#running} running (maxQueue ${this.#limits.maxQueue}, maxInFlight ${this.#limits.maxInFlight})${this.#paused ? '; calls are held while the server (re)starts' : ''}; retry later or raise maxQueue/maxInFlight for this server`,
          { data: { server: this.name, waiting: this.#waiting, running: this.#running, ...this.#limits } },
        ),
      );
    }
    const { signal } = opts;
    if (signal?.aborted) {
      return Promise.reject(
        abortError(`call to '${this.name}'`, signal.reason, { server: this.name, stage: 'queued' }),
      );
    }
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () =>
        this.#drop(
          waiter,
          abortError(`call to '${this.name}'`, signal?.reason, { server: this.name, stage: 'queued' }),
        );
      const waiter: Waiter = {
        resolve,
        reject,
        settled: false,
        cleanup: () => {
          if (timer) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      if (opts.deadline !== undefined) {
        const left = opts.deadline - performance.now();
        timer = setTimeout(
          () =>
            this.#drop(
              waiter,
              timeoutError(
                `call to '${this.name}' (still queued)`,
                opts.timeoutMs ?? Math.max(0, Math.round(left)),
                {
                  server: this.name,
                  stage: 'queued',
                },
              ),
            ),
          Math.max(0, left),
        );
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiter);
      this.#waiting++;
    });
  }

  /** Gives the slot back; the oldest live waiter gets it (unless paused, or over a lowered limit). */
  leave(): void {
    const handOver = !this.#paused && this.#running <= this.#limits.maxInFlight;
    while (handOver && this.#head < this.#queue.length) {
      const next = this.#queue[this.#head];
      this.#queue[this.#head++] = undefined;
      if (next && !next.settled) {
        this.#waiting--;
        next.settled = true;
        next.cleanup();
        this.#compact();
        next.resolve(); // the slot passes straight over: #running stays the same
        return;
      }
    }
    this.#compact();
    this.#running--;
    if (this.#running === 0) {
      if (this.#noneRunning.length) this.#flushNoneRunning();
      if (this.#waiting === 0) this.#flushIdle();
    }
  }

  /** Resolves when nothing is running and nothing waits. */
  onIdle(): Promise<void> {
    if (this.#running === 0 && this.#waiting === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Resolves when no call is running (calls may still wait, for example while paused). */
  onNoneRunning(): Promise<void> {
    if (this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => this.#noneRunning.push(resolve));
  }

  /** Refuses every waiter and every later entry with `err`. Running calls are the caller's to end. */
  close(err: Error): void {
    if (this.#closed) return;
    this.#closed = err;
    this.rejectWaiting(err);
  }

  #drop(waiter: Waiter, err: Error): void {
    if (waiter.settled) return;
    waiter.settled = true;
    waiter.cleanup();
    this.#waiting--; // its array cell is skipped by leave()
    waiter.reject(err);
    if (this.#running === 0 && this.#waiting === 0) this.#flushIdle();
  }

  #compact(): void {
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #flushNoneRunning(): void {
    const waiting = this.#noneRunning;
    this.#noneRunning = [];
    for (const resolve of waiting) resolve();
  }

  #flushIdle(): void {
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }
}

function assertLimits(name: string, limits: MailboxLimits): void {
  if (!(limits.maxInFlight >= 1) || !(limits.maxQueue >= 0)) {
    throw new RangeError(`mailbox '${name}': maxInFlight must be >= 1 and maxQueue >= 0`);
  }
}
