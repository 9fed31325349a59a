/**
 * The JavaScript edge targets: CloudFront Functions (viewer request), Alibaba Cloud EdgeRoutine
 * and Cloudflare Workers. Each wraps the shared core (javascript-core.ts) in its platform's entry
 * point; what reaches the cache key and the origin is decided by the core alone.
 */
import { javascriptCore } from './javascript-core.js';
import { EDGE_HEADERS, type EdgeRules } from './rules.js';

/** The request headers a cache key (or cache policy) must include, besides the URL. */
export const KEY_HEADERS = [EDGE_HEADERS.token, EDGE_HEADERS.dpr, EDGE_HEADERS.width, EDGE_HEADERS.viewport, EDGE_HEADERS.saveData];

export function cloudfrontFunction(rules: EdgeRules): string {
  return `// CloudFront Function (runtime cloudfront-js-2.0), event type: viewer request.
// Cache policy: include the headers ${KEY_HEADERS.join(', ')} (and not Accept);
// the query string "all". The function runs before the cache key is computed.
${javascriptCore(rules)}
function handler(event) {
  var request = event.request;
  var headers = request.headers;
  var query = request.querystring || {};
  var result = imageOriginEdge(
    function (name) { return headers[name] ? headers[name].value : undefined; },
    function (name) {
      var entry = query[name];
      if (!entry) return [];
      if (entry.multiValue) return entry.multiValue.map(function (v) { return v.value; });
      return [entry.value];
    }
  );
  for (var name in result.headers) {
    if (result.headers[name] === null) delete headers[name];
    else headers[name] = { value: result.headers[name] };
  }
  return request;
}
`;
}

/** Both Service Worker API targets: the edge's decision applied to the request's headers. */
const SERVICE_WORKER_HEADERS = `  var url = new URL(request.url);
  var result = imageOriginEdge(
    function (name) { var v = request.headers.get(name); return v === null ? undefined : v; },
    function (name) { return url.searchParams.getAll(name); }
  );
  var headers = new Headers(request.headers);
  for (var name in result.headers) {
    if (result.headers[name] === null) headers.delete(name);
    else headers.set(name, result.headers[name]);
  }
`;

export function alibabaEdgeRoutine(rules: EdgeRules): string {
  return `// Alibaba Cloud CDN EdgeRoutine (Service Worker API). Add a custom cache key rule on the
// request headers ${KEY_HEADERS.join(', ')} (and not Accept).
${javascriptCore(rules)}
function imageOriginRequest(request) {
${SERVICE_WORKER_HEADERS}  return new Request(request.url, { method: request.method, headers: headers });
}

addEventListener('fetch', function (event) {
  event.respondWith(fetch(imageOriginRequest(event.request)));
});
`;
}

export function cloudflareWorker(rules: EdgeRules): string {
  return `// Cloudflare Worker (modules syntax). Cache keys on headers need Enterprise, so the Worker keeps
// its own entries in the Cache API under the URL plus the edge key; the origin's response,
// its Vary included, is what clients receive.
${javascriptCore(rules)}
function imageOriginRequest(request) {
${SERVICE_WORKER_HEADERS}  var keyUrl = new URL(request.url);
  keyUrl.searchParams.append('image-origin-edge-key', result.key);
  return { forward: new Request(request.url, { method: request.method, headers: headers }), key: new Request(keyUrl.toString()) };
}

export default {
  async fetch(request, env, ctx) {
    if (request.method !== 'GET' && request.method !== 'HEAD') return fetch(request);
    var made = imageOriginRequest(request);
    var cache = caches.default;
    var hit = await cache.match(made.key);
    if (hit) return request.method === 'HEAD' ? new Response(null, hit) : hit;
    var response = await fetch(new Request(made.forward, { method: 'GET' }));
    var cacheControl = response.headers.get('cache-control') || '';
    if (response.status < 500 && response.status !== 206 && !/no-store|private/i.test(cacheControl)) ctx.waitUntil(cache.put(made.key, response.clone()));
    return request.method === 'HEAD' ? new Response(null, response) : response;
  }
};
`;
}
