import { abortError, SwitchboardError, timeoutError } from './errors.js';
import type { ClientHandlers } from './server-requests.js';
import { MAX_TIMER_MS } from './validate.js';

/** The `params` of a `notifications/progress`, as the server sent them (unknown fields kept). */
export interface ProgressParams {
  progressToken?: string | number;
  progress: number;
  total?: number;
  message?: string;
  [key: string]: unknown;
}

export type ProgressListener = (progress: ProgressParams) => void;

/** What every asynchronous call of the switchboard accepts. */
export interface CallOptions extends ClientHandlers {
  /** Aborting ends the call with E_ABORTED: a queued call leaves its mailbox, a sent one is cancelled upstream. */
  signal?: AbortSignal | undefined;
  /** Ends the call with E_TIMEOUT after this many milliseconds (queue wait included); 0 means no limit. */
  timeoutMs?: number | undefined;
  /** Receives this call's progress notifications, in order; no other call's. */
  onProgress?: ProgressListener | undefined;
  /**
   * Whether this call may be sent again if its server goes down while it runs (once, within its
   * deadline). Default: the server's `retry` rule.
   */
  retry?: boolean | undefined;
  /**
   * A 2026-07-28 server that needs input first answers `input_required`. `answer` (the default): the
   * switchboard answers with this call's handlers (or the defaults) and sends the call again, round after
   * round, within the call's deadline, and resolves with the final result. `return`: the
   * `input_required` result is returned as it came, for a caller that answers it itself (a gateway).
   */
  inputRequired?: 'answer' | 'return' | undefined;
  /** The most rounds of `input_required` a call goes through before it fails (default 10). */
  inputRounds?: number | undefined;
  /**
   * Client capabilities declared for this request alone (2026-07-28 connections send them per request),
   * in place of what the call's handlers and the server's `advertise` imply.
   */
  capabilities?: Record<string, unknown> | undefined;
  /**
   * `callTool`: run the tool as a task (spec 2025-11-25, tasks), for a tool whose taskSupport is
   * `optional`. One whose taskSupport is `required` always runs as a task.
   */
  task?: boolean | undefined;
  /** `callTool` of a task: each status the task reports (working, input_required, completed...). */
  onTaskStatus?: ((status: { taskId: string; status: string; [key: string]: unknown }) => void) | undefined;
}

/**
 * Where a call started: its caller's stack, rendered only if an error needs it. A site may be opened
 * before its stack is taken ({@link openCallSite}): errors stamped meanwhile get the stack when it is.
 */
export interface CallSite {
  stack?: string;
  /** Opened, its stack not taken yet. */
  open?: boolean;
  /** Errors stamped while the site was open. */
  early?: Error[];
}

/** The stack of the code that called `above`, now. */
export function captureCallSite(above: Function): CallSite {
  const site: CallSite = {};
  Error.captureStackTrace(site, above);
  return site;
}

/**
 * A call site whose stack is taken later, by {@link takeCallSite} in the same synchronous frame of
 * `above`: after the request is written, so that the stack walk (several µs) is not on the call's latency.
 */
export function openCallSite(): CallSite {
  return { open: true };
}

/**
 * Takes the stack of the code that called `above` (or, when `capture` is false, none) and stamps the
 * errors made while the site was open. Must run in `above`'s own synchronous frame, before it returns.
 */
export function takeCallSite(site: CallSite, above: Function, capture: boolean): void {
  if (capture) Error.captureStackTrace(site, above);
  site.open = false;
  const early = site.early;
  if (early) {
    site.early = undefined;
    for (const err of early) stampCallSite(err, site);
  }
}

/** Gives `err` the stack of the place the call started, so a timeout points at its caller. */
export function stampCallSite<E extends Error>(err: E, site: CallSite | undefined): E {
  if (site?.open) {
    if (site.early) site.early.push(err);
    else site.early = [err];
    return err;
  }
  const frames = site?.stack;
  if (frames) {
    const at = frames.indexOf('\n');
    err.stack = `${err.name}: ${err.message}${at >= 0 ? frames.slice(at) : ''}`;
  }
  return err;
}

export interface Pending {
  readonly id: number;
  readonly method: string;
  readonly onProgress: ProgressListener | undefined;
  readonly context: unknown;
  readonly capabilities: Record<string, unknown> | undefined;
  /** Per-request stream control, for transports where closing the stream is the cancellation. */
  stream?: AbortController;
}

export interface CorrelatorHooks {
  /** Puts the request on the wire. A throw or a rejection fails this call and only this call. */
  send(pending: Pending, params: Record<string, unknown> | undefined): void | Promise<void>;
  /** Tells the far side that a request it was sent is no longer wanted. */
  cancel(pending: Pending, reason: SwitchboardError): void;
}

