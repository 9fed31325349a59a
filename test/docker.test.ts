/**
 * The production image without a Docker engine (CI has none): the Dockerfile is read, not copied
 * from. One test checks the image's rules on the file itself; the other replays the Dockerfile's
 * own steps from a clean copy of the build context (the project filtered by .dockerignore, as
 * Docker sends it), stage by stage in folders standing for each stage's filesystem, then starts
 * the server exactly as ENTRYPOINT + CMD do with the final stage's ENV and user, fetches an image,
 * runs the HEALTHCHECK command, and stops it with SIGTERM as `docker stop` does.
 *
 * What a replay cannot do in a container's place, it says so (t.diagnostic) and checks instead:
 *  - apt-get, and steps on absolute system paths (the jemalloc symlink): they change the image's
 *    operating system, not the app, and are not run on this machine; instead every Debian package
 *    the final stage installs must be installed here (.ci/run installs the same list), and the
 *    preload library is used when its path exists here (.ci/run makes the same symlink);
 *  - `npm cache clean`: in the image it only keeps the layer small; here it would empty this
 *    machine's npm cache;
 *  - the base image's Node.js: the replay runs on this machine's Node.js;
 *  - HOST/PORT: set to loopback and a free port, as `docker run -e` would, so the test never
 *    takes a real port or listens beyond loopback.
 * Anything else the replay does not know fails the test, so the file and the test stay in step.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  aptInstallPackages,
  dockerignore,
  execForm,
  parseCopy,
  parseDockerfile,
  parseEnv,
  parseHealthcheck,
  splitAndList,
  words,
  type Stage,
} from './helpers/dockerfile.js';
import { DEFAULT_WATERMARK_FONT } from '../transforms/watermark.js';
import { JEMALLOC_CONF } from '../bench/environment.js';
import { BROWSER_ACCEPTS } from './helpers/browsers.js';
import { freePort, runToEnd, startChild, until, type RunningChild } from './helpers/child-processes.js';
import { decode } from './helpers/images.js';
import { rawGet } from './helpers/origin.js';
import { PROJECT_ROOT } from '../support/paths.js';
import { requireSystem } from '../support/system.js';

const DOCKERFILE = path.join(PROJECT_ROOT, 'Dockerfile');
const DOCKERIGNORE = path.join(PROJECT_ROOT, '.dockerignore');
const CHROME = BROWSER_ACCEPTS.find(([browser]) => browser === 'Chrome')![1];
/** The official node images' `node` user. */
const KNOWN_USERS: Readonly<Record<string, number>> = { node: 1000 };

async function loadDockerfile(): Promise<Stage[]> {
  return parseDockerfile(await readFile(DOCKERFILE, 'utf8'));
}

/** The instructions of one kind in a stage. */
const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
const last = (stage: Stage, keyword: string) => all(stage, keyword).at(-1);

function finalEnv(stage: Stage): Record<string, string> {
  return Object.assign({}, ...all(stage, 'ENV').map((i) => parseEnv(i.args))) as Record<string, string>;
}

