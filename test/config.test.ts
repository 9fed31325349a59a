import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../origin/config.js';
import { DEFAULT_LIMITS } from '../transforms/limits.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, '/srv');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return [...error.problems];
  }
  assert.fail('expected a ConfigError');
}

describe('loadConfig', () => {
  test('defaults serve ./samples on 0.0.0.0:8080', () => {
    const config = loadConfig({}, '/srv');
    assert.deepEqual(config.server, {
      host: '0.0.0.0',
      port: 8080,
      logLevel: 'info',
      metricsPort: 9464,
      shutdownGraceMs: 20_000,
      connections: { requestTimeoutMs: 10_000, idleTimeoutMs: 60_000, keepAliveTimeoutMs: 65_000, sendTimeoutMs: 10_000, maxRequestsPerSocket: 1_000 },
    });
    assert.deepEqual(config.source, { kind: 'fs', root: path.resolve('/srv', 'samples') });
    assert.deepEqual(config.limits, DEFAULT_LIMITS);
    assert.equal(config.fetch.maxBytes, 32 * 1024 * 1024);
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.limits));
  });

  test('an s3:// source reads endpoint, region, path style and credentials', () => {
    const config = loadConfig({
      ORIGIN_SOURCE: 's3://photos-bucket/users/originals/',
      S3_ENDPOINT: 'https://oss-cn-hangzhou.aliyuncs.com/',
      S3_REGION: 'oss-cn-hangzhou',
      S3_FORCE_PATH_STYLE: 'false',
      AWS_ACCESS_KEY_ID: 'AKID',
      AWS_SECRET_ACCESS_KEY: 'SECRET',
      AWS_SESSION_TOKEN: 'TOKEN',
    });
    assert.deepEqual(config.source, {
      kind: 's3',
      bucket: 'photos-bucket',
      prefix: 'users/originals/',
      endpoint: 'https://oss-cn-hangzhou.aliyuncs.com',
      region: 'oss-cn-hangzhou',
      forcePathStyle: false,
      credentials: { accessKeyId: 'AKID', secretAccessKey: 'SECRET', sessionToken: 'TOKEN' },
    });
  });

  test('s3 without credentials is anonymous, and AWS is the default endpoint', () => {
    const config = loadConfig({ ORIGIN_SOURCE: 's3://public-images', S3_REGION: 'eu-west-1' });
    assert.equal(config.source.kind === 's3' && config.source.endpoint, 'https://s3.eu-west-1.amazonaws.com');
    assert.equal(config.source.kind === 's3' && config.source.credentials, undefined);
  });

  test('an http base always ends with a slash', () => {
    const config = loadConfig({ ORIGIN_SOURCE: 'https://cdn.example.com/originals' });
    assert.deepEqual(config.source, { kind: 'http', baseUrl: 'https://cdn.example.com/originals/', allowPrivateAddresses: false });
  });

  test('every bad variable is named, all at once', () => {
    const problems = problemsOf({ PORT: 'eighty', ORIGIN_MAX_INPUT_PIXELS: '-5', S3_FORCE_PATH_STYLE: 'yes', ORIGIN_SOURCE_MAX_BYTES: '0' });
    for (const name of ['PORT', 'ORIGIN_MAX_INPUT_PIXELS', 'S3_FORCE_PATH_STYLE', 'ORIGIN_SOURCE_MAX_BYTES']) {
      assert.ok(problems.some((p) => p.startsWith(`${name}:`)), `${name} in ${problems.join(' | ')}`);
    }
  });

  test('ORIGIN_STYLE_DELIMITERS lists OSS style delimiters, ! by default', () => {
    assert.deepEqual(loadConfig({}).presets.styleDelimiters, ['!']);
    assert.deepEqual(loadConfig({ ORIGIN_STYLE_DELIMITERS: '!,-,_,@!' }).presets.styleDelimiters, ['!', '-', '_', '@!']);
    assert.match(problemsOf({ ORIGIN_STYLE_DELIMITERS: '!,~' })[0] ?? '', /^ORIGIN_STYLE_DELIMITERS\.1: each must be one of ! - _ @!/);
  });

  test('bad sources are refused with the variable named', () => {
    for (const source of ['ftp://x/', 's3://Bad_Bucket', 'fs:', 'https://user:pw@example.com/', 'https://example.com/?q=1']) {
      const problems = problemsOf({ ORIGIN_SOURCE: source });
      assert.match(problems[0] ?? '', /^ORIGIN_SOURCE:/, source);
    }
    assert.match(problemsOf({ ORIGIN_SOURCE: 's3://bucket', AWS_ACCESS_KEY_ID: 'only-half' })[0] ?? '', /AWS_SECRET_ACCESS_KEY/);
  });

  test('empty variables count as unset', () => {
    assert.equal(loadConfig({ PORT: '', ORIGIN_SOURCE: '' }, '/srv').server.port, 8080);
  });
});

