# syntax=docker/dockerfile:1
# The IPoid image. It runs the API by default (`serve`); the update CronJob runs `update`.
#   docker build -t ipoid .
#   docker run -p 8080:8080 -e IPOID_DB_URL=mariadb://… ipoid
ARG NODE_IMAGE=node:20-bookworm-slim

# Compile TypeScript to dist/ and build the console. No install scripts: tsc and Vite need no native module built.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The web console: built by Vite into dist/ui, which the API serves at /ui/.
COPY ui ./ui
RUN npm run build

# Production dependencies only. better-sqlite3 is native: the build tools are here in case
# no prebuilt binary fits, and stay out of the runtime image.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    IPOID_HOST=0.0.0.0 \
    IPOID_PORT=8080
WORKDIR /app
# Code and dependencies belong to root and are read-only for the process; only data/ (the
# default SQLite store, for `docker run -v ipoid-data:/app/data`) is the node user's.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir data && chown node:node data
# The base image's unprivileged user (uid 1000); Kubernetes also sets runAsUser.
USER node
EXPOSE 8080
# For plain Docker; Kubernetes uses the chart's probes instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.IPOID_PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve"]
