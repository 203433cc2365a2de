/**
 * The JSON-RPC 2.0 shapes the router reads. Only `jsonrpc`, `id`, `method`, `result` and `error` are
 * looked at; everything else in a message (its `params`, `_meta`, fields a later spec adds) is carried
 * through untouched.
 */

export type RequestId = string | number;
export type Params = Record<string, unknown>;

export interface RpcRequest {
  jsonrpc: '2.0';
  id: RequestId;
  method: string;
  params?: Params;
}

export interface RpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: Params;
}

export interface RpcResult {
  jsonrpc: '2.0';
  id: RequestId;
  result: Record<string, unknown>;
}

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export interface RpcErrorResponse {
  jsonrpc: '2.0';
  id: RequestId | null;
  error: RpcErrorObject;
}

export type RpcMessage = RpcRequest | RpcNotification | RpcResult | RpcErrorResponse;

export type MessageKind = 'request' | 'notification' | 'result' | 'error';

/** JSON-RPC error codes (spec: JSON-RPC 2.0 §5.1). */
export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;

function isId(v: unknown): v is RequestId {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

/**
 * Says what a parsed value is, or why it is not a JSON-RPC message. Cheap on purpose: it runs on every
 * message of the hot path, so it checks the envelope only and leaves the body to whoever consumes it.
 */
export function classify(v: unknown): MessageKind | string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const m = v as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return "missing jsonrpc: '2.0'";
  if (typeof m.method === 'string') {
    if (m.params !== undefined && (typeof m.params !== 'object' || m.params === null))
      return 'params is not an object';
    if (!('id' in m)) return 'notification';
    return isId(m.id) ? 'request' : 'request id is not a string or number';
  }
  if ('result' in m) {
    if (!isId(m.id)) return 'response id is not a string or number';
    return 'result';
  }
  if ('error' in m) {
    const e = m.error as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null || typeof e.code !== 'number' || typeof e.message !== 'string') {
      return 'error is not {code, message}';
    }
    return 'error';
  }
  return 'neither a request, a notification nor a response';
}

export function isKind(kind: string): kind is MessageKind {
  return kind === 'request' || kind === 'notification' || kind === 'result' || kind === 'error';
}
