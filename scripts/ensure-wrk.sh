#!/usr/bin/env bash
# The page benchmarks load the server with wrk (Debian's package); without it they fall
# back to a Python thread client, which competes with the server for the same cores.
set -uo pipefail
command -v wrk >/dev/null && exit 0
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "Installing wrk for the page benchmarks ..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null \
    || echo "WARNING: could not install wrk; the benchmarks use a Python client." >&2
else
  echo "NOTE: wrk missing and cannot be installed here; the benchmarks use a Python client." >&2
fi
exit 0
