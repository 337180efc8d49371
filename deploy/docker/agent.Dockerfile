# tcpfleet-agent image: the single-file agent on a distroless Node.js 20, as an unprivileged user.
# Run it with the host network and the host's /proc mounted read-only at /host/proc, so it
# counts the host's connections, not the container's (see docker-compose.yml, kubernetes/).
# Build from the repository root: docker build -f deploy/docker/agent.Dockerfile -t tcpfleet-agent .
FROM node:20-bookworm-slim AS build
WORKDIR /src
# A C toolchain for the agent's sock_diag addon (netlink namespace walks, docs/namespaces.md).
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY . .
# --ignore-scripts: better-sqlite3 (the collector's) is not compiled. The agent's addon is built
# explicitly, and here it must build (TCPFLEET_NATIVE_REQUIRED=1): node-gyp from the image's npm,
# Node's headers from the image (/usr/local/include/node). npm run build then puts it next to
# the bundle, as dist/sock_diag.node.
RUN npm ci --ignore-scripts --no-audit --no-fund \
  && TCPFLEET_NATIVE_REQUIRED=1 node packages/agent/native/build.mjs \
  && npm run build \
  && test -f dist/sock_diag.node

FROM gcr.io/distroless/nodejs20-debian12:nonroot
COPY --from=build /src/dist/tcpfleet-agent.mjs /opt/tcpfleet/tcpfleet-agent.mjs
# Loaded from next to the bundle; used only with CAP_SYS_ADMIN (else the agent walks /proc).
COPY --from=build /src/dist/sock_diag.node /opt/tcpfleet/sock_diag.node
ENV TCPFLEET_PROCFS=/host/proc
# --max-semi-space-size=1: a 1 MB young generation, about 4 MB less peak RSS (bench/RESULTS.md).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=1", "/opt/tcpfleet/tcpfleet-agent.mjs"]
