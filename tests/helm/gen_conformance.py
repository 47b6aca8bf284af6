#!/usr/bin/env python3
"""Builds devloop's Go-template conformance table from real Helm.

Reads tests/data/gotemplate/cases.toml (name, template, optional values),
renders every case with the Helm oracle (tests/world/helm-oracle) as a
template of a one-chart `conf` (templates/<name>.yaml), and writes
tests/data/gotemplate/expected.json: one entry per case with Helm's output
or Helm's error message. Cases that render cleanly go through Helm in one
chart (one oracle call); a case that errors (by convention named *-error;
others that fail are found and moved), uses define/block (template names
are global to a chart) or has its own values is rendered on its own.

    python3 tests/helm/gen_conformance.py           # regenerate expected.json
    python3 tests/helm/gen_conformance.py --check   # re-run Helm; fail if expected.json differs
    python3 tests/helm/gen_conformance.py --data helmfuncs [--check]
                                # another table: tests/data/helmfuncs (Helm's function library)

When the oracle's venv exists (tests/world/up makes it) the script re-runs
itself with that python and calls tests/world/helm_oracle.py's own `main` in
process; otherwise it runs tests/world/helm-oracle once per chart.

Values: each case's `values` table (or `values_json`, for values with
nulls, which TOML lacks) is merged over DEFAULT_VALUES and written
as the chart's values.yaml (JSON is YAML), so every number reaches the
template as a float64, as any value from YAML does in Helm.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "gotemplate"
if "--data" in sys.argv[1:]:
    DATA = ROOT / "tests" / "data" / sys.argv[sys.argv.index("--data") + 1]
CHART = "conf"

DEFAULT_VALUES = {
    "str": "hello",
    "empty": "",
    "int": 3,
    "zero": 0,
    "float": 1.5,
    "big": 1000000,
    "neg": -2,
    "t": True,
    "f": False,
    "list": [1, 2, 3],
    "strs": ["a", "b", "c"],
    "emptylist": [],
    "mixed": [1, "a", True, None, 2.5],
    "map": {"b": 2, "a": 1, "c": 3},
    "emptymap": {},
    "nested": {"a": {"b": {"c": "deep"}}},
    "null": None,
    "tiny": 0.00001,
    "huge": 1e21,
    "pi": 3.14159,
    "name": "World",
}


def world_dir() -> Path:
    env = os.environ.get("DEVLOOP_WORLD_DIR")
    if env:
        return Path(env)
    world = ROOT / "target" / "world.env"
    if world.exists():
        for line in world.read_text().splitlines():
            if line.startswith("DEVLOOP_WORLD_DIR="):
                return Path(line.split("=", 1)[1].strip())
    return Path("/var/tmp/devloop-world")


def in_process_oracle():
    """tests/world/helm_oracle.py itself, when this python can import it.

    Run under the oracle venv's python, the oracle's own `main` renders in
    this process: ~5 ms a case instead of ~280 ms for a new process (Go
    runtime start-up). Same code, same output; None otherwise.
    """
    sys.path.insert(0, str(ROOT / "tests" / "world"))
    try:
        import helm_oracle  # only importable under the venv
    except ImportError:
        return None
    return helm_oracle


ORACLE_MODULE = None


def oracle() -> str:
    env = os.environ.get("DEVLOOP_WORLD_HELM")
    if env:
        return env
    world = ROOT / "target" / "world.env"
    if world.exists():
        for line in world.read_text().splitlines():
            if line.startswith("DEVLOOP_WORLD_HELM="):
                return line.split("=", 1)[1].strip()
    return str(ROOT / "tests" / "world" / "helm-oracle")


def load_cases() -> list[dict]:
    with open(DATA / "cases.toml", "rb") as fh:
        cases = tomllib.load(fh)["case"]
    seen = set()
    for c in cases:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", c["name"]):
            sys.exit(f"bad case name {c['name']!r}: use [a-z0-9-]")
        if c["name"] in seen:
            sys.exit(f"duplicate case name {c['name']!r}")
        seen.add(c["name"])
    return cases


def values_of(case: dict) -> dict:
    own = json.loads(case["values_json"]) if "values_json" in case else case.get("values", {})
    return {**DEFAULT_VALUES, **own}


def render(cases: list[dict], values: dict) -> dict:
    """Renders `cases` as templates of one chart; returns the oracle's JSON."""
    with tempfile.TemporaryDirectory(prefix="devloop-conf-") as tmp:
        chart = Path(tmp) / CHART
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: {CHART}\nversion: 0.1.0\n")
        (chart / "values.yaml").write_text(json.dumps(values))
        for c in cases:
            (chart / "templates" / f"{c['name']}.yaml").write_text(c["template"])
        if ORACLE_MODULE is not None:
            stdout = io.StringIO()
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
                ORACLE_MODULE.main(["render", str(chart)])
            return json.loads(stdout.getvalue())
        out = subprocess.run([oracle(), "render", str(chart)], capture_output=True, text=True)
        try:
            return json.loads(out.stdout)
        except json.JSONDecodeError:
            sys.exit(f"helm-oracle failed: {out.stderr}")