/** What a request takes beyond its method and params. */
export interface RequestOptions extends CallOptions {
  /** Where the caller's call started, for error stacks. */
  site?: CallSite | undefined;
  /**
   * When the call times out, absolute (`performance.now()` ms): the one deadline the call has had since
   * it started, through its queue wait and any retry. Without it, `timeoutMs` from now. `timeoutMs` is
   * then only what the error reports: the deadline the caller gave.
   */
  deadline?: number | undefined;
  /**
   * Who made the call, as far as requests the server makes while handling it go (see
   * `server-requests.ts`): opaque here, handed back by `contextOf` and `contexts`.
   */
  context?: unknown;
  /** Filled in with this call's cancellation, for a caller that relays one from another thread. */
  relay?: RelayedCancel | undefined;
}

/**
 * A cancellation relayed from another thread (see `RequestOptions.relay`): while the call is pending,
 * `cancel` ends it with the error given, as it is, since that error is already the call's own (a deadline
 * or an abort that happened on the caller's side), and tells the server; once the call has ended it is
 * unset. Cheaper than an AbortSignal per call (an EventTarget, a listener added and removed).
 */
export interface RelayedCancel {
  cancel: ((error: SwitchboardError) => void) | undefined;
}

interface Entry extends Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  relay: RelayedCancel | undefined;
  site: CallSite | undefined;
  /** The timeout the caller gave, in ms, 0 for none: what a timeout error reports. */
  timeoutMs: number;
  /** When it times out (`performance.now()` ms), 0 for never. Fixed once the call starts. */
  due: number;
  /** `due` while it waits in a deadline queue; 0 otherwise. */
  deadline: number;
  /** Left the table (answered, failed, timed out, cancelled). */
  ended: boolean;
}

export interface CorrelatorStats {
  /** Calls waiting for their answer now. */
  pending: number;
  /** Answers that came after their call timed out or was cancelled: dropped, delivered to no one. */
  late: number;
  /** Answers with an id that was never ours or was already answered: dropped. */
  unknown: number;
  /** Progress notifications whose call had already ended: dropped. */
  lateProgress: number;
}

const ENDED_MEMORY = 4096;
const COMPACT_AT = 1024;

/** The calls that share one timeout value, in the order they started: their deadlines are in order too. */
interface DeadlineQueue {
  items: (Entry | undefined)[];
  head: number;
  /** Cells between head and the end whose call has already ended. */
  dead: number;
}

/**
 * The deadlines of one correlator's calls, with a single timer armed for the earliest, instead of a Node
 * timer per call (an allocation, list churn in Node's timers and a libuv re-arm per call at concurrency 1).
 * Calls with the same timeout expire in start order, so each distinct timeout keeps a FIFO; a call that
 * ends before its deadline is dropped from its FIFO lazily. The timer is unref'd while no call waits, so
 * it keeps the process alive exactly when per-call timers would have.
 */
class Deadlines {
  #queues = new Map<number, DeadlineQueue>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the armed timer fires: its deadline, or earlier for one beyond what a timer holds; Infinity when none is armed. */
  #armedFor = Infinity;
  /** Calls waiting with a deadline. */
  #live = 0;
  #expire: (entry: Entry) => void;

  constructor(expire: (entry: Entry) => void) {
    this.#expire = expire;
  }

