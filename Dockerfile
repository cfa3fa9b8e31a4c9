# syntax=docker/dockerfile:1
#
# switchyard's container image: build with the dev toolchain, run with production dependencies
# and the compiled dist/ only, as a non-root user.
#
#   docker build -t switchyard:0.1.0 .
#   docker run --rm -v "$PWD/switchyard.yaml:/etc/switchyard/switchyard.yaml:ro" \
#     -v switchyard-state:/var/lib/switchyard -p 9464:9464 -e SWITCHYARD_ADMIN_TOKEN switchyard:0.1.0
#
# Base image: Node.js 24 LTS on Debian 12 (bookworm) slim. Pinned to an exact Node.js release so
# that a rebuild never changes the runtime under the daemon without a reviewed one-line bump (the
# code is tested against Node.js >= 20.18; upgrade this tag with each Node.js 24 security
# release). Deliberately a tag, not a digest: the official image re-publishes the same tag when
# Debian ships security fixes for the base, and a rebuild should pick those up; a digest would
# freeze them out until someone bumps it by hand.
ARG NODE_IMAGE=node:24.11.1-bookworm-slim

# ---- build: dev dependencies, TypeScript → dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && chmod 0755 dist/cli/main.js

# ---- runtime: production dependencies and dist/ only ----
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: it forwards SIGTERM/SIGINT to the daemon (which finishes the action in flight
# and closes its listeners) and reaps the children a hard-fence command may leave behind.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
  NO_COLOR=1 \
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true \
  SWITCHYARD_HEALTHCHECK_URL=http://127.0.0.1:9464/healthz
WORKDIR /opt/switchyard
COPY package.json package-lock.json ./
# --ignore-scripts: no production dependency needs its install script (protobufjs's only warns).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# dist/ needs package.json ("type": "module") and node_modules/, both above; nothing else.
COPY --from=build /src/dist ./dist
# A dedicated unprivileged user with a fixed uid/gid, so Kubernetes' runAsNonRoot can verify it
# and volumes can be prepared for it (deploy/kubernetes uses 10001 too).
RUN groupadd --system --gid 10001 switchyard \
  && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/switchyard --shell /usr/sbin/nologin switchyard \
  && mkdir -p /etc/switchyard /var/lib/switchyard \
  && chown 10001:10001 /var/lib/switchyard \
  && ln -s /opt/switchyard/dist/cli/main.js /usr/local/bin/switchyard
USER 10001:10001
# Configuration (read-only) and state (the file state store and file DNS provider write here;
# relative paths in a configuration resolve here too: ./var/state.json → /var/lib/switchyard/var/).
VOLUME ["/etc/switchyard", "/var/lib/switchyard"]
WORKDIR /var/lib/switchyard
# The read-only surface: /metrics, /healthz, /readyz, /v1/status and the status page at /.
EXPOSE 9464
# No curl in a slim image: Node's own fetch, bounded in time. Override SWITCHYARD_HEALTHCHECK_URL
# when --listen names another port.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.SWITCHYARD_HEALTHCHECK_URL,{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
# --liftoff-only: V8 compiles undici's WebAssembly HTTP parser once, with its baseline compiler,
# instead of recompiling it with TurboFan ~2 s after the first probe: that recompile is a ~35 MiB
# RSS transient (and ~9 MiB for good) at no measurable CPU cost (bench/RESULTS.md, "Whole daemon at
# scale"). A V8 flag Node does not accept in NODE_OPTIONS, so it is given here.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--liftoff-only", "/opt/switchyard/dist/cli/main.js"]
# Inside a container the read-only listener must bind all interfaces to be reachable at all;
# the admin API stays on loopback (admin.listen) and is used with `docker exec … switchyard …`.
CMD ["run", "--config", "/etc/switchyard/switchyard.yaml", "--listen", "0.0.0.0:9464"]