test('the Dockerfile follows the image rules: LTS slim base, production-only runtime, non-root, jemalloc, PID 1, health check', async () => {
  const stages = await loadDockerfile();
  assert.ok(stages.length >= 2, 'multi-stage');
  const runtime = stages.at(-1)!;

  for (const stage of stages) {
    const match = /^node:(\d+)(?:\.\d+)*-slim$/.exec(stage.image);
    assert.ok(match, `${stage.name}: FROM ${stage.image} is not a node:<major>-slim image`);
    const major = Number(match[1]);
    assert.equal(major % 2, 0, `${stage.image}: odd Node.js majors never become LTS`);
    const engines = JSON.parse(await readFile(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).engines.node as string;
    assert.ok(major >= Number(/\d+/.exec(engines)![0]), `${stage.image} is older than engines.node ${engines}`);
  }
  assert.equal(new Set(stages.map((s) => s.image)).size, 1, 'every stage on the same Node.js line');

  // Production dependencies and compiled JavaScript only.
  const runs = all(runtime, 'RUN').map((i) => i.args);
  assert.ok(runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r)), 'the runtime stage installs with npm ci --omit=dev');
  for (const copy of all(runtime, 'COPY').map((i) => parseCopy(i.args))) {
    if (copy.from !== undefined) {
      for (const source of copy.sources) assert.match(source, /\/dist\//, `COPY --from=${copy.from} ${source}: only compiled output crosses stages`);
    } else {
      for (const source of copy.sources) {
        assert.ok(!/^(origin|transforms|presets|bench|test|node_modules)\b/.test(source), `COPY ${source}: no sources in the runtime image`);
      }
    }
  }

  // The text watermarks' default font comes from Debian's package in the image.
  const packages = all(runtime, 'RUN').flatMap((i) => splitAndList(i.args).flatMap(aptInstallPackages));
  if (/^Noto Sans CJK/.test(DEFAULT_WATERMARK_FONT)) {
    assert.ok(packages.includes('fonts-noto-cjk'), `the image installs fonts-noto-cjk for ${DEFAULT_WATERMARK_FONT}`);
  }

  const user = last(runtime, 'USER')?.args;
  assert.ok(user !== undefined && !/^(root|0)(:|$)/.test(user), `runs as a non-root user (USER ${user})`);

  const env = finalEnv(runtime);
  assert.match(env.LD_PRELOAD ?? '', /libjemalloc\.so\.2$/, 'jemalloc is preloaded');
  assert.equal(env.MALLOC_CONF, JEMALLOC_CONF, 'jemalloc is configured as the benchmark measured it');
  assert.equal(env.NODE_ENV, 'production');
  assert.equal(all(runtime, 'EXPOSE').map((i) => i.args).join(' '), env.PORT, 'EXPOSE is the port the server listens on');
  assert.equal(env.PORT, '8080');

  // Exec form everywhere a signal must reach the process: a shell form would put /bin/sh in
  // between, which does not forward SIGTERM.
  const entrypoint = last(runtime, 'ENTRYPOINT');
  const cmd = last(runtime, 'CMD');
  assert.ok(cmd && execForm(cmd.args), 'CMD in exec form');
  if (entrypoint) {
    const argv = execForm(entrypoint.args);
    assert.ok(argv, 'ENTRYPOINT in exec form');
    assert.match(argv[0]!, /(^|\/)(tini|dumb-init)$/, 'ENTRYPOINT is an init that forwards signals and reaps');
  }
  assert.deepEqual(execForm(cmd!.args), ['node', 'dist/origin/main.js']);

  const healthcheck = parseHealthcheck(last(runtime, 'HEALTHCHECK')?.args ?? 'NONE');
  assert.notEqual(healthcheck, 'NONE', 'HEALTHCHECK is set');
  if (healthcheck !== 'NONE') assert.match(JSON.stringify(healthcheck.command), /\/healthz/);

  // The build context: what the COPY lines need is in, the rest is out.
  const ignore = dockerignore(await readFile(DOCKERIGNORE, 'utf8'));
  for (const out of ['node_modules/sharp/package.json', 'dist/origin/main.js', '.git/HEAD', 'bench/results/run.json', 'debug.log']) {
    assert.ok(ignore.excluded(out), `.dockerignore keeps ${out} out of the context`);
  }
  for (const stage of stages) {
    for (const copy of all(stage, 'COPY').map((i) => parseCopy(i.args))) {
      if (copy.from !== undefined) continue;
      for (const source of copy.sources) assert.ok(!ignore.excluded(source), `COPY ${source}, but .dockerignore excludes it`);
    }
  }
  assert.ok(!ignore.excluded('samples/SOURCES.md'), 'the samples ship with their licences');
});

/** A stage being replayed: a folder standing for its filesystem. */
interface StageState {
  readonly name: string;
  readonly root: string;
  workdir: string;
  env: Record<string, string>;
}

/** Environment for RUN steps and the server: this machine's tools, the stage's ENV on top. */
function baseEnv(): Record<string, string> {
  // Where npm finds its registry, cache and certificates; never npm's per-project lifecycle
  // variables (npm_config_local_prefix and friends point at the real project when run by npm test).
  const keep =
    /^(PATH|HOME|TMPDIR|HTTPS?_PROXY|NO_PROXY|https?_proxy|no_proxy|NODE_EXTRA_CA_CERTS|SSL_CERT_(FILE|DIR)|npm_config_(registry|cache|userconfig|globalconfig|nodedir|cafile|ca|strict_ssl|proxy|https_proxy|noproxy|.+:registry))$/i;
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => keep.test(e[0]) && e[1] !== undefined));
}

