#!/usr/bin/env bash
# Times `devloop init --dry-run` on a generated 10k-file monorepo
# (tests/bench/gen_repo.py), against a baseline measured in the same run:
# `rg --files`, a plain walk of the same tree by the `ignore` crate that
# devloop uses (honouring .gitignore, no reading, no scoring).
#
# usage: tests/bench/detect.sh [BINARY]   (default: target/release/devloop;
#        build it with `cargo build --release` first)
# Needs python3; uses hyperfine and rg when installed (apt-get install
# hyperfine ripgrep), else a plain loop over the binary only.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-target/release/devloop}
runs=${RUNS:-30}
[ -x "$bin" ] || { echo "no binary at $bin; run cargo build --release" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 tests/bench/gen_repo.py "$work/repo" 10000
"$bin" init --dry-run --path "$work/repo" 2>&1 | grep -E '^app |Detected' >&2

if command -v hyperfine >/dev/null; then
    cmds=()
    if command -v rg >/dev/null; then
        cmds+=("rg --files --hidden --glob '!.git' $work/repo")
    fi
    cmds+=("$bin init --dry-run --output json --path $work/repo")
    hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/times.json" "${cmds[@]}" >&2
    python3 - "$work/times.json" <<'PY'
import json, statistics, sys
for r in json.load(open(sys.argv[1]))["results"]:
    t = sorted(x * 1000 for x in r["times"])
    print(f"{r['command'].split(' /')[0]}: min {t[0]:.1f} ms, median {statistics.median(t):.1f} ms, max {t[-1]:.1f} ms ({len(t)} runs)")
PY
else
    times=()
    for _ in $(seq "$runs"); do
        s=$(date +%s%N)
        "$bin" init --dry-run --output json --path "$work/repo" >/dev/null
        times+=($(( ($(date +%s%N) - s) / 1000 )))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "devloop: min %.1f ms, median %.1f ms (%d runs)\n", a[1]/1000, a[int((NR+1)/2)]/1000, NR}'
fi
