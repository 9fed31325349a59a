/**
 * `npm run bundle` (after tsc): replaces dist/origin/main.js, the process entry, with an esbuild
 * bundle of itself and every module it loads, in chunks under dist/origin/chunks/ (each source
 * kind, with undici for S3 and HTTP, a chunk of its own, loaded when used). One file read and
 * compiled instead of about 680 took the start-up CPU to the first image from 610 to 450 ms
 * (README "Start-up"). Every other file in dist/ stays tsc's output, for the library API and the
 * tests. Run from the project root.
 */
import { readFile } from 'node:fs/promises';
import { build, type Plugin } from 'esbuild';

/**
 * Node's own modules are taken with `require`, not `import`. For an `import` Node builds an ES
 * module facade that reads every export of the module once, which runs each lazy getter: on
 * Node >= 22 (the Docker image's runtime) `node:http`'s load the undici bundled in Node, 30-37 ms
 * of a 2-core VM's start against 3-4 ms for `require` (`import()` against `require` of node:http
 * and node:util, three runs each, Node 26.12 and 20.20, 2026-12-06; on Node 20 the two cost the
 * same). Through `require` each export is read when the code uses it.
 */
const builtinsThroughRequire: Plugin = {
  name: 'builtins-through-require',
  setup(bundle) {
    const namespace = 'node-builtin';
    bundle.onResolve({ filter: /^node:/ }, (args) =>
      args.namespace === namespace || args.kind === 'require-call' ? { path: args.path, external: true } : { path: args.path, namespace },
    );
    bundle.onLoad({ filter: /.*/, namespace }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

/**
 * sharp's JavaScript goes into the bundle too; only its native addon (`*.node`) is loaded from
 * node_modules at run time. Outside the bundle, `require('sharp')` resolves and compiles about 20
 * files and runs semver's set-up a second time (fastify, bundled, has its own copy).
 * `transforms/sharp.ts` loads sharp through `createRequire`, which a bundler cannot follow; in
 * the bundle it becomes a plain `require`. sharp's template-string requires (its own build
 * folder, the versions file) stay run-time requires, relative to the chunk, and fall through as
 * they do in node_modules.
 */
const sharpInTheBundle: Plugin = {
  name: 'sharp-in-the-bundle',
  setup(bundle) {
    bundle.onLoad({ filter: /[\\/]dist[\\/]transforms[\\/]sharp\.js$/ }, () => ({ contents: "export const sharp = require('sharp');", loader: 'js' }));
    bundle.onResolve({ filter: /\.node$/ }, (args) => ({ path: args.path, external: true }));
    // esbuild reads require(`…${x}…`) as a pattern of files to bundle; `(0, require)` keeps it a run-time call.
    bundle.onLoad({ filter: /[\\/]node_modules[\\/]sharp[\\/]dist[\\/][^\\/]+\.cjs$/ }, async (args) => ({
      contents: (await readFile(args.path, 'utf8')).replace(/\brequire\(`/g, '(0, require)(`'),
      loader: 'js',
    }));
  },
};

await build({
  entryPoints: ['dist/origin/main.js'],
  outdir: 'dist/origin',
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  allowOverwrite: true,
  sourcemap: true,
  logLevel: 'warning',
  // fastify's schema compilers load only for routes with schemas (lazy-schema-compilers.ts).
  external: ['@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler'],
  // The bundled CommonJS packages, and the builtins above, take Node's modules through a real require.
  banner: { js: "import { createRequire as __originRequire } from 'node:module'; const require = __originRequire(import.meta.url);" },
  plugins: [builtinsThroughRequire, sharpInTheBundle],
});
