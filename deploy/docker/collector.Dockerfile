# tcpfleet collector image: `tcpfleet serve` with its SQLite database in /var/lib/tcpfleet.
# Build from the repository root: docker build -f deploy/docker/collector.Dockerfile -t tcpfleet .
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund && npx tsc -b && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
COPY --from=build /src /opt/tcpfleet
RUN mkdir -p /var/lib/tcpfleet && chown node:node /var/lib/tcpfleet
USER node
ENV TCPFLEET_LISTEN=0.0.0.0:7070 TCPFLEET_DB=/var/lib/tcpfleet/tcpfleet.db
VOLUME /var/lib/tcpfleet
EXPOSE 7070
ENTRYPOINT ["node", "/opt/tcpfleet/packages/collector/bin/tcpfleet.js"]
CMD ["serve"]
