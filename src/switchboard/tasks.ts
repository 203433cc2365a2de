import { stampCallSite } from '../core/correlator.js';
import { isSwitchboardError, SwitchboardError } from '../core/errors.js';
import type { Params } from '../core/jsonrpc.js';
import { type Call, newCall } from './call.js';
import type { Dispatcher } from './dispatcher.js';
import type { Route } from './fleet.js';

/** A task's state, as `tasks/get` and `notifications/tasks/status` give it (spec 2025-11-25, tasks). */
export interface TaskStatus {
  taskId: string;
  status: 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled' | string;
  statusMessage?: string;
  pollInterval?: number;
  [key: string]: unknown;
}

export type TaskStatusListener = (status: TaskStatus) => void;

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
/** The poll interval the status is followed at, whatever the server suggests: not faster, not slower. */
const MIN_POLL_MS = 250;
const MAX_POLL_MS = 30_000;

/**
 * Tools that run as tasks (spec 2025-11-25, tasks; a tool whose `execution.taskSupport` is `required`,
 * or `optional` when the call asks): the call creates the task, waits on `tasks/result`, which the
 * server answers when the task ends and on whose account it sends the task's own requests (an
 * elicitation in the middle of a task is answered by the call's handlers, as any request of the call's),
 * and follows the status meanwhile (`tasks/get` at the server's poll interval, and
 * `notifications/tasks/status`). An abort or a timeout cancels the task on the server (`tasks/cancel`).
 * The caller sees one promise and the task's result.
 */
export class Tasks {
  readonly #dispatcher: Dispatcher;
  /** Tasks in progress, by server and task id: where their status notifications go. */
  readonly #running = new Map<string, TaskStatusListener>();

  constructor(dispatcher: Dispatcher) {
    this.#dispatcher = dispatcher;
  }

  async run(
    route: Route,
    params: Params,
    call: Call,
    onStatus: TaskStatusListener | undefined,
  ): Promise<Record<string, unknown>> {
    const server = route.sup.name;
    const created = (await this.#dispatcher.step(route, 'tools/call', { ...params, task: {} }, call)) as {
      task?: TaskStatus;
    };
    const task = created?.task;
    if (!task || typeof task.taskId !== 'string') return created as Record<string, unknown>; // run at once
    const key = `${server}\u0000${task.taskId}`;
    const ended = new AbortController();
    if (onStatus) {
      // Told by notifications and by polling alike: each change once.
      let last = '';
      let over = false;
      const report = (status: TaskStatus) => {
        const now = `${status.status}\u0000${status.statusMessage ?? ''}`;
        // A poll answered after a notification can be older than it: nothing comes after the end.
        if (now === last || over) return;
        last = now;
        over = TERMINAL.has(status.status);
        tell(onStatus, status);
      };
      // A server that sends status notifications is not polled any more (a poll answered late would
      // report an older status than the notification).
      const notified = new AbortController();
      this.#running.set(key, (status) => {
        notified.abort();
        report(status);
      });
      report(task);
      void this.#follow(route, task, call, report, AbortSignal.any([ended.signal, notified.signal]));
    }
    try {
      return (await this.#dispatcher.step(route, 'tasks/result', { taskId: task.taskId }, call)) as Record<
        string,
        unknown
      >;
    } catch (err) {
      // The caller gave up (or its deadline passed, or it went away): the task is stopped on the server.
      if (
        isSwitchboardError(err, 'E_ABORTED') ||
        isSwitchboardError(err, 'E_TIMEOUT') ||
        isSwitchboardError(err, 'E_CLOSED')
      ) {
        this.#cancel(route, task.taskId);
      }
      throw err;
    } finally {
      ended.abort();
      this.#running.delete(key);
    }
  }

  /** A `notifications/tasks/status` from a server: to the call whose task it is, if it listens. */
  status(server: string, params: unknown): boolean {
    const status = params as TaskStatus | undefined;
    if (typeof status?.taskId !== 'string') return false;
    const listener = this.#running.get(`${server}\u0000${status.taskId}`);
    if (listener) tell(listener, status);
    return listener !== undefined;
  }

  /** Follows a task's status with `tasks/get` at the server's poll interval, until it ends or the call does. */
  async #follow(
    route: Route,
    first: TaskStatus,
    call: Call,
    onStatus: TaskStatusListener,
    ended: AbortSignal,
  ) {
    let last = first;
    while (!ended.aborted && !TERMINAL.has(last.status)) {
      const wait = Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, Number(last.pollInterval) || 1000));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        timer.unref(); // the call waiting on tasks/result holds the process, not this
        ended.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
      if (ended.aborted) return;
      const get = newCall(
        { signal: ended },
        call.site,
        Math.min(10_000, Math.max(1, call.deadline - performance.now())),
      );
      try {
        const status = (await this.#dispatcher.dispatch(
          route,
          'tasks/get',
          { taskId: first.taskId },
          get,
        )) as TaskStatus;
        if (ended.aborted) return;
        if (status?.status) {
          onStatus(status);
          last = status;
        }
      } catch {
        return; // a status that cannot be read is not the call's failure: tasks/result decides that
      }
    }
  }

  #cancel(route: Route, taskId: string): void {
    const cancel = newCall({}, {}, 5000);
    this.#dispatcher.dispatch(route, 'tasks/cancel', { taskId }, cancel).catch(() => {});
  }
}

function tell(listener: TaskStatusListener, status: TaskStatus): void {
  try {
    listener(status);
  } catch {
    // A listener's own bug must not end the task for the caller.
  }
}

/** E_INVALID_ARGUMENT for `task: true` on a tool that does not run as a task. */
export function notATask(server: string, tool: string, site: Call['site']): SwitchboardError {
  return stampCallSite(
    new SwitchboardError(
      'E_INVALID_ARGUMENT',
      `tool '${tool}' of '${server}' does not run as a task (its execution.taskSupport is not 'optional' or 'required'); call it without { task: true }`,
      { data: { server, tool } },
    ),
    site,
  );
}
