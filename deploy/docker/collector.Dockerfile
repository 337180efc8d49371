# tcpfleet collector image: `tcpfleet serve` with its SQLite database in /var/lib/tcpfleet.
# Build from the repository root: docker build -f deploy/docker/collector.Dockerfile -t tcpfleet .
# It listens on every address of the container, so reads (API, /metrics, dashboard) need a read
# token: mount a file of read tokens, one a line, at /run/secrets/tcpfleet-read-tokens (a compose
# or swarm secret; readable by the image's `node` user, uid 1000), and give the fleet token as
# TCPFLEET_TOKEN or TCPFLEET_TOKEN_FILE.
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund && npx tsc -b && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
COPY --from=build /src /opt/tcpfleet
RUN mkdir -p /var/lib/tcpfleet && chown node:node /var/lib/tcpfleet
USER node
ENV TCPFLEET_LISTEN=0.0.0.0:7070 TCPFLEET_DB=/var/lib/tcpfleet/tcpfleet.db TCPFLEET_READ_TOKEN_FILE=/run/secrets/tcpfleet-read-tokens
VOLUME /var/lib/tcpfleet
EXPOSE 7070
# V8 flags as the launcher's #! line gives them (docs/performance.md, collector memory).
ENTRYPOINT ["node", "--max-semi-space-size=4", "--heap-growing-percent=50", "/opt/tcpfleet/packages/collector/bin/tcpfleet.js"]
CMD ["serve"]
