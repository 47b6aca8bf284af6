"""devloop test world: a CLI over real Helm (PyPI helm-python-sdk, Helm v4 Go SDK).

Run through the `helm-oracle` wrapper next to this file, which execs the
oracle venv's python (created by tests/world/up). Every subcommand prints one
JSON document to stdout. On failure it prints {"error": "<Helm's message>",
"type": "<HelmError subclass>", "code": <helm_c code>} to stdout, the message to
stderr, and exits 1. Usage errors exit 2 (argparse).

Values are composed the way `helm template/install` composes them
(pkg/cli/values Options.MergeValues): --values files in order (parsed by Helm's
own YAML reader, deep-merged), then --set-json, --set, --set-string, --set-file,
--set-literal, each parsed by Helm's strvals parser. All expressions of one kind
are joined with "," and parsed as one expression, which is what sequential
strvals.ParseInto calls on one map amount to; --set-file and --set-literal are
parsed one by one and deep-merged.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import helm_python as helm


class OracleError(Exception):
    """An error worded by us (not by Helm)."""


# --------------------------------------------------------------------- values


def merge_maps(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Helm's pkg/cli/values mergeMaps: b wins, maps merge recursively."""
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_maps(out[k], v)
        else:
            out[k] = v
    return out


def _wrap(prefix: str, fn, expr: str) -> dict[str, Any]:
    try:
        return fn(expr)
    except helm.HelmError as e:
        raise type(e)(f"{prefix}: {e}", code=getattr(e, "code", None)) from e


def build_values(args: argparse.Namespace) -> dict[str, Any]:
    base: dict[str, Any] = {}
    for path in getattr(args, "values", None) or []:
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as e:
            raise OracleError(f"open {path}: {e.strerror.lower() if e.strerror else e}") from e
        try:
            current = helm.values_from_yaml(text) if text.strip() else {}
        except helm.HelmError as e:
            raise type(e)(f"failed to parse {path}: {e}", code=getattr(e, "code", None)) from e
        base = merge_maps(base, current or {})
    joined = [
        ("set_json", "failed parsing --set-json data", helm.parse_set_json),
        ("set", "failed parsing --set data", helm.parse_set_string),
        ("set_string", "failed parsing --set-string data", helm.parse_set_string_values),
    ]
    for attr, prefix, fn in joined:
        exprs = getattr(args, attr, None) or []
        if exprs:
            base = merge_maps(base, _wrap(prefix, fn, ",".join(exprs)))
    one_by_one = [
        ("set_file", "failed parsing --set-file data", helm.parse_set_file),
        ("set_literal", "failed parsing --set-literal data", helm.parse_set_literal),
    ]
    for attr, prefix, fn in one_by_one:
        for expr in getattr(args, attr, None) or []:
            base = merge_maps(base, _wrap(prefix, fn, expr))
    return base


def add_value_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--values", action="append", metavar="FILE", default=[])
    p.add_argument("--set", action="append", metavar="K=V", default=[])
    p.add_argument("--set-string", action="append", metavar="K=V", default=[])
    p.add_argument("--set-json", action="append", metavar="K=JSON", default=[])
    p.add_argument("--set-file", action="append", metavar="K=PATH", default=[])
    p.add_argument("--set-literal", action="append", metavar="K=V", default=[])


def add_cluster_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kubeconfig", metavar="PATH")
    p.add_argument("--kube-context", metavar="NAME")
    p.add_argument("-n", "--namespace", default="default")


def config_for(args: argparse.Namespace) -> helm.Config:
    return helm.Config(
        kubeconfig_path=args.kubeconfig,
        kube_context=args.kube_context,
        namespace=args.namespace,
    )


# ---------------------------------------------------------------- subcommands


def cmd_render(args: argparse.Namespace) -> Any:
    values = build_values(args)
    with helm.Chart.load(args.chart) as chart:
        manifests = chart.render(
            values,
            name=args.name,
            namespace=args.namespace,
            revision=1,
            is_install=True,
            is_upgrade=False,
        )
    return {"manifests": manifests}


def cmd_template(args: argparse.Namespace) -> Any:
    """What `helm template` prints, in parts: the release manifest in Helm's
    install order and the notes (a client-only dry-run install), plus the raw
    render (hooks included) with the capabilities asked for."""
    values = build_values(args)
    opts: dict[str, Any] = {}
    if args.kube_version:
        opts["kube_version"] = args.kube_version
    if args.api_versions:
        opts["api_versions"] = args.api_versions
    out: dict[str, Any] = {}
    with helm.Chart.load(args.chart) as chart:
        raw = helm._native.call_string(
            "helm_render",
            chart._raw(),
            json.dumps(values),
            json.dumps({"name": args.name, "namespace": args.namespace, "revision": 1,
                        "is_install": True, "is_upgrade": False, **opts}),
        )
        out["manifests"] = json.loads(raw)
    with helm.Config(kubeconfig_path=os.devnull, namespace=args.namespace) as cfg:
        rel = cfg.install(args.chart, args.name, values or None, namespace=args.namespace, dry_run="client")
    out["manifest"] = rel.get("manifest", "")
    out["notes"] = rel.get("notes", "")
    return out


