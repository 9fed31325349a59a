/**
 * fastify's schema compilers (ajv and fast-json-stringify), loaded only when a route with a schema
 * is registered. fastify itself loads both when each instance is built; the origin's routes have
 * no schemas, and those packages (about 90 files) cost every start for nothing (with the lazy
 * sources, start-up CPU 880 → 610 ms on the loaded 2-core VM; README "Start-up"). An app
 * that embeds the origin and adds schema routes gets the same compilers, loaded then.
 *
 * One difference fastify attaches to any compilersFactory: it treats the compiler as custom, so a
 * `headers` schema's property names are not lower-cased for it; write them in lower case.
 */
import type { FastifyServerOptions } from 'fastify';
import { createRequire } from 'node:module';

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
type BuildValidator = NonNullable<CompilersFactory['buildValidator']>;
type BuildSerializer = NonNullable<CompilersFactory['buildSerializer']>;

// Resolved from fastify's own folder: they are fastify's dependencies, not the origin's.
const fromFastify = createRequire(import.meta.resolve('fastify'));

let validator: BuildValidator | undefined;
let serializer: BuildSerializer | undefined;

const buildValidator = ((...args: Parameters<BuildValidator>) => {
  validator ??= (fromFastify('@fastify/ajv-compiler') as () => BuildValidator)();
  return (validator as (...a: Parameters<BuildValidator>) => ReturnType<BuildValidator>)(...args);
}) as BuildValidator;

const buildSerializer: BuildSerializer = (...args) => {
  serializer ??= (fromFastify('@fastify/fast-json-stringify-compiler') as () => BuildSerializer)();
  return serializer(...args);
};

export const lazySchemaController = { compilersFactory: { buildValidator, buildSerializer } } satisfies FastifyServerOptions['schemaController'];
