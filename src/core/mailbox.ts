import { abortError, SwitchboardError, timeoutError } from './errors.js';
import { MAX_TIMER_MS } from './validate.js';

export interface MailboxLimits {
  /** Calls allowed to run at once. */
  maxInFlight: number;
  /** Calls allowed to wait for a slot; one more is refused at once with E_QUEUE_FULL. */
  maxQueue: number;
}

/** A call waiting for a slot: a cell of the mailbox's doubly linked line, unlinked the moment it ends. */
interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  cleanup: () => void;
  prev: Waiter | undefined;
  next: Waiter | undefined;
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
  // FIFO as a doubly linked list: O(1) push and shift, and a waiter that times out or is aborted is
  // unlinked at once, so `maxQueue` bounds the memory held as well as the count.
  #head: Waiter | undefined;
  #tail: Waiter | undefined;
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
    let w = this.#head;
    this.#head = undefined;
    this.#tail = undefined;
    this.#waiting = 0;
    while (w) {
      const next = w.next;
      w.prev = undefined;
      w.next = undefined;
      w.cleanup();
      w.reject(err);
      w = next;
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
        prev: undefined,
        next: undefined,
        cleanup: () => {
          if (timer) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      const deadline = opts.deadline;
      if (deadline !== undefined) {
        // Primitives only: a timer the runtime keeps a little after it fired must not keep the options.
        const timeoutMs = opts.timeoutMs ?? 0;
        const expire = () =>
          this.#drop(
            waiter,
            timeoutError(`call to '${this.name}' (still queued)`, timeoutMs, {
              server: this.name,
              stage: 'queued',
            }),
          );
        // A deadline beyond what one timer holds (2^31-1 ms) is reached in steps.
        const arm = (left: number) => {
          timer =
            left <= MAX_TIMER_MS
              ? setTimeout(expire, Math.max(0, left))
              : setTimeout(() => arm(deadline - performance.now()), MAX_TIMER_MS);
        };
        arm(deadline - performance.now());
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#append(waiter);
    });
  }

  /** Gives the slot back; the oldest live waiter gets it (unless paused, or over a lowered limit). */
  leave(): void {
    const next = this.#head;
    if (next && !this.#paused && this.#running <= this.#limits.maxInFlight) {
      this.#unlink(next);
      next.cleanup();
      next.resolve(); // the slot passes straight over: #running stays the same
      return;
    }
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

  /** A waiter leaves the line early (aborted, or its deadline passed): unlinked now, nothing kept. */
  #drop(waiter: Waiter, err: Error): void {
    if (!this.#unlink(waiter)) return;
    waiter.cleanup();
    waiter.reject(err);
    if (this.#running === 0 && this.#waiting === 0) this.#flushIdle();
  }

  #append(waiter: Waiter): void {
    waiter.prev = this.#tail;
    if (this.#tail) this.#tail.next = waiter;
    else this.#head = waiter;
    this.#tail = waiter;
    this.#waiting++;
  }

  /** Takes a waiter out of the line; false if it had already left. */
  #unlink(waiter: Waiter): boolean {
    if (waiter.prev === undefined && this.#head !== waiter) return false;
    if (waiter.prev) waiter.prev.next = waiter.next;
    else this.#head = waiter.next;
    if (waiter.next) waiter.next.prev = waiter.prev;
    else this.#tail = waiter.prev;
    waiter.prev = undefined;
    waiter.next = undefined;
    this.#waiting--;
    return true;
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
