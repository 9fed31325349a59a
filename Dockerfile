# image-origin: the production image (deploy/README.md).
# Two stages on the current Node.js Active LTS line (26, LTS since 2026-10-28), slim Debian:
# "build" compiles the TypeScript with the dev dependencies; "runtime" holds only the production
# dependencies, the compiled JavaScript and the sample images, and runs as the non-root `node` user.
# There is no Docker engine in CI: test/docker.test.ts replays this file's own steps from a clean
# copy of the build context and starts the server as CMD does. Keep the steps in forms it knows.

FROM node:26-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: package.json's `prepare` builds, before the sources are here; the build is the
# step below. No dependency has an install script (sharp ships prebuilt binaries).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY origin ./origin
COPY transforms ./transforms
COPY presets ./presets
# Only the server's code: tsconfig.json also includes support/, bench/ and test/, which the image never runs.
RUN npm run build

FROM node:26-slim AS runtime
# - jemalloc: glibc's malloc keeps per-thread arenas that fragment under libvips' many short-lived
#   threads, so RSS creeps up for hours; jemalloc returns memory (README "Memory"). The symlink
#   gives one path on every architecture.
#   MALLOC_CONF below: one arena (threads keep their own caches for small blocks), a background
#   thread that returns freed pages after 1 s instead of 10. Measured on the 2-core VM (bench
#   peer/cold/limit, bench/results/2026-12-01-vm-*): peak RSS 400 / 315 / 316 MB against
#   454-477 / 385-423 / 302-344 with jemalloc's defaults, at the same CPU per image
#   (cold 0.97x limit); soak 407 against 439 MB. narenas:2 alone: 429 / 332 / 322.
# - tini is PID 1: it forwards SIGTERM to node (which drains and exits 0) and reaps zombies, and a
#   SIGTERM that arrives before node has set its handlers still stops the container.
# - fonts-noto-cjk: Noto Sans CJK SC, the text watermarks' default font (Latin and CJK), found
#   through fontconfig-config's /etc/fonts.
# .ci/run installs the same packages (test/docker.test.ts checks that it does).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libjemalloc2 tini fonts-noto-cjk fontconfig-config \
 && ln -s "$(find /usr/lib -name libjemalloc.so.2 | head -n 1)" /usr/local/lib/libjemalloc.so.2 \
 && test -e /usr/local/lib/libjemalloc.so.2 \
 && rm -rf /var/lib/apt/lists/*
# - UV_THREADPOOL_SIZE: libuv's pool (4 threads by default) runs sharp's transforms, file reads
#   and DNS look-ups alike; 16 keeps room for file I/O and DNS next to the running transforms
#   (README "Running at peak"). Only the environment sets it: an ES module entry starts the pool
#   before its first line runs, so setting it in code is too late.
ENV LD_PRELOAD=/usr/local/lib/libjemalloc.so.2 \
    MALLOC_CONF=narenas:1,background_thread:true,dirty_decay_ms:1000 \
    UV_THREADPOOL_SIZE=16 \
    NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts again: `prepare` would build, and the runtime has neither tsc nor the sources.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/origin ./dist/origin
COPY --from=build /app/dist/transforms ./dist/transforms
COPY --from=build /app/dist/presets ./dist/presets
COPY samples ./samples
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/origin/main.js"]
