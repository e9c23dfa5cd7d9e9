#!/usr/bin/env bash
# Browser tests drive Debian's Chromium through Playwright (never `playwright install`),
# with a CJK font so screenshots show Chinese, not boxes. Installs both where apt-get can;
# otherwise the browser tests skip and say why.
set -uo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
if ! fc-list 2>/dev/null | grep -qiE "wqy|noto (sans|serif) cjk"; then missing+=(fonts-wqy-microhei); fi
[ ${#missing[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "Installing ${missing[*]} for the browser tests ..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || echo "WARNING: could not install ${missing[*]}; browser tests may be skipped." >&2
else
  echo "NOTE: ${missing[*]} missing and cannot be installed here; browser tests may be skipped." >&2
fi
exit 0
