# image-origin: multi-stage build on the current Node LTS (slim Debian).
# Stage 1 compiles TypeScript with the dev dependencies; stage 2 carries only the production
# dependencies, the compiled JavaScript and the sample images, and runs as the non-root `node` user.

FROM node:26-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY origin ./origin
COPY transforms ./transforms
COPY presets ./presets
COPY bench ./bench
COPY test ./test
RUN npm run build

FROM node:26-slim AS runtime
# glibc's malloc keeps per-thread arenas that fragment badly under libvips' many short-lived
# threads, so RSS creeps up for hours; jemalloc returns memory and keeps RSS flat (README:
# "Memory"). The symlink gives one path on every architecture.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libjemalloc2 \
 && ln -s "$(find /usr/lib -name libjemalloc.so.2 | head -n 1)" /usr/local/lib/libjemalloc.so.2 \
 && rm -rf /var/lib/apt/lists/*
ENV LD_PRELOAD=/usr/local/lib/libjemalloc.so.2 \
    NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/origin ./dist/origin
COPY --from=build /app/dist/transforms ./dist/transforms
COPY samples ./samples
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node is PID 1 here and handles SIGTERM/SIGINT itself (origin/main.ts closes the server cleanly).
CMD ["node", "dist/origin/main.js"]
