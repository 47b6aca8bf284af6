#!/usr/bin/env bash
# Times rendering `helm create`'s chart with devloop's own Helm renderer.
# Two figures:
#   1. in-process: chart load once, then values + render per iteration (the
#      integration test `template_render_of_the_helm_create_chart_timing`,
#      which prints its mean; test builds are debug builds);
#   2. whole command: `devloop template --chart` (process start, load,
#      values, render, print), mean over RUNS runs of BINARY.
#
# usage: tests/bench/template.sh [BINARY]   (default: target/debug/devloop)
# Needs the test world (tests/world/up) for the oracle's `create`.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-target/debug/devloop}
runs=${RUNS:-50}
[ -x "$bin" ] || { echo "no binary at $bin; run cargo build" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tests/world/helm-oracle create mychart "$work" >/dev/null
cargo nextest run -E 'test(template_render_of_the_helm_create_chart_timing)' --no-capture 2>&1 \
    | grep -E '^timing:' >&2
"$bin" template --chart "$work/mychart" >/dev/null
start=$(date +%s%N)
for _ in $(seq "$runs"); do
    "$bin" template --chart "$work/mychart" >/dev/null
done
end=$(date +%s%N)
awk -v ns=$((end - start)) -v n="$runs" -v b="$bin" \
    'BEGIN { printf "timing: `%s template --chart` (helm create chart), whole command: %.2f ms per run (mean of %d)\n", b, ns / n / 1e6, n }' >&2
