/**
 * One transform per variant across replicas: deploy/fleet/nginx-hash.conf in a real nginx from
 * Debian in front of three origin processes sharing a result store in s3rver. Three simulated
 * CDN nodes each send ten concurrent requests for one new variant: one transform fleet-wide (read
 * from every replica's metrics). Then the replica that holds the key is stopped: its keys move
 * with no errors, and the next replica on the ring finds the result in the store.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PROJECT_ROOT } from '../support/paths.js';
import { startS3rver, type RunningS3rver } from '../support/s3rver.js';
import { requireSystem } from '../support/system.js';
import { freePort, until } from './helpers/child-processes.js';
import { decode } from './helpers/images.js';
import { findNginx, renderTemplate, startNginx, type RunningNginx } from './helpers/nginx.js';
import { metricSum, metricValue } from './helpers/origin.js';
import { startOriginProcess, type OriginProcess } from './helpers/origin-process.js';

interface Answer {
  readonly status: number;
  readonly body: Buffer;
}

/** One simulated CDN node: its own keep-alive connections, as an edge server has. */
function cdnNode(): { get(url: string): Promise<Answer>; close(): void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
  return {
    get: (url) =>
      new Promise((resolve, reject) => {
        http
          .get(url, { agent, headers: { accept: 'image/avif,image/webp,*/*' } }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
            res.on('error', reject);
          })
          .on('error', reject);
      }),
    close: () => agent.destroy(),
  };
}

const transforms = async (replica: OriginProcess) => metricSum(await replica.metrics(), 'image_origin_transforms_total');

describe('consistent hashing in front of three replicas (deploy/fleet/nginx-hash.conf)', requireSystem({ program: 'nginx', debianPackage: 'nginx' }), () => {
  let s3: RunningS3rver | undefined;
  let root: string | undefined;
  let replicas: OriginProcess[] = [];
  let router: RunningNginx | undefined;

  before(async () => {
    const nginx = findNginx();
    const photo = await readFile(path.join(PROJECT_ROOT, 'samples', 'evening-glow.jpg'));
    const objects: Record<string, Buffer> = { 'celebrity/post.jpg': photo };
    for (let i = 0; i < 12; i++) objects[`feed/${i}.jpg`] = photo;
    s3 = await startS3rver({ bucket: 'images', otherBuckets: ['results'], objects });
    const env = { ...s3.env(), ORIGIN_RESULT_STORE: 's3://results', ORIGIN_TRANSFORM_CONCURRENCY: '1' };
    replicas = [await startOriginProcess('replica-a', env), await startOriginProcess('replica-b', env), await startOriginProcess('replica-c', env)];
    root = await mkdtemp(path.join(os.tmpdir(), 'fleet-routing-'));
    const stateDir = path.join(root, 'router');
    await mkdir(stateDir, { recursive: true });
    const port = await freePort();
    const template = await readFile(path.join(PROJECT_ROOT, 'deploy', 'fleet', 'nginx-hash.conf'), 'utf8');
    const [a, b, c] = replicas.map((r) => `127.0.0.1:${r.port}`);
    const configFile = path.join(stateDir, 'nginx.conf');
    await writeFile(configFile, renderTemplate(template, { ROUTER_LISTEN: `127.0.0.1:${port}`, ROUTER_STATE_DIR: stateDir, ORIGIN_A: a!, ORIGIN_B: b!, ORIGIN_C: c! }));
    router = await startNginx(nginx.binary, configFile, stateDir, port);
  });

  after(async () => {
    await router?.stop();
    await Promise.all(replicas.map((r) => r.stop('SIGKILL')));
    await s3?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  test('3 CDN nodes × 10 concurrent requests for one new variant: 1 transform across the fleet', async () => {
    const nodes = [cdnNode(), cdnNode(), cdnNode()];
    try {
      const url = `${router!.url}/celebrity/post.jpg?w=480`;
      const answers = await Promise.all(nodes.flatMap((node) => Array.from({ length: 10 }, () => node.get(url))));
      assert.deepEqual([...new Set(answers.map((a) => a.status))], [200], (await router!.errorLog()).slice(-2000));
      const first = await decode(answers[0]!.body);
      assert.equal(first.width, 480);
      const counts = await Promise.all(replicas.map(transforms));
      assert.equal(counts.reduce((n, c) => n + c, 0), 1, `transforms per replica: ${counts.join(', ')}`);

      // Another variant of the same original meets on the same replica (the hash is the path's).
      const holder = counts.indexOf(1);
      const other = await nodes[0]!.get(`${router!.url}/celebrity/post.jpg?w=240&fm=webp`);
      assert.equal(other.status, 200);
      const after = await Promise.all(replicas.map(transforms));
      assert.equal(after[holder], 2, `transforms per replica: ${after.join(', ')}`);
    } finally {
      for (const node of nodes) node.close();
    }
  });

  test('stopping the replica that holds a key moves it with no errors; the next replica finds the result in the store', async () => {
    const counts = await Promise.all(replicas.map(transforms));
    const holder = counts.indexOf(2);
    assert.notEqual(holder, -1, `transforms per replica: ${counts.join(', ')}`);
    const stopped = replicas[holder]!;
    await until('its results to be written', async () =>
      metricValue(await stopped.metrics(), 'image_origin_result_store_requests_total{op="put",result="ok"}') === 2 ? true : undefined,
    );
    await stopped.stop('SIGTERM');
    const survivors = replicas.filter((r) => r !== stopped);

    const node = cdnNode();
    try {
      // The moved key, and the rest of the traffic: every request answered.
      const moved = await node.get(`${router!.url}/celebrity/post.jpg?w=480`);
      assert.equal(moved.status, 200);
      assert.equal((await decode(moved.body)).width, 480);
      const feed = await Promise.all(Array.from({ length: 12 }, (_, i) => node.get(`${router!.url}/feed/${i}.jpg?w=160&fm=webp`)));
      assert.deepEqual(feed.map((a) => a.status), Array(12).fill(200));

      const hits = await Promise.all(survivors.map(async (r) => metricValue(await r.metrics(), 'image_origin_result_store_requests_total{op="get",result="hit"}')));
      assert.equal(hits.reduce((n, h) => n + h, 0), 1, `the next replica read the moved variant from the store (hits: ${hits.join(', ')})`);
      const made = await Promise.all(survivors.map(transforms));
      assert.equal(made.reduce((n, c) => n + c, 0), 12, 'only the feed images were transformed, not the moved variant');
    } finally {
      node.close();
    }
  });
});