def cmd_lint(args: argparse.Namespace) -> Any:
    values = build_values(args)
    report = helm.lint(
        args.chart,
        values or None,
        strict=True if args.strict else None,
        namespace=args.namespace,
        with_subcharts=True if args.with_subcharts else None,
        kube_version=args.kube_version,
    )
    buckets: dict[int, list[str]] = {1: [], 2: [], 3: []}
    for m in report.get("messages") or []:
        sev = int(m.get("severity", 0))
        text = f"{m.get('path', '')}: {m.get('error', '')}"
        buckets.setdefault(sev, []).append(text)
    raw_errors = {m.get("error") for m in report.get("messages") or [] if int(m.get("severity", 0)) == 3}
    errors = buckets[3] + [e for e in report.get("errors") or [] if e not in raw_errors]
    ok = not errors and not (args.strict and buckets[2])
    return {
        "errors": errors,
        "warnings": buckets[2],
        "info": buckets[1],
        "ok": ok,
        "messages": report.get("messages") or [],
        "total_charts_linted": report.get("total_charts_linted"),
    }


def cmd_create(args: argparse.Namespace) -> Any:
    os.makedirs(args.dir, exist_ok=True)
    with helm.Chart.create(args.name, args.dir) as chart:
        meta = chart.metadata
    return {"path": os.path.abspath(os.path.join(args.dir, args.name)), "metadata": meta}


def cmd_parse_set(args: argparse.Namespace) -> Any:
    return build_values(args)


def cmd_install(args: argparse.Namespace) -> Any:
    values = build_values(args)
    with config_for(args) as cfg:
        return cfg.install(
            args.chart,
            args.release,
            values or None,
            namespace=args.namespace,
            timeout=args.timeout,
            wait=args.wait,
            dry_run=args.dry_run,
            create_namespace=args.create_namespace,
            description=args.description,
        )


def cmd_upgrade(args: argparse.Namespace) -> Any:
    values = build_values(args)
    with config_for(args) as cfg:
        if args.install:
            try:
                cfg.history(args.release, max_revisions=1)
            except helm.HelmNotFoundError:
                return cfg.install(
                    args.chart,
                    args.release,
                    values or None,
                    namespace=args.namespace,
                    timeout=args.timeout,
                    wait=args.wait,
                    dry_run=args.dry_run,
                    create_namespace=args.create_namespace,
                    description=args.description,
                )
        return cfg.upgrade(
            args.chart,
            args.release,
            values or None,
            namespace=args.namespace,
            timeout=args.timeout,
            wait=args.wait,
            dry_run=args.dry_run,
            reset_values=args.reset_values,
            reuse_values=args.reuse_values,
            max_history=args.history_max,
            description=args.description,
        )


def cmd_history(args: argparse.Namespace) -> Any:
    with config_for(args) as cfg:
        return cfg.history(args.release, max_revisions=args.max)


def cmd_status(args: argparse.Namespace) -> Any:
    with config_for(args) as cfg:
        return cfg.status(args.release, revision=args.revision)


def cmd_list(args: argparse.Namespace) -> Any:
    with config_for(args) as cfg:
        return cfg.list(all_states=args.all, all_namespaces=args.all_namespaces)


def cmd_get_values(args: argparse.Namespace) -> Any:
    with config_for(args) as cfg:
        return cfg.get_values(args.release, all_values=args.all, revision=args.revision)


def cmd_rollback(args: argparse.Namespace) -> Any:
    with config_for(args) as cfg:
        cfg.rollback(args.release, version=args.revision, timeout=args.timeout, wait=args.wait)
        history = cfg.history(args.release)
    return {"rolled_back": True, "release": args.release, "to_revision": args.revision, "history": history}


def cmd_uninstall(args: argparse.Namespace) -> Any:
    with config_for(args) as cfg:
        return cfg.uninstall(
            args.release,
            keep_history=args.keep_history,
            timeout=args.timeout,
            ignore_not_found=args.ignore_not_found,
            wait=args.wait,
        )