  add(entry: Entry): void {
    const deadline = entry.due;
    entry.deadline = deadline;
    let q = this.#queues.get(entry.timeoutMs);
    if (!q) {
      q = { items: [], head: 0, dead: 0 };
      this.#queues.set(entry.timeoutMs, q);
    }
    const last = q.items[q.items.length - 1];
    // A call whose deadline started earlier than its neighbours' (one that waited in its mailbox, or is
    // sent again after a restart) takes its place in order; every other call goes at the end.
    if (last && last.due > deadline) insertInOrder(q, entry);
    else q.items.push(entry);
    if (this.#live++ === 0) this.#timer?.ref?.();
    if (deadline < this.#armedFor) this.#arm(deadline - performance.now());
  }

  /** The call ended before its deadline: its cell is now dead, and dropped once it reaches the head. */
  ended(entry: Entry): void {
    entry.deadline = 0;
    if (--this.#live === 0) this.#timer?.unref?.();
    const q = this.#queues.get(entry.timeoutMs);
    if (!q) return;
    q.dead++;
    this.#tidy(entry.timeoutMs, q);
  }

  clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
  }

  /** Arms the timer `delayMs` from now; a delay longer than a timer holds fires early and re-arms. */
  #arm(delayMs: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    const delay = Math.min(Math.max(0, delayMs), MAX_TIMER_MS);
    this.#armedFor = performance.now() + delay;
    this.#timer = setTimeout(this.#fire, delay);
    if (this.#live === 0) this.#timer.unref?.();
  }

  #fire = (): void => {
    this.#timer = undefined;
    // The timer's own time counts as now, so a deadline is never missed for a clock that lags the timers.
    const now = Math.max(this.#armedFor, performance.now());
    this.#armedFor = Infinity;
    const due: [number, Entry][] = [];
    let next = Infinity;
    for (const [timeoutMs, q] of this.#queues) {
      while (q.head < q.items.length) {
        const e = q.items[q.head]!;
        if (!e.ended && e.deadline > now) break;
        q.items[q.head++] = undefined;
        if (e.ended) q.dead--;
        else {
          this.#live--;
          due.push([e.deadline, e]);
          e.deadline = 0; // out of its queue: whatever ends it now has no cell to drop
        }
      }
      this.#tidy(timeoutMs, q);
      const head = q.items[q.head];
      if (head && head.deadline < next) next = head.deadline;
    }
    if (next < Infinity) this.#arm(Math.max(1, next - now));
    // A late timer may find several deadlines passed: they expire in deadline order, as timers would.
    if (due.length > 1) due.sort((a, b) => a[0] - b[0]);
    for (const [, e] of due) this.#expire(e);
  };

  /** Drops dead cells at the head; compacts or forgets a queue that is mostly or wholly dead. */
  #tidy(timeoutMs: number, q: DeadlineQueue): void {
    while (q.head < q.items.length && q.items[q.head]!.ended) {
      q.items[q.head++] = undefined;
      q.dead--;
    }
    const left = q.items.length - q.head;
    if (left === 0) this.#queues.delete(timeoutMs);
    else if (q.head > COMPACT_AT && q.head * 2 > q.items.length) {
      q.items = q.items.slice(q.head);
      q.head = 0;
    } else if (q.dead > COMPACT_AT && q.dead * 2 > left) {
      // A call that runs long at the head holds back the cells of every call that ended after it.
      q.items = q.items.slice(q.head).filter((e) => !e!.ended);
      q.head = 0;
      q.dead = 0;
    }
  }
}

/** Puts `entry` into a queue kept in `due` order (cells of ended calls keep their `due`). */
function insertInOrder(q: DeadlineQueue, entry: Entry): void {
  let lo = q.head;
  let hi = q.items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (q.items[mid]!.due <= entry.due) lo = mid + 1;
    else hi = mid;
  }
  q.items.splice(lo, 0, entry);
}

/**
 * The futures table of one upstream: one id counter, one `Map<id, Entry>`, and one place (`#settle`) that
 * removes the entry, its timer and its abort listener on every way out. An id resolves only its own
 * caller's promise; what arrives for an id that is not pending is counted and dropped.
 */
