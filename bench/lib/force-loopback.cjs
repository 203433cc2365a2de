// Preloaded (node --require) into the peer gateways that have no host option
// (supergateway, mcp-hub) to keep them on loopback:
// - net.Server#listen with a port and no host (or a wildcard host) binds
//   127.0.0.1 instead; pipes and handles are left alone;
// - global fetch to anything but a loopback host is refused, so a peer's own
//   outbound calls (mcp-hub's marketplace registry) never leave the machine.
'use strict';
const net = require('node:net');

const LOOPBACK = '127.0.0.1';
const WILDCARD = new Set(['', '0.0.0.0', '::', '[::]']);
const isPort = (v) => typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v));
const original = net.Server.prototype.listen;

net.Server.prototype.listen = function listen(...args) {
  const first = args[0];
  if (first === undefined || typeof first === 'function') {
    args.unshift(0, LOOPBACK);
  } else if (isPort(first)) {
    if (typeof args[1] === 'string') {
      if (WILDCARD.has(args[1])) args[1] = LOOPBACK;
    } else {
      args.splice(1, 0, LOOPBACK);
    }
  } else if (first && typeof first === 'object' && 'port' in first && first.path === undefined) {
    if (first.host === undefined || WILDCARD.has(first.host)) args[0] = { ...first, host: LOOPBACK };
  }
  return original.apply(this, args);
};

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const originalFetch = globalThis.fetch;
if (typeof originalFetch === 'function') {
  globalThis.fetch = function fetch(input, init) {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    if (!LOOPBACK_HOSTS.has(url.hostname)) {
      return Promise.reject(new TypeError(`fetch to ${url.host} refused: benchmark peers stay on loopback`));
    }
    return originalFetch.call(this, input, init);
  };
}
