#!/usr/bin/env bash
# A real browser for the report.html test. Idempotent; a failure only makes that test skip.
set -u
command -v chromium >/dev/null 2>&1 && exit 0
if command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
    || { timeout 300 apt-get update >/dev/null 2>&1 && timeout 600 apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; } \
    || echo "could not install chromium: the browser test will skip"
fi
exit 0
