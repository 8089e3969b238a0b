#!/usr/bin/env bash
# Builds, once, the base images that Gantry's generated Dockerfiles start FROM, under
# their standard names (node:20-bookworm-slim, python:3.11-slim), from a Debian
# bookworm rootfs (debootstrap) plus this machine's Node 20. On a machine that can
# pull, the same Dockerfiles use the official images instead.
set -euo pipefail
STATE=/var/lib/gantry-test
LOG=/var/log/gantry-test-infra.log
say() { echo "[base-images] $*"; }
have() { docker image inspect "$1" >/dev/null 2>&1; }

if ! have gantry-base:bookworm; then
  ROOTFS="$STATE/rootfs-bookworm"
  rm -rf "$ROOTFS"
  say "debootstrap bookworm (about a minute)"
  debootstrap --variant=minbase --include=python3,ca-certificates bookworm "$ROOTFS" http://deb.debian.org/debian >>"$LOG" 2>&1
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
  tar -C "$ROOTFS" -c . | docker import -c 'CMD ["/bin/bash"]' - gantry-base:bookworm >>"$LOG"
  rm -rf "$ROOTFS"
fi

if ! have python:3.11-slim; then
  say "python:3.11-slim"
  printf 'FROM gantry-base:bookworm\nRUN ln -sf /usr/bin/python3 /usr/local/bin/python && ln -sf /usr/bin/python3 /usr/local/bin/python3\nLABEL dev.gantry.base=local\nCMD ["python3"]\n' | docker build -q -t python:3.11-slim - >>"$LOG"
fi

if ! have node:20-bookworm-slim; then
  say "node:20-bookworm-slim (with this machine's $(node --version))"
  CTX=$(mktemp -d)
  cp "$(command -v node)" "$CTX/node"
  NPM_DIR="$(dirname "$(readlink -f "$(command -v npm)")")/.."
  cp -r "$(readlink -f "$NPM_DIR")" "$CTX/npm"
  cat > "$CTX/Dockerfile" <<'DOCKERFILE'
FROM gantry-base:bookworm
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && node --version
LABEL dev.gantry.base=local
CMD ["node"]
DOCKERFILE
  docker build -q -t node:20-bookworm-slim "$CTX" >>"$LOG"
  rm -rf "$CTX"
fi
say "ready: $(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E '^(node:20-bookworm-slim|python:3.11-slim)$' | tr '\n' ' ')"
