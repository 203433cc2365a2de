/**
 * mcp-switchboard: many MCP servers behind one object, every message to exactly its recipient.
 * This is the one public face; everything else is internal.
 */
export {
  DEFAULT_OPTIONS,
  type Isolation,
  type LoadOptions,
  loadConfigFile,
  type ProtocolMode,
  parseConfig,
  type ServerConfig,
  type ServerOptions,
  type ServerScope,
  type SwitchboardConfig,
  type TransportSpec,
} from './config/config.js';
export type { ToolFilter } from './config/tool-filter.js';
export type { CallOptions, ProgressListener, ProgressParams } from './core/correlator.js';
export { type ErrorCode, isSwitchboardError, RpcError, SwitchboardError } from './core/errors.js';
export { DEFAULT_SEPARATOR, type NameCollision, qualify } from './core/names.js';
export type {
  ClientHandlers,
  Root,
  RootsOption,
  ServerRequestContext,
  ServerRequestHandler,
} from './core/server-requests.js';
export { Gateway, type GatewayOptions } from './gateway/gateway.js';
export { InMemorySessionStore, type SessionRecord, type SessionStore } from './gateway/sessions.js';
export {
  type CallToolResult,
  type PromptEntry,
  type ResourceEntry,
  type ResourceTemplateEntry,
  type ServerReport,
  type ServerState,
  type ServerStatus,
  type StartOptions,
  Switchboard,
  type SwitchboardEvents,
  type ToolEntry,
} from './switchboard/switchboard.js';
export type { ConnectionStats, ServerDescription } from './upstream/connection.js';
export { VERSION } from './version.js';
