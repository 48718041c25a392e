#!/usr/bin/env bash
# Render a run's index.html (or reports/index.html) to a PNG with headless
# Chromium, offline: every host name resolves to nothing, so a chart that
# needed the network would come out blank.
#
#   scripts/render-report.sh [RUN_DIR | HTML_FILE] [OUT.png]
#
# Default input: the newest run folder under ${HARNESS_REPORTS_DIR:-reports}.
# Default output: <folder>/index.png. Installs Debian's chromium when missing.
set -euo pipefail

root="${HARNESS_REPORTS_DIR:-reports}"
target="${1:-}"
if [[ -z "$target" ]]; then
    target="$(ls -1d "$root"/*/ 2>/dev/null | sort | tail -n 1 || true)"
    [[ -n "$target" ]] || { echo "no run folder under $root: run a harness command first, or give a folder" >&2; exit 4; }
fi
if [[ -d "$target" ]]; then
    html="${target%/}/index.html"
else
    html="$target"
fi
[[ -f "$html" ]] || { echo "$html does not exist: give a run folder or an HTML file" >&2; exit 4; }
out="${2:-$(dirname "$html")/$(basename "$html" .html).png}"

browser="$(command -v chromium || command -v chromium-browser || true)"
if [[ -z "$browser" ]]; then
    echo "installing Debian's chromium (headless rendering)..." >&2
    if [[ "$(id -u)" -ne 0 ]]; then
        echo "chromium is missing and this is not root: apt-get install chromium" >&2
        exit 3
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
    browser="$(command -v chromium)"
fi

abs="$(cd "$(dirname "$html")" && pwd)/$(basename "$html")"
height="${RENDER_HEIGHT:-6000}"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
# --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$profile" \
    --host-resolver-rules="MAP * ~NOTFOUND" \
    --window-size="1200,$height" \
    --screenshot="$out" "file://$abs" >/dev/null 2>&1
[[ -s "$out" ]] || { echo "chromium wrote no image to $out" >&2; exit 1; }
echo "$out"
