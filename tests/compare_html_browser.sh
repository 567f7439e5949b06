#!/usr/bin/env bash
# The compare HTML page in a real browser (issue 14 #11): headless Chromium lays out the page of
# a failing compare (fixtures/compare/modelopt-nvfp4-broken, errors from 4% to 8.13e10%), a probe
# script measures what it shows after layout (legend values, heatmap numbers and column order,
# histogram counts and axes, the per-layer table, the module list sorted by clicks, the page's
# width), and a screenshot is taken. Skipped (exit 77) only when no Chromium is installed; CI
# installs the Debian package `chromium` (scripts/test.sh).
# Usage: compare_html_browser.sh CKPTDOCTOR [OUT_DIR]   (OUT_DIR keeps page.png and the DOM)
set -euo pipefail
bin=$1
src=$(cd "$(dirname "$0")/.." && pwd)
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "SKIPPED: no Chromium here (install the Debian package chromium); the page was not looked at"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=${2:-$tmp}
mkdir -p "$out"
cmp=$src/fixtures/compare
rc=0
"$bin" compare "$cmp/modelopt-nvfp4-broken" --source "$cmp/source" --html "$out/compare.html" >/dev/null || rc=$?
[ "$rc" = 1 ] || { echo "compare exited $rc, expected 1 (the broken modules fail)"; exit 1; }
python3 "$src/tests/compare_html_check.py" probe "$out/compare.html" "$out/probe.html"
# Its own profile directory, so concurrent runs do not share one; no sandbox (tests run as root
# in containers), no GPU.
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$tmp/profile"
       --window-size=1400,1800)
timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$out/probe.html" >"$out/dom.html" 2>"$tmp/chromium.log" ||
  { tail -n 20 "$tmp/chromium.log"; exit 1; }
timeout 120 "$browser" "${flags[@]}" --screenshot="$out/page.png" "file://$out/compare.html" >/dev/null 2>>"$tmp/chromium.log" ||
  { tail -n 20 "$tmp/chromium.log"; exit 1; }
python3 "$src/tests/compare_html_check.py" check "$out/dom.html" "$out/page.png"
