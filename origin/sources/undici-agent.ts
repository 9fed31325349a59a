/**
 * undici's `Agent` with its request API, and nothing else of undici. The package's index also
 * loads fetch, WebSocket, EventSource, the caches and the mocks, which the origin never uses:
 * `require('undici')` took 75–95 ms of a fresh process against 30–38 ms for the three modules
 * below (three runs each, Node 20.20, 2-core VM, 2026-12-06), and every network source and the S3
 * result store pays it before its first request. The index adds the request API to
 * `Dispatcher.prototype` the same way; the paths are undici 7's (pinned in package.json), and
 * the source and store tests send every request through this Agent.
 */
import type { Agent as UndiciAgent } from 'undici';
import AgentClass from 'undici/lib/dispatcher/agent.js';
import DispatcherClass from 'undici/lib/dispatcher/dispatcher.js';
import requestApi from 'undici/lib/api/index.js';

Object.assign(DispatcherClass.prototype, requestApi);

// Typed by the package's own declarations, so nothing outside this module sees the paths above.
export const Agent: typeof UndiciAgent = AgentClass;
export type Agent = UndiciAgent;
