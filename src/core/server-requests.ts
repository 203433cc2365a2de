/**
 * What servers ask their client for (sampling, elicitation, roots), and the one rule that decides who
 * answers: the handlers of the call whose handling caused the request, else the switchboard's defaults,
 * never a guess between two callers. No I/O here: the rule, the capabilities it implies, and the shapes.
 */

/** What a handler is told besides the request's params. */
export interface ServerRequestContext {
  /** The server that asks. */
  server: string;
  method: string;
  /** Fires when the call that caused the request ends, the server cancels it, or the connection goes. */
  signal: AbortSignal;
}

/** Answers one kind of server request: gets the params as the server sent them, returns the MCP result. */
export type ServerRequestHandler = (
  params: Record<string, unknown>,
  ctx: ServerRequestContext,
) => Record<string, unknown> | Promise<Record<string, unknown>>;

export interface Root {
  uri: string;
  name?: string;
  [key: string]: unknown;
}

/** The roots a server is given: a list, or a function that makes one each time it is asked. */
export type RootsOption =
  | readonly Root[]
  | ((ctx: ServerRequestContext) => readonly Root[] | Promise<readonly Root[]>);

/** The answers a caller (or the switchboard, as defaults) gives to what servers ask. */
export interface ClientHandlers {
  /** `elicitation/create`: a question for the user (form or URL mode). */
  onElicitation?: ServerRequestHandler | undefined;
  /** `sampling/createMessage`: an LLM completion. */
  onSampling?: ServerRequestHandler | undefined;
  /** `roots/list`: the folders the server may work in. */
  roots?: RootsOption | undefined;
  /**
   * `notifications/elicitation/complete`: a URL-mode elicitation this handler set answered is done (the
   * user finished at the URL). Gets the notification's params (`elicitationId`).
   */
  onElicitationComplete?: ((params: Record<string, unknown>) => void) | undefined;
}

export type Capability = 'elicitation' | 'sampling' | 'roots';

/** The server requests the switchboard answers with handlers, and the capability each needs. */
const CAPABILITY_OF: Readonly<Record<string, Capability>> = {
  'elicitation/create': 'elicitation',
  'sampling/createMessage': 'sampling',
  'roots/list': 'roots',
};

export function capabilityOf(method: string): Capability | undefined {
  return CAPABILITY_OF[method];
}

/** The handler (or roots) a set of handlers has for one capability. */
export function handlerFor(handlers: ClientHandlers | undefined, capability: Capability): unknown {
  if (!handlers) return undefined;
  return capability === 'elicitation'
    ? handlers.onElicitation
    : capability === 'sampling'
      ? handlers.onSampling
      : handlers.roots;
}

/** The capabilities these handlers answer, as a client declares them (spec: `ClientCapabilities`). */
export function capabilitiesOf(
  ...sets: (ClientHandlers | readonly Capability[] | undefined)[]
): Record<string, unknown> {
  const have = new Set<Capability>();
  for (const set of sets) {
    if (!set) continue;
    if (Array.isArray(set)) for (const c of set as readonly Capability[]) have.add(c);
    else
      for (const c of ['elicitation', 'sampling', 'roots'] as const)
        if (handlerFor(set as ClientHandlers, c)) have.add(c);
  }
  const out: Record<string, unknown> = {};
  if (have.has('sampling')) out.sampling = {};
  if (have.has('elicitation')) out.elicitation = { form: {}, url: {} };
  if (have.has('roots')) out.roots = { listChanged: true };
  return out;
}

/** Where a request came from, as far as the transport can tell. */
export interface RequestLink<C> {
  /** The call on whose own response stream the request arrived (Streamable HTTP), if any. */
  related?: C | undefined;
  /** Every call in flight on the connection that could have caused it. */
  inflight: readonly C[];
}

/** Who answers: a handler, or why nobody may. */
export type Pick =
  | { handler: unknown; from: 'call' | 'default' }
  | { none: true }
  | { ambiguous: true; calls: number };

/**
 * The routing rule. A request linked to its call is answered by that call's handler (else the default).
 * One that is not (stdio, legacy SSE, the GET stream of Streamable HTTP) is answered by the handler of
 * the only call in flight, or the one handler every call in flight has; otherwise by the default; and
 * with no default, by nobody: the request was ambiguous. Two different handlers are never guessed
 * between.
 */
export function pickHandler<C>(
  capability: Capability,
  link: RequestLink<C>,
  handlersOf: (call: C) => ClientHandlers | undefined,
  defaults: ClientHandlers | undefined,
): Pick {
  const fallback = handlerFor(defaults, capability);
  const orDefault = (own: unknown): Pick =>
    own ? { handler: own, from: 'call' } : fallback ? { handler: fallback, from: 'default' } : { none: true };
  if (link.related !== undefined) return orDefault(handlerFor(handlersOf(link.related), capability));
  if (link.inflight.length === 0) return orDefault(undefined);
  // Each call in flight answers with its own handler, or (having none) the default.
  const effective = link.inflight.map((call) => handlerFor(handlersOf(call), capability) ?? fallback);
  const first = effective[0];
  if (effective.every((h) => h === first)) {
    return first === undefined
      ? { none: true }
      : { handler: first, from: first === fallback ? 'default' : 'call' };
  }
  if (fallback) return { handler: fallback, from: 'default' };
  return { ambiguous: true, calls: link.inflight.length };
}

/** Runs the handler `pickHandler` chose: roots as a list or a function; the others as handlers. */
export async function runHandler(
  capability: Capability,
  handler: unknown,
  params: Record<string, unknown>,
  ctx: ServerRequestContext,
): Promise<Record<string, unknown>> {
  if (capability === 'roots') {
    const roots =
      typeof handler === 'function' ? await (handler as (c: ServerRequestContext) => unknown)(ctx) : handler;
    return { roots: [...((roots as Root[] | undefined) ?? [])] };
  }
  const result = await (handler as ServerRequestHandler)(params, ctx);
  if (result === null || typeof result !== 'object' || Array.isArray(result))
    throw new Error(
      `the ${capability} handler returned ${result === null ? 'null' : typeof result}, not a result object`,
    );
  return result;
}