def cmd_version(args: argparse.Namespace) -> Any:
    return {
        "helm_python": helm.__version__,
        "helm_c": helm.helm_c_version(),
        "helm_sdk": helm.helm_sdk_version(),
        "library": str(helm.library_path),
    }


# ----------------------------------------------------------------------- main


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="helm-oracle", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("render", help="offline render (helm template)")
    p.add_argument("chart", metavar="CHART_DIR")
    add_value_flags(p)
    p.add_argument("--name", default="release-name")
    p.add_argument("-n", "--namespace", default="default")
    p.set_defaults(fn=cmd_render)

    p = sub.add_parser("template", help="helm template: ordered manifest, notes, raw render")
    p.add_argument("chart", metavar="CHART_DIR")
    add_value_flags(p)
    p.add_argument("--name", default="release-name")
    p.add_argument("-n", "--namespace", default="default")
    p.add_argument("--kube-version")
    p.add_argument("-a", "--api-versions", action="append", default=[])
    p.set_defaults(fn=cmd_template)

    p = sub.add_parser("lint", help="helm lint")
    p.add_argument("chart", metavar="CHART_DIR")
    add_value_flags(p)
    p.add_argument("--strict", action="store_true")
    p.add_argument("--with-subcharts", action="store_true")
    p.add_argument("-n", "--namespace")
    p.add_argument("--kube-version")
    p.set_defaults(fn=cmd_lint)

    p = sub.add_parser("create", help="helm create NAME in DIR")
    p.add_argument("name", metavar="NAME")
    p.add_argument("dir", metavar="DIR")
    p.set_defaults(fn=cmd_create)

    p = sub.add_parser("parse-set", help="the user values Helm builds from value flags")
    add_value_flags(p)
    p.set_defaults(fn=cmd_parse_set)

    def release_cmd(name: str, fn, chart: bool, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.add_argument("release", metavar="RELEASE")
        if chart:
            p.add_argument("chart", metavar="CHART")
        add_cluster_flags(p)
        p.set_defaults(fn=fn)
        return p

    for name, fn in (("install", cmd_install), ("upgrade", cmd_upgrade)):
        p = release_cmd(name, fn, True, f"helm {name} RELEASE CHART")
        add_value_flags(p)
        p.add_argument("--timeout", type=int, metavar="SECONDS")
        p.add_argument("--wait", choices=["watcher", "legacy", "hookOnly"])
        p.add_argument("--dry-run", choices=["client", "server", "none"])
        p.add_argument("--create-namespace", action="store_true")
        p.add_argument("--description")
        if name == "upgrade":
            p.add_argument("-i", "--install", action="store_true")
            p.add_argument("--reset-values", action="store_true")
            p.add_argument("--reuse-values", action="store_true")
            p.add_argument("--history-max", type=int)

    p = release_cmd("history", cmd_history, False, "helm history RELEASE")
    p.add_argument("--max", type=int)
    p = release_cmd("status", cmd_status, False, "helm status RELEASE")
    p.add_argument("--revision", type=int)
    p = release_cmd("get-values", cmd_get_values, False, "helm get values RELEASE")
    p.add_argument("--all", action="store_true")
    p.add_argument("--revision", type=int)
    p = release_cmd("rollback", cmd_rollback, False, "helm rollback RELEASE [REVISION]")
    p.add_argument("revision", metavar="REVISION", type=int, nargs="?")
    p.add_argument("--timeout", type=int, metavar="SECONDS")
    p.add_argument("--wait", choices=["watcher", "legacy", "hookOnly"])
    p = release_cmd("uninstall", cmd_uninstall, False, "helm uninstall RELEASE")
    p.add_argument("--keep-history", action="store_true")
    p.add_argument("--ignore-not-found", action="store_true")
    p.add_argument("--timeout", type=int, metavar="SECONDS")
    p.add_argument("--wait", choices=["watcher", "legacy", "hookOnly"])

    p = sub.add_parser("list", help="helm list")
    add_cluster_flags(p)
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("-A", "--all-namespaces", action="store_true")
    p.set_defaults(fn=cmd_list)

    p = sub.add_parser("version", help="versions of the binding and Helm SDK")
    p.set_defaults(fn=cmd_version)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        result = args.fn(args)
    except helm.HelmError as e:
        msg = str(e)
        json.dump({"error": msg, "type": type(e).__name__, "code": getattr(e, "code", None)}, sys.stdout)
        sys.stdout.write("\n")
        print(f"Error: {msg}", file=sys.stderr)
        return 1
    except OracleError as e:
        json.dump({"error": str(e), "type": "OracleError", "code": None}, sys.stdout)
        sys.stdout.write("\n")
        print(f"Error: {e}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `helm-oracle ... | head` stays quiet
    sys.exit(main())