export class Correlator {
  readonly label: string;
  #hooks: CorrelatorHooks;
  #nextId = 1;
  #pending = new Map<number, Entry>();
  // Ids whose calls ended by timeout or abort, so a late answer is told apart from an unknown id.
  #ended = new Set<number>();
  #late = 0;
  #unknown = 0;
  #lateProgress = 0;
  #closed: Error | undefined;
  #deadlines = new Deadlines((entry) =>
    this.#cancel(
      entry,
      timeoutError(this.#what(entry.method), entry.timeoutMs, { ...this.#data(entry.method), stage: 'sent' }),
    ),
  );

  constructor(label: string, hooks: CorrelatorHooks) {
    this.label = label;
    this.#hooks = hooks;
  }

  get size(): number {
    return this.#pending.size;
  }

  get stats(): CorrelatorStats {
    return {
      pending: this.#pending.size,
      late: this.#late,
      unknown: this.#unknown,
      lateProgress: this.#lateProgress,
    };
  }

  request(
    method: string,
    params: Record<string, unknown> | undefined,
    opts: RequestOptions = {},
  ): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closed);
    const { signal, timeoutMs, onProgress, site } = opts;
    if (signal?.aborted) {
      return Promise.reject(
        stampCallSite(abortError(this.#what(method), signal.reason, this.#data(method)), site),
      );
    }
    const id = this.#nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const entry: Entry = {
        id,
        method,
        onProgress,
        resolve,
        reject,
        signal,
        onAbort: undefined,
        relay: opts.relay,
        site,
        context: opts.context,
        capabilities: opts.capabilities,
        timeoutMs: timeoutMs !== undefined && timeoutMs > 0 ? timeoutMs : 0,
        due: 0,
        deadline: 0,
        ended: false,
      };
      if (opts.deadline !== undefined && opts.deadline < Infinity) entry.due = opts.deadline;
      else if (entry.timeoutMs > 0) entry.due = performance.now() + entry.timeoutMs;
      this.#pending.set(id, entry);
      if (signal) {
        entry.onAbort = () =>
          this.#cancel(
            entry,
            abortError(this.#what(method), signal.reason, { ...this.#data(method), stage: 'sent' }),
          );
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      if (entry.relay) entry.relay.cancel = (error) => this.#cancel(entry, error);
      if (entry.due > 0) this.#deadlines.add(entry);
      let sent: void | Promise<void>;
      try {
        sent = this.#hooks.send(entry, params);
      } catch (err) {
        this.#settle(entry, false, this.#unsendable(method, err));
        return;
      }
      if (sent) sent.catch((err: unknown) => this.#settle(entry, false, err));
    });
  }

  /** The context of a call in flight (see `RequestOptions.context`). */
  contextOf(id: number): unknown {
    return this.#pending.get(id)?.context;
  }

  /** The contexts of the calls in flight that can make a server ask for something (not pings, not lists). */
  contexts(): unknown[] {
    const out: unknown[] = [];
    for (const entry of this.#pending.values()) if (entry.context !== undefined) out.push(entry.context);
    return out;
  }

  /** Delivers a result to the call with this id. False when no call is waiting for it (counted). */
  resolve(id: number, result: unknown): boolean {
    const entry = this.#pending.get(id);
    if (!entry) return this.#stray(id);
    this.#settle(entry, true, result);
    return true;
  }

  /** Fails the call with this id. False when no call is waiting for it (counted). */
  reject(id: number, err: Error): boolean {
    const entry = this.#pending.get(id);
    if (!entry) return this.#stray(id);
    this.#settle(entry, false, err);
    return true;
  }

  /** Hands a progress notification to the call with this id, synchronously, so order is kept. */
  progress(id: number, params: ProgressParams): boolean {
    const entry = this.#pending.get(id);
    if (!entry) {
      this.#lateProgress++;
      return false;
    }
    try {
      entry.onProgress?.(params);
    } catch {
      // A listener's own bug must not break routing for everyone else.
    }
    return true;
  }

  /** Fails every pending call with `err`, and every later one. Idempotent. */
  close(err: Error): void {
    if (!this.#closed) this.#closed = err;
    // One shared error for all: its stack is left alone rather than re-stamped per caller.
    for (const entry of [...this.#pending.values()]) this.#settle(entry, false, err, false);
    this.#deadlines.clear();
  }

  #cancel(entry: Entry, reason: SwitchboardError): void {
    if (!this.#settle(entry, false, reason)) return;
    this.#remember(entry.id);
    try {
      this.#hooks.cancel(entry, reason);
    } catch {
      // The call has already ended for its caller; a failed cancel notice changes nothing for them.
    }
  }

  /** The one way out of the table. Returns false if the entry had already left. */
  #settle(entry: Entry, ok: boolean, value: unknown, stamp = true): boolean {
    if (!this.#pending.delete(entry.id)) return false;
    entry.ended = true;
    if (entry.deadline > 0) this.#deadlines.ended(entry);
    if (entry.onAbort) entry.signal?.removeEventListener('abort', entry.onAbort);
    if (entry.relay) entry.relay.cancel = undefined;
    if (ok) entry.resolve(value);
    else {
      const err = value instanceof Error ? value : new Error(String(value));
      entry.reject(stamp ? stampCallSite(err, entry.site) : err);
    }
    return true;
  }

  /**
   * What a send that threw fails the call with. A switchboard error (the server is gone...) as it is;
   * anything else came from turning the params into JSON or a message, checked when the call was made,
   * so they were changed since: still the caller's E_INVALID_ARGUMENT, never a bare TypeError.
   */
  #unsendable(method: string, err: unknown): unknown {
    if (err instanceof SwitchboardError || (err as { name?: unknown })?.name === 'RpcError') return err;
    return new SwitchboardError(
      'E_INVALID_ARGUMENT',
      `${this.#what(method)}: its params could not be sent as JSON (${(err as Error)?.message ?? String(err)}); were they changed after the call was made?`,
      { cause: err, data: this.#data(method) },
    );
  }

  #stray(id: number): false {
    if (this.#ended.delete(id)) this.#late++;
    else this.#unknown++;
    return false;
  }

  #remember(id: number): void {
    this.#ended.add(id);
    if (this.#ended.size > ENDED_MEMORY) {
      const oldest = this.#ended.values().next().value;
      if (oldest !== undefined) this.#ended.delete(oldest);
    }
  }

  #what(method: string): string {
    return `${method} on '${this.label}'`;
  }

  #data(method: string): Record<string, unknown> {
    return { server: this.label, method };
  }
}
