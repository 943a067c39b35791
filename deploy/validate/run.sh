#!/usr/bin/env bash
# Validates deploy/k8s, docker-compose.yml and deploy/ha/docker-compose.yml (see validate.mjs).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node validate.mjs
