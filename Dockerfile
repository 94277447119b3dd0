# Container Updater: the image operators run on a Swarm manager with the Docker socket mounted.
#
# Both base images are build arguments, so the image can be built from local bases where nothing
# can be pulled (the test suite does exactly that: test/image/).
ARG NODE_IMAGE=node:24-bookworm-slim
ARG DOCKER_CLI_IMAGE=docker:28-cli

# The Docker CLI binary comes from an official Docker CLI image: no package manager, no daemon.
FROM ${DOCKER_CLI_IMAGE} AS docker-cli

FROM ${NODE_IMAGE} AS build
# better-sqlite3 (the record store) is a native addon: when its prebuilt binary cannot be fetched,
# node-gyp compiles it, against the headers the Node image carries (no download).
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund && \
    rm -rf node_modules/better-sqlite3/deps node_modules/better-sqlite3/src \
      node_modules/better-sqlite3/build/Release/obj node_modules/better-sqlite3/build/Release/obj.target \
      node_modules/better-sqlite3/build/Release/.deps node_modules/better-sqlite3/build/Release/test_extension.node

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/docker
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# DATA_DIR of the stack files: a volume mounted here starts out owned by the node user.
# The bin on the PATH: `docker exec <container> container-updater token --subject ci`.
RUN mkdir -p /app/data && chown node:node /app/data && \
    chmod +x /app/dist/bin.js && ln -s /app/dist/bin.js /usr/local/bin/container-updater
ENV DATA_DIR=/app/data
# The node user (uid 1000) of the Node image. Reaching the socket needs its group:
#   docker run --group-add "$(stat -c %g /var/run/docker.sock)" …
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: SIGTERM reaches node's graceful shutdown (directly, or forwarded by Docker's init).
# Run with Docker's init (`--init`, `init: true` in deploy/): node as PID 1 would not reap a
# crashed spawn helper's orphans.
STOPSIGNAL SIGTERM
# A small young generation keeps RSS down under load at no measured cost (docs/BENCHMARKS.md).
CMD ["node", "--max-semi-space-size=4", "dist/server.js"]