def template_name(case: dict) -> str:
    return f"{CHART}/templates/{case['name']}.yaml"


def generate() -> list[dict]:
    cases = load_cases()
    results: dict[str, dict] = {}
    alone = [c for c in cases if "values" in c or "values_json" in c or c["name"].endswith("-error") or re.search(r"\{\{-?\s*(define|block)\b", c["template"])]
    batch = [c for c in cases if c not in alone]
    while batch:
        got = render(batch, DEFAULT_VALUES)
        if "manifests" in got:
            for c in batch:
                results[c["name"]] = {"output": got["manifests"][template_name(c)]}
            break
        names = re.findall(rf"{CHART}/templates/([a-z0-9-]+)\.yaml", got["error"])
        failing = [c for c in batch if c["name"] in names[:1]]
        if not failing:
            sys.exit(f"cannot tell which case failed: {got['error']}")
        alone += failing
        batch = [c for c in batch if c not in failing]
    # Out of process, most of an oracle run is start-up, so a few run at once.
    with ThreadPoolExecutor(max_workers=1 if ORACLE_MODULE else 4) as pool:
        for c, got in zip(alone, pool.map(lambda c: render([c], values_of(c)), alone)):
            if "manifests" in got:
                results[c["name"]] = {"output": got["manifests"][template_name(c)]}
            else:
                results[c["name"]] = {"error": got["error"]}
    table = []
    for c in cases:
        entry = {"name": c["name"], "template": c["template"], "values": values_of(c)}
        entry.update(results[c["name"]])
        table.append(entry)
    return table


def main() -> int:
    global ORACLE_MODULE
    ORACLE_MODULE = in_process_oracle()
    venv_python = world_dir() / "helm-oracle-venv" / "bin" / "python"
    if ORACLE_MODULE is None and venv_python.exists() and not os.environ.get("DEVLOOP_CONF_REEXEC"):
        # Re-run under the oracle's venv to render in process (see above).
        os.environ["DEVLOOP_CONF_REEXEC"] = "1"
        os.execv(str(venv_python), [str(venv_python), __file__, *sys.argv[1:]])
    table = generate()
    text = json.dumps(table, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    path = DATA / "expected.json"
    if "--check" in sys.argv[1:]:
        old = path.read_text() if path.exists() else ""
        if old != text:
            new = {e["name"]: e for e in table}
            for e in json.loads(old or "[]"):
                if new.get(e["name"]) != e:
                    print(f"differs from Helm: {e['name']}: stored {e} / Helm {new.get(e['name'])}")
            print(f"{path} is not what Helm renders; run {sys.argv[0]} to regenerate", file=sys.stderr)
            return 1
        print(f"ok: {len(table)} cases match Helm")
        return 0
    path.write_text(text)
    errors = sum(1 for e in table if "error" in e)
    print(f"wrote {path}: {len(table)} cases ({errors} errors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
