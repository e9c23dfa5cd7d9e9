#!/usr/bin/env bash
# Browser tests drive Debian's Chromium through Playwright (never `playwright install`).
# Installs it where apt-get can; otherwise the browser tests skip and say why.
set -uo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "Installing Debian's chromium for the browser tests ..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null \
    || echo "WARNING: could not install chromium; browser tests will be skipped." >&2
else
  echo "NOTE: /usr/bin/chromium is missing and cannot be installed here; browser tests will be skipped." >&2
fi
exit 0