/** The stage's ENV, less a preload library this machine does not have. */
function usableEnv(t: TestContext, env: Record<string, string>): Record<string, string> {
  const { LD_PRELOAD: preload, ...rest } = env;
  if (preload === undefined) return rest;
  const present = preload.split(/[:\s]+/).filter((lib) => lib !== '' && existsSync(lib));
  if (present.length === 0) {
    t.diagnostic(`LD_PRELOAD=${preload} does not exist on this machine: running without it (.ci/run creates it)`);
    return rest;
  }
  return { ...rest, LD_PRELOAD: present.join(':') };
}

/** Why a RUN command is not executed here, or undefined when it is. */
function skipReason(command: string): string | undefined {
  const argv = words(command.replace(/\$\([^)]*\)/g, 'SUBST'));
  const program = argv[0] ?? '';
  if (program === 'npm' && argv[1] === 'cache') return "keeps the image layer small; here it would empty this machine's npm cache";
  if (['npm', 'npx', 'node'].includes(program)) return undefined;
  if (program === 'apt-get' || program === 'apt') return "installs Debian packages into the image's system; checked against this machine's packages instead";
  if (['ln', 'rm', 'mkdir', 'test', 'chmod', 'chown', 'cp', 'mv', 'touch'].includes(program)) {
    if (argv.slice(1).some((arg) => arg.startsWith('/'))) return "acts on the image's system folders, not the app";
    return undefined;
  }
  throw new Error(`RUN step "${command}": test/docker.test.ts does not know how to replay "${program}"; teach it (and say why)`);
}

/** `/app/x` inside a stage → its folder here. */
const hostPath = (state: StageState, containerPath: string) => path.join(state.root, path.posix.resolve(state.workdir, containerPath));

async function replayCopy(t: TestContext, state: StageState, args: string, context: string, stages: Map<string, StageState>): Promise<void> {
  const copy = parseCopy(args);
  const fromStage = copy.from === undefined ? undefined : stages.get(copy.from);
  if (copy.from !== undefined && !fromStage) throw new Error(`COPY --from=${copy.from}: no such earlier stage`);
  const toFolder = copy.destination.endsWith('/') || copy.sources.length > 1;
  const destination = hostPath(state, copy.destination);
  for (const source of copy.sources) {
    const from = fromStage ? path.join(fromStage.root, path.posix.resolve('/', source)) : path.join(context, source);
    if (!existsSync(from)) throw new Error(`COPY ${args}: ${source} does not exist in ${fromStage ? `stage ${copy.from}` : 'the build context'}`);
    const isFolder = (await stat(from)).isDirectory();
    // Docker copies a folder's contents, and a file into a folder destination under its own name.
    const target = !isFolder && toFolder ? path.join(destination, path.basename(source)) : destination;
    await mkdir(isFolder ? target : path.dirname(target), { recursive: true });
    await cp(from, target, { recursive: true });
  }
  t.diagnostic(`  COPY ${args}`);
}

