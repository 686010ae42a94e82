#!/usr/bin/env bash
# Renders a run's report.html in headless Chromium (Debian's `chromium`
# package: apt-get install chromium) and writes a full-page PNG, so the
# report is checked in a real browser, not only parsed.
#
#   report/browser/screenshot.sh data/work/reports/<run-id>/report.html out.png [height]
#
# Offline: Chromium's background networking is off and the page loads
# nothing from outside (the report embeds its plots and draws its DAG
# inline, with no script).
set -euo pipefail
page=${1:?report.html}
out=${2:?out.png}
height=${3:-6000}
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chrome" ]; then
	echo "screenshot.sh: chromium not found (apt-get install chromium)" >&2
	exit 2
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--user-data-dir="$profile" --hide-scrollbars --window-size=1280,"$height" \
	--screenshot="$(realpath -m "$out")" "file://$(realpath "$page")" 2>/dev/null
echo "wrote $out"
