"""The gate against a deployment it did not boot: the reference stack as an external target.

``python -m bench.external_target`` boots the reference stack (nginx in front where installed,
Prometheus scraping the API processes, Alertmanager), then runs ``pytest -m preflight
--target URL --ca-file CA --allow-destructive`` against it with nothing but what a release
manager of a real deployment would give the suite: the keys, the Prometheus and Alertmanager
URLs, and (``--access operator``, the default) the operator's tools as settings: a log command,
fault hooks (provider, workers, arXiv, a web site), webhook secrets, the GPU metrics URL, the
deployment time, the configuration backup and the user-issue tracker. ``--access keys`` gives the
keys and monitoring URLs only (the run issue 11 started from); ``--access stack`` runs the same
gate through ``--stack stack.json`` instead, for comparison.

Each run boots its own stack (the destructive checks change it) and stops it afterwards. The
summary lists every item that did not pass with its reason, so the not_verified ones name the
setting that would verify them. Settings travel in the child's environment only; the command
line shown and the summary carry no secret.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import IO, Any

import httpx

from service.stack.environment import build_commit
from service.stack.info import StackInfo
from service.waiting import poll_until

ACCESS_LEVELS = ("operator", "keys", "stack")


def _ready(stack_json: Path) -> bool:
    """The stack wrote its file, its monitoring is up, and the public URL answers ready."""
    if not stack_json.exists():
        return False
    info = StackInfo.load(stack_json)
    if not info.monitoring.prometheus_url:
        return False
    try:
        response = httpx.get(f"{info.url}/health/ready", verify=str(info.ca_file), timeout=2)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def _operator_settings(info: StackInfo) -> dict[str, str]:
    """What an operator would configure for a real deployment, pointed at the stack's tools.

    Each value is something a deployment has its own form of: the log command would be
    ``kubectl logs --since-time={since}``, the worker hook ``kubectl scale``, the provider hook a
    call to the provider's admin API; here they are the stack's log files read through a command
    and its emulators' admin routes.
    """
    py, stack_json, emulators = sys.executable, info.stack_json, info.emulators
    control = f"{shlex.quote(py)} -m service.stack.control --stack {shlex.quote(str(stack_json))}"
    fault = {"status": "{status}", "retry_after_s": "{retry_after_s}", "count": "{count}"}
    settings = {
        "PREFLIGHT_LOGS__COMMAND": (
            f"{shlex.quote(py)} -m service.stack.log_window --dir "
            f"{shlex.quote(str(info.dir / 'logs'))} --since {{since}} --until {{until}}"
        ),
        "PREFLIGHT_FAULTS__PROVIDER_DOWN__URL": f"{emulators['vllm']['admin_url']}/config",
        "PREFLIGHT_FAULTS__PROVIDER_DOWN__BODY": json.dumps({"outage": "refuse"}),
        "PREFLIGHT_FAULTS__PROVIDER_UP__URL": f"{emulators['vllm']['admin_url']}/config",
        "PREFLIGHT_FAULTS__PROVIDER_UP__BODY": json.dumps({"outage": "none"}),
        "PREFLIGHT_FAULTS__WORKERS_DOWN__COMMAND": f"{control} workers down",
        "PREFLIGHT_FAULTS__WORKERS_UP__COMMAND": f"{control} workers up",
        "PREFLIGHT_FAULTS__START_WITHOUT_SECRETS__COMMAND": (
            f"{control} start-without-secrets --timeout 30"
        ),
        "PREFLIGHT_FAULTS__ARXIV_DOWN__URL": f"{emulators['arxiv']['admin_url']}/faults",
        "PREFLIGHT_FAULTS__ARXIV_DOWN__BODY": json.dumps(fault),
        "PREFLIGHT_FAULTS__ARXIV_UP__URL": f"{emulators['arxiv']['admin_url']}/faults",
        "PREFLIGHT_FAULTS__ARXIV_UP__METHOD": "DELETE",
        "PREFLIGHT_FAULTS__SITE_DOWN__URL": f"{emulators['robots']['admin_url']}/faults",
        "PREFLIGHT_FAULTS__SITE_DOWN__BODY": json.dumps(fault | {"path_prefix": "{path_prefix}"}),
        "PREFLIGHT_FAULTS__SITE_UP__URL": f"{emulators['robots']['admin_url']}/faults",
        "PREFLIGHT_FAULTS__SITE_UP__METHOD": "DELETE",
        "PREFLIGHT_INGESTION__ROBOTS_SITE_URL": emulators["robots"]["url"],
        "PREFLIGHT_INGESTION__EGRESS_REDIRECT_URL": (
            f"{emulators['robots']['url']}/redirect?to={{url}}"
        ),
        "PREFLIGHT_INGESTION__WEBHOOK_SECRETS__GITHUB": info.webhook_secrets["github"],
        "PREFLIGHT_INGESTION__WEBHOOK_SECRETS__HUGGINGFACE": info.webhook_secrets["huggingface"],
        "PREFLIGHT_GPU_METRICS_URLS": json.dumps([f"{emulators['vllm']['url']}/metrics"]),
        "PREFLIGHT_POSTDEPLOY__DEPLOYED_AT": info.started_at or "",
        "PREFLIGHT_RELEASE__CONFIG_SNAPSHOT": str(info.config_snapshot or ""),
        "PREFLIGHT_OPS__USER_ISSUES_REPO": emulators["github"]["repo"],
        "PREFLIGHT_OPS__USER_ISSUES_API": emulators["github"]["url"],
        "PREFLIGHT_EXPECTED_COMMIT": build_commit(),
    }
    return settings


def _gate_environment(info: StackInfo, access: str) -> dict[str, str]:
    """The child's environment: ours without any PREFLIGHT_ setting, plus the access given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFLIGHT_")}
    if access == "stack":
        return env
    env |= {
        "PREFLIGHT_API_KEY": info.keys.api,
        "PREFLIGHT_API_KEY_2": info.keys.api_2,
        "PREFLIGHT_ADMIN_KEY": info.keys.admin,
        "PREFLIGHT_POSTDEPLOY__PROMETHEUS_URL": info.monitoring.prometheus_url or "",
        "PREFLIGHT_POSTDEPLOY__ALERTMANAGER_URL": info.monitoring.alertmanager_url or "",
    }
    if access == "operator":
        env |= _operator_settings(info)
    return env


