/**
 * Two families of errors, never mixed:
 * - {@link SwitchboardError}: the switchboard's own failures, with a string `code` and structured `data`.
 * - {@link RpcError}: a JSON-RPC error that an upstream server answered with, with its numeric `code`.
 *
 * Both cross a MessagePort as a plain {@link WireError} and are rebuilt on the far side.
 */

export type ErrorCode =
  | 'E_TIMEOUT'
  | 'E_ABORTED'
  | 'E_QUEUE_FULL'
  | 'E_UPSTREAM_CLOSED'
  | 'E_UPSTREAM_UNAVAILABLE'
  | 'E_UNKNOWN_SERVER'
  | 'E_UNKNOWN_TOOL'
  /** The server may have the tool, but the config's `tools.allow` / `tools.deny` hides it. */
  | 'E_TOOL_FILTERED'
  | 'E_INVALID_ARGUMENT'
  | 'E_CONFIG'
  | 'E_START_FAILED'
  | 'E_PROTOCOL'
  | 'E_MESSAGE_TOO_LARGE'
  | 'E_TRANSPORT'
  | 'E_CLOSED'
  /** A request the server made of this client could not be answered (no handler, ambiguous, failed). */
  | 'E_CLIENT_REQUEST';

export type ErrorData = Record<string, unknown>;

export class SwitchboardError extends Error {
  override readonly name = 'SwitchboardError';
  readonly code: ErrorCode;
  readonly data: ErrorData;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; data?: ErrorData } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.data = options.data ?? {};
  }
}

/** A JSON-RPC error response from an upstream server, kept as the server sent it. */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  readonly code: number;
  readonly data: unknown;
  /** The server that answered with this error. */
  readonly server: string;
  /** The error message exactly as the server sent it. */
  readonly rpcMessage: string;

  constructor(server: string, code: number, message: string, data?: unknown) {
    super(`${server}: ${message} (JSON-RPC error ${code})`);
    this.server = server;
    this.rpcMessage = message;
    this.code = code;
    this.data = data;
  }
}

export function isSwitchboardError(err: unknown, code?: ErrorCode): err is SwitchboardError {
  return err instanceof SwitchboardError && (code === undefined || err.code === code);
}

/** The form an error takes across a MessagePort. */
export type WireError =
  | { family: 'switchboard'; code: ErrorCode; message: string; data: ErrorData; cause?: WireError }
  | { family: 'rpc'; code: number; message: string; data: unknown; server: string }
  | { family: 'other'; name: string; message: string };

export function toWire(err: unknown): WireError {
  if (err instanceof SwitchboardError) {
    const wire: WireError = {
      family: 'switchboard',
      code: err.code,
      message: err.message,
      data: cloneable(err.data),
    };
    if (err.cause !== undefined) wire.cause = toWire(err.cause);
    return wire;
  }
  if (err instanceof RpcError) {
    return {
      family: 'rpc',
      code: err.code,
      message: err.rpcMessage,
      data: cloneable(err.data),
      server: err.server,
    };
  }
  if (err instanceof Error) return { family: 'other', name: err.name, message: err.message };
  return { family: 'other', name: 'Error', message: text(err) };
}

export function fromWire(wire: WireError): Error {
  switch (wire.family) {
    case 'switchboard':
      return new SwitchboardError(wire.code, wire.message, {
        data: wire.data,
        ...(wire.cause ? { cause: fromWire(wire.cause) } : {}),
      });
    case 'rpc':
      return new RpcError(wire.server, wire.code, wire.message, wire.data);
    default: {
      const err = new Error(wire.message);
      err.name = wire.name;
      return err;
    }
  }
}

/** Structured clone refuses functions and class instances with private state; keep what survives JSON. */
function cloneable<T>(value: T): T {
  if (value === undefined || value === null || typeof value !== 'object') return value;
  try {
    structuredClone(value);
    return value;
  } catch {
    return JSON.parse(JSON.stringify(value)) as T;
  }
}

export function abortError(what: string, reason: unknown, data: ErrorData): SwitchboardError {
  const why =
    reason instanceof Error ? reason.message : reason === undefined ? 'no reason given' : text(reason);
  return new SwitchboardError('E_ABORTED', `${what} was aborted by the caller (${why})`, {
    cause: reason,
    data,
  });
}

export function timeoutError(what: string, timeoutMs: number, data: ErrorData): SwitchboardError {
  return new SwitchboardError(
    'E_TIMEOUT',
    `${what} timed out after ${timeoutMs} ms; raise timeoutMs for this call or the server, or check that the server is not stuck`,
    { data: { ...data, timeoutMs } },
  );
}

/** A value as text, for a message; one with no string form (`Object.create(null)`) does not throw. */
export function text(value: unknown): string {
  try {
    return String(value);
  } catch {
    try {
      return JSON.stringify(value) ?? typeof value;
    } catch {
      return typeof value;
    }
  }
}
