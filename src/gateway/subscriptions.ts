/**
 * Resource subscriptions (`resources/subscribe`, 2025 era) relayed to the upstream that owns the URI.
 * One upstream subscription per (server instance, URI), however many sessions want it: the first
 * session subscribes upstream, the last one to leave unsubscribes. An upstream's
 * `notifications/resources/updated` reaches exactly the sessions subscribed to that URI on that instance,
 * under the URI each of them subscribed with (the explicit form stays explicit).
 */
import type { Switchboard } from '../switchboard/switchboard.js';

export interface Subscriber {
  /** The session (scope key). */
  key: string;
  notify(params: Record<string, unknown>): void;
}

interface Entry {
  sb: Switchboard;
  server: string;
  uri: string;
  /** Each subscribed session, with the URI it used. */
  who: Map<string, { subscriber: Subscriber; clientUri: string }>;
  /** The upstream subscribe in progress or done. */
  ready: Promise<unknown>;
}

export class Subscriptions {
  readonly #entries = new Map<string, Entry>();

  /** `instance`: which upstream instance (`shared`, or the session key of a session-scoped one). */
  async add(
    sb: Switchboard,
    server: string,
    instance: string,
    uri: string,
    clientUri: string,
    subscriber: Subscriber,
  ): Promise<void> {
    const id = `${server}\0${instance}\0${uri}`;
    let entry = this.#entries.get(id);
    if (!entry) {
      entry = { sb, server, uri, who: new Map(), ready: sb.request(server, 'resources/subscribe', { uri }) };
      this.#entries.set(id, entry);
      const created = entry;
      created.ready.catch(() => {
        if (this.#entries.get(id) === created) this.#entries.delete(id);
      });
    }
    entry.who.set(subscriber.key, { subscriber, clientUri });
    await entry.ready;
  }

  async remove(server: string, instance: string, uri: string, key: string): Promise<void> {
    const id = `${server}\0${instance}\0${uri}`;
    const entry = this.#entries.get(id);
    if (!entry?.who.delete(key) || entry.who.size > 0) return;
    this.#entries.delete(id);
    await entry.sb.request(server, 'resources/unsubscribe', { uri }).catch(() => {});
  }

  /** A session ended: its subscriptions go, and upstream ones nobody else holds are ended. */
  drop(key: string): void {
    for (const [id, entry] of this.#entries) {
      if (!entry.who.delete(key) || entry.who.size > 0) continue;
      this.#entries.delete(id);
      entry.sb.request(entry.server, 'resources/unsubscribe', { uri: entry.uri }).catch(() => {});
    }
  }

  updated(server: string, instance: string, params: Record<string, unknown>): void {
    const uri = params.uri;
    if (typeof uri !== 'string') return;
    const entry = this.#entries.get(`${server}\0${instance}\0${uri}`);
    for (const { subscriber, clientUri } of entry?.who.values() ?? [])
      subscriber.notify({ ...params, uri: clientUri });
  }
}