def _boot(stack_dir: Path, log: IO[bytes], timeout_s: float) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.stack", "--dir", str(stack_dir)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        poll_until(
            lambda: _ready(stack_dir / "stack.json"),
            timeout=timeout_s,
            interval=0.5,
            message=f"the reference stack in {stack_dir} to answer ready",
            abort=lambda: None if proc.poll() is None else f"the stack exited {proc.returncode}",
        )
    except BaseException:
        _stop(proc, 60)
        raise
    return proc


def _stop(proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # the supervisor's orderly shutdown
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def summarise(checklist: dict[str, Any]) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Counts per verdict, and each item that did not pass with its reason."""
    items: list[dict[str, Any]] = checklist["items"]
    counts = dict(Counter(str(item["verdict"]) for item in items))
    others = [
        {"id": item["id"], "verdict": item["verdict"], "reason": item.get("reason")}
        for item in items
        if item["verdict"] != "pass"
    ]
    return counts, others


def run(
    access: str, out: Path, extra: list[str], boot_timeout_s: float, gate_timeout_s: float
) -> int:
    """One boot, one gate run, one stop; the summary printed and written to out/summary.json."""
    out.mkdir(parents=True, exist_ok=True)
    stack_dir = out / "stack"
    with (out / "stack.out").open("wb") as stack_log:
        proc = _boot(stack_dir, stack_log, boot_timeout_s)
    try:
        info = StackInfo.load(stack_dir / "stack.json")
        where = [f"--stack={info.stack_json}"]
        if access != "stack":
            where = [f"--target={info.url}", f"--ca-file={info.ca_file}"]
        argv = ["-m", "preflight", "-p", "no:cacheprovider", *where, "--allow-destructive"]
        argv += [f"--report-dir={out / 'report'}", *extra]
        print("pytest", shlex.join(argv), f"(access: {access})", flush=True)
        started = time.monotonic()
        with (out / "pytest.out").open("wb") as log:
            result = subprocess.run(
                [sys.executable, "-m", "pytest", *argv],
                env=_gate_environment(info, access),
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=gate_timeout_s,
                check=False,
            )
        wall_s = time.monotonic() - started
    finally:
        _stop(proc, 60)
    checklist = json.loads((out / "report" / "checklist.json").read_text(encoding="utf-8"))
    counts, others = summarise(checklist)
    summary = {"access": access, "verdict": checklist["verdict"], "counts": counts}
    summary |= {"exit": result.returncode, "wall_s": round(wall_s, 1), "others": others}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    shown = ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items()))
    print(f"{checklist['verdict']} ({shown}), exit {result.returncode}, {wall_s:.0f} s")
    for item in others:
        print(f"  {item['verdict']:<19} {item['id']}: {item['reason'] or ''}")
    return result.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.external_target",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Arguments after -- pass to pytest (e.g. -- --checklist-id logging.structured).",
    )
    parser.add_argument(
        "--access",
        choices=ACCESS_LEVELS,
        nargs="+",
        default=["operator"],
        help="what the suite is given: operator (keys, monitoring, log command, fault hooks...), "
        "keys (keys and monitoring URLs only), stack (--stack stack.json). Several: one run each. "
        "Default: operator",
    )
    parser.add_argument("--out", type=Path, default=None, help="default: a new temporary directory")
    parser.add_argument("--boot-timeout", type=float, default=180.0, help="seconds (default: 180)")
    parser.add_argument("--gate-timeout", type=float, default=900.0, help="seconds (default: 900)")
    args, extra = parser.parse_known_args(argv)
    extra = [a for a in extra if a != "--"]
    out = args.out or Path(tempfile.mkdtemp(prefix="preflight-external-"))
    codes = [
        run(access, out / access, extra, args.boot_timeout, args.gate_timeout)
        for access in args.access
    ]
    print(f"reports in {out}")
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
