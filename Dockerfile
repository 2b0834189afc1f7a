# mugaika, the SMTP sanitization gateway, as a container image.
#
#   docker build -t mugaika .
#   docker run --rm -p 127.0.0.1:2525:2525 -v mugaika-data:/var/lib/mugaika mugaika
#
# docker-compose.yml runs it between an Internet-side Postfix and an LGWAN-side
# MTA; docs/postfix.md explains the setup.

# --- build: compile TypeScript, then drop the dev dependencies ---------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# npm ci (dependencies exactly as locked; their install scripts run through
# npm rebuild), npm run build (dist/, with the files the converters run beside
# the compiled code: src/runtime/files.ts), then only the runtime dependencies stay.
RUN npm ci --ignore-scripts \
 && npm rebuild \
 && npm run build \
 && npm prune --omit=dev

# --- runtime ----------------------------------------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    MUGAIKA_SMTP_LISTEN=0.0.0.0:2525 \
    MUGAIKA_WEB_LISTEN=0.0.0.0:8025 \
    MUGAIKA_DATA_DIR=/var/lib/mugaika
# The document converters: LibreOffice (driven by python3-uno), Japanese fonts,
# bubblewrap for their sandboxes. bubblewrap needs user namespaces: in a
# container started without them, documents fail closed (removed, kept in
# quarantine) unless the policy's documents.allowUnsandboxed accepts the risk.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libreoffice-core-nogui libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui \
      python3-uno fonts-noto-cjk fonts-ipaexfont bubblewrap util-linux \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY policies ./policies
# The spool, the SQLite store, the quarantine and the keys live here: keep it on
# a volume and back up keys/master.key (without it the quarantined originals
# cannot be read) and keys/audit-signing.key.
RUN mkdir -p /var/lib/mugaika && chown node:node /var/lib/mugaika && chmod 700 /var/lib/mugaika
VOLUME ["/var/lib/mugaika"]
USER node
EXPOSE 2525 8025
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:8025/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# SIGTERM (docker stop) lets work under way finish; the rest stays in the spool.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/mugaika.js"]
CMD ["serve"]