async function replayStage(t: TestContext, stage: Stage, state: StageState, context: string, stages: Map<string, StageState>, aptPackages: string[]): Promise<void> {
  t.diagnostic(`stage ${stage.name} (FROM ${stage.image}: replayed on this machine's Node.js ${process.version})`);
  for (const instruction of stage.instructions) {
    switch (instruction.keyword) {
      case 'WORKDIR':
        state.workdir = path.posix.resolve(state.workdir, instruction.args);
        await mkdir(hostPath(state, '.'), { recursive: true });
        break;
      case 'ENV':
        state.env = { ...state.env, ...parseEnv(instruction.args) };
        break;
      case 'COPY':
        await replayCopy(t, state, instruction.args, context, stages);
        break;
      case 'RUN': {
        if (execForm(instruction.args)) throw new Error(`line ${instruction.line}: RUN in exec form is not replayed`);
        for (const command of splitAndList(instruction.args)) {
          aptPackages.push(...aptInstallPackages(command));
          const why = skipReason(command);
          if (why !== undefined) {
            t.diagnostic(`  skipped: ${command} (${why})`);
            continue;
          }
          t.diagnostic(`  RUN ${command}`);
          const started = Date.now();
          await runToEnd(command, '/bin/sh', ['-c', command], {
            cwd: hostPath(state, '.'),
            env: { ...baseEnv(), npm_config_update_notifier: 'false', ...usableEnv(t, state.env) },
          });
          t.diagnostic(`    done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        }
        break;
      }
      case 'USER':
      case 'EXPOSE':
      case 'HEALTHCHECK':
      case 'CMD':
      case 'ENTRYPOINT':
      case 'LABEL':
      case 'STOPSIGNAL':
        break; // used when the server starts
      default:
        throw new Error(`line ${instruction.line}: ${instruction.keyword} is not replayed by test/docker.test.ts; teach it`);
    }
  }
}

/** The build context: the project as Docker would send it, filtered by .dockerignore. */
async function copyContext(to: string): Promise<void> {
  const ignore = dockerignore(await readFile(DOCKERIGNORE, 'utf8'));
  await cp(PROJECT_ROOT, to, {
    recursive: true,
    filter: async (source) => {
      const relative = path.relative(PROJECT_ROOT, source).split(path.sep).join('/');
      if (relative === '') return true;
      if (!ignore.excluded(relative)) return true;
      // With `!` exceptions a folder may hold files that are let back in.
      return ignore.hasExceptions && (await readdir(source).then(() => true, () => false));
    },
  });
}

/** Every Debian package the image installs must be on this machine too (.ci/run installs them). */
function checkPackagesInstalled(t: TestContext, packages: readonly string[]): void {
  for (const name of new Set(packages)) {
    const query = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    const installed = query.status === 0 && query.stdout.trim() === 'install ok installed';
    assert.ok(
      installed,
      `the image installs the Debian package ${name}, which this machine lacks: add it to .ci/run's apt-get install line ` +
        `(and run that line here) so the replay runs with what the image has`,
    );
    t.diagnostic(`Debian package ${name}: installed here as in the image`);
  }
}

/** The process started as ENTRYPOINT's child (tini → node), or the process itself. */
function serverPid(launched: RunningChild, hasInit: boolean): number | undefined {
  if (!hasInit) return launched.pid;
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let statLine: string;
    try {
      statLine = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid …": comm may hold spaces, so read after the last ')'.
    const ppid = Number(statLine.slice(statLine.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === launched.pid) return Number(entry);
  }
  return undefined;
}

/** The Debian packages the final stage installs: the replay needs them here (.ci/run installs them), else it skips. */
const IMAGE_PACKAGES = parseDockerfile(readFileSync(DOCKERFILE, 'utf8'))
  .at(-1)!
  .instructions.filter((i) => i.keyword === 'RUN')
  .flatMap((i) => splitAndList(i.args).flatMap(aptInstallPackages));

test('built by the Dockerfile’s own steps from a clean copy of the build context, the image’s command serves an image', requireSystem(...IMAGE_PACKAGES.map((debianPackage) => ({ debianPackage }))), async (t) => {
  const stages = await loadDockerfile();
  const root = await mkdtemp(path.join(os.tmpdir(), 'docker-replay-'));
  let server: RunningChild | undefined;
  try {
    await chmod(root, 0o755); // the server runs as the image's non-root user
    const context = path.join(root, 'context');
    await copyContext(context);
    t.diagnostic(`build context: ${context}`);

    const states = new Map<string, StageState>();
    let aptPackages: string[] = [];
    for (const stage of stages) {
      const state: StageState = { name: stage.name, root: path.join(root, 'stages', stage.name), workdir: '/', env: {} };
      await mkdir(state.root, { recursive: true });
      aptPackages = [];
      await replayStage(t, stage, state, context, states, aptPackages);
      states.set(stage.name, state);
    }
    const runtime = stages.at(-1)!;
    const image = states.get(runtime.name)!;
    checkPackagesInstalled(t, aptPackages);

    // What the final image holds: compiled JavaScript and production dependencies only.
    const app = hostPath(image, '.');
    const appEntries = await readdir(app, { recursive: true });
    const sources = appEntries.filter((f) => !f.startsWith('node_modules') && /\.(ts|tsx|mts|cts)$/.test(f) && !/\.d\.[mc]?ts$/.test(f));
    assert.deepEqual(sources, [], 'no TypeScript sources in the image');
    assert.ok(!existsSync(path.join(app, 'dist', 'test')) && !existsSync(path.join(app, 'dist', 'bench')), 'no tests or benchmarks in the image');
    const pkg = JSON.parse(await readFile(path.join(app, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string> };
    for (const dev of Object.keys(pkg.devDependencies ?? {})) {
      assert.ok(!existsSync(path.join(app, 'node_modules', dev, 'package.json')), `devDependency ${dev} is not in the image`);
    }
    assert.ok(existsSync(path.join(app, 'node_modules', 'sharp', 'package.json')), 'production dependencies are');

    // Start it the way the image does: ENTRYPOINT + CMD, the final ENV, the image's user.
    const entrypoint = execForm(last(runtime, 'ENTRYPOINT')?.args ?? '[]')!;
    const argv = [...entrypoint, ...execForm(last(runtime, 'CMD')!.args)!];
    const [port, metricsPort] = [await freePort(), await freePort()];
    // A free metrics port rather than the image's 9464, which another run on this machine may hold.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...usableEnv(t, image.env),
      HOST: '127.0.0.1',
      PORT: String(port),
      ORIGIN_METRICS_PORT: String(metricsPort),
    };
    t.diagnostic(`starting: ${argv.join(' ')} with ${Object.entries(env).filter(([k]) => k !== 'PATH').map(([k, v]) => `${k}=${v}`).join(' ')}`);
    const user = last(runtime, 'USER')?.args ?? 'root';
    const uid = /^\d+$/.test(user) ? Number(user) : KNOWN_USERS[user];
    assert.ok(uid !== undefined, `USER ${user}: unknown uid; add it to KNOWN_USERS`);
    const asUser = process.getuid?.() === 0 ? { uid, gid: uid } : {};
    if (!('uid' in asUser)) t.diagnostic(`not root here: running as this machine's user instead of uid ${uid}`);
    server = startChild('image command', argv[0]!, argv.slice(1), { cwd: app, env, ...asUser });

    const base = `http://127.0.0.1:${port}`;
    await until('the server to be ready', async () => ((await rawGet(base, '/readyz')).status === 200 ? true : undefined), { child: server });
    assert.equal((await rawGet(`http://127.0.0.1:${metricsPort}`, '/metrics')).status, 200, '/metrics on the metrics port');
    assert.equal((await rawGet(base, '/metrics')).status, 404, 'and not on the CDN-facing one');
    const answer = await rawGet(base, '/evening-glow.jpg?w=320', { accept: CHROME });
    assert.equal(answer.status, 200, answer.body.toString());
    assert.equal(answer.headers['content-type'], 'image/avif');
    const decoded = await decode(answer.body);
    assert.equal(decoded.format, 'avif');
    assert.equal(decoded.width, 320);

    // A CJK text watermark (the shipped `sample-text`), drawn with the font the image installs
    // (here: this machine's copy of the same Debian package).
    const marked = await rawGet(base, '/evening-glow.jpg?w=320&wm=sample-text', { accept: CHROME });
    assert.equal(marked.status, 200, marked.body.toString());
    assert.equal((await decode(marked.body)).width, 320);
    assert.notDeepEqual(marked.body, answer.body, 'the watermark changed the image');

    const pid = serverPid(server, entrypoint.length > 0);
    assert.ok(pid !== undefined, 'found the node process');
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    if ('uid' in asUser) assert.match(status, new RegExp(`^Uid:\\s+${uid}\\s`, 'm'), 'node runs as the image user');
    if (env.LD_PRELOAD !== undefined) {
      assert.match(await readFile(`/proc/${pid}/maps`, 'utf8'), /libjemalloc/, 'jemalloc is loaded in the node process');
    }

    const healthcheck = parseHealthcheck(last(runtime, 'HEALTHCHECK')!.args);
    assert.notEqual(healthcheck, 'NONE');
    if (healthcheck !== 'NONE') {
      const probe = Array.isArray(healthcheck.command) ? healthcheck.command : ['/bin/sh', '-c', healthcheck.command];
      await runToEnd('HEALTHCHECK', probe[0]!, probe.slice(1), { cwd: app, env, ...asUser });
      t.diagnostic('HEALTHCHECK command exited 0');
    }

    // `docker stop`: SIGTERM to PID 1, which must drain and exit 0.
    const exit = await server.stop('SIGTERM', 60_000);
    assert.deepEqual(exit, { code: 0, signal: null }, `stopped cleanly:\n${server.output()}`);
  } finally {
    await server?.stop('SIGKILL');
    await rm(root, { recursive: true, force: true });
  }
});
