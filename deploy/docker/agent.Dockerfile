# tcpfleet-agent image: the single-file agent on a distroless Node.js 20, as an unprivileged user.
# Run it with the host network and the host's /proc mounted read-only at /host/proc, so it
# counts the host's connections, not the container's (see docker-compose.yml, kubernetes/).
# Build from the repository root: docker build -f deploy/docker/agent.Dockerfile -t tcpfleet-agent .
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY . .
# The agent needs no native module: skip better-sqlite3's compile.
RUN npm ci --ignore-scripts --no-audit --no-fund && npm run build

FROM gcr.io/distroless/nodejs20-debian12:nonroot
COPY --from=build /src/dist/tcpfleet-agent.mjs /opt/tcpfleet/tcpfleet-agent.mjs
ENV TCPFLEET_PROCFS=/host/proc
# --max-semi-space-size=1: a 1 MB young generation, about 4 MB less peak RSS (bench/RESULTS.md).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=1", "/opt/tcpfleet/tcpfleet-agent.mjs"]
