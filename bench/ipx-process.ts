/**
 * Child process: the peer, ipx (unjs/ipx, the optimizer behind Nuxt Image; a devDependency pinned
 * in package.json and run on the project's own sharp through an npm override, so both sides use
 * the same libvips build) as its own HTTP server, reading originals over HTTP from the storage
 * child's copy server with ipx's own HTTP storage. Its settings are ipx's defaults: the
 * comparison is against ipx as users deploy it. Environment: PORT, IPX_SOURCE_HOST, and
 * IPX_SOURCE_DIR to read plain ids from a folder with ipx's own file storage instead (`coldstart`).
 */
import http from 'node:http';
import { createIPX, createIPXNodeServer, ipxFSStorage, ipxHttpStorage } from 'ipx';

const port = Number(process.env['PORT']);
const host = process.env['IPX_SOURCE_HOST'] ?? '127.0.0.1';
const dir = process.env['IPX_SOURCE_DIR'];
const httpStorage = ipxHttpStorage({ domains: [host] });
const ipx = createIPX({ storage: dir === undefined ? httpStorage : ipxFSStorage({ dir }), httpStorage });
const server = http.createServer(createIPXNodeServer(ipx));
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`ipx listening on ${port}\n`));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