describe('loadConfig: connections, metrics and back-to-origin settings', () => {
  test('the idle timeout follows the request deadline unless set, and must outlast it', () => {
    assert.equal(loadConfig({ ORIGIN_REQUEST_DEADLINE_MS: '90000' }, '/srv').server.connections.idleTimeoutMs, 120_000);
    assert.equal(loadConfig({ ORIGIN_IDLE_TIMEOUT_MS: '31000' }, '/srv').server.connections.idleTimeoutMs, 31_000);
    const [problem] = problemsOf({ ORIGIN_IDLE_TIMEOUT_MS: '30000' });
    assert.match(problem ?? '', /^ORIGIN_IDLE_TIMEOUT_MS \(30000\) must be longer than ORIGIN_REQUEST_DEADLINE_MS \(30000\)/);
    for (const name of ['ORIGIN_REQUEST_TIMEOUT_MS', 'ORIGIN_KEEPALIVE_TIMEOUT_MS', 'ORIGIN_SEND_TIMEOUT_MS']) {
      assert.match(problemsOf({ [name]: '0' })[0] ?? '', new RegExp(`^${name}:`));
    }
  });

  test('the metrics port can be moved or turned off, but not onto PORT', () => {
    assert.equal(loadConfig({ ORIGIN_METRICS_PORT: '9091' }, '/srv').server.metricsPort, 9091);
    for (const off of ['off', '0']) assert.equal(loadConfig({ ORIGIN_METRICS_PORT: off }, '/srv').server.metricsPort, undefined, off);
    assert.match(problemsOf({ ORIGIN_METRICS_PORT: 'on' })[0] ?? '', /^ORIGIN_METRICS_PORT: expected a port/);
    assert.match(problemsOf({ ORIGIN_METRICS_PORT: '8080' })[0] ?? '', /^ORIGIN_METRICS_PORT: must differ from PORT/);
  });

  test('metrics on the main port need a token, and a token needs them there', () => {
    const token = 'a-scraper-token-0123456789';
    assert.equal(loadConfig({ ORIGIN_METRICS_ON_MAIN_PORT: 'true', ORIGIN_METRICS_TOKEN: token }, '/srv').server.metricsToken, token);
    assert.match(problemsOf({ ORIGIN_METRICS_ON_MAIN_PORT: 'true' })[0] ?? '', /^ORIGIN_METRICS_ON_MAIN_PORT: needs ORIGIN_METRICS_TOKEN/);
    assert.match(problemsOf({ ORIGIN_METRICS_TOKEN: token })[0] ?? '', /^ORIGIN_METRICS_TOKEN: only used with/);
    assert.match(problemsOf({ ORIGIN_METRICS_ON_MAIN_PORT: 'true', ORIGIN_METRICS_TOKEN: 'short' })[0] ?? '', /^ORIGIN_METRICS_TOKEN: needs at least 16/);
  });

  test('ORIGIN_REQUIRE_HEADER is "Name: value[, value…]", and never echoes a value back', () => {
    const one = 'k1-0123456789abcdef';
    const two = 'k2+/=0123456789abcdef';
    assert.deepEqual(loadConfig({ ORIGIN_REQUIRE_HEADER: `X-Origin-Auth: ${one}, ${two}` }, '/srv').server.requiredHeader, {
      name: 'x-origin-auth',
      values: [one, two],
    });
    for (const bad of ['X-Origin-Auth', 'X Origin: 0123456789abcdef0', `X-Origin-Auth: ${one},`, 'X-Origin-Auth: too-short', `X-Origin-Auth: ${one} ${two}`]) {
      const problems = problemsOf({ ORIGIN_REQUIRE_HEADER: bad });
      assert.match(problems[0] ?? '', /^ORIGIN_REQUIRE_HEADER: /, bad);
      assert.ok(!problems.join(' ').includes(one), `${bad}: the secret is not echoed`);
    }
  });
});
