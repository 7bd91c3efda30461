"""What the stack hands to the service: generated keys and the ``PLATFORM_*`` environment.

Keys are generated per stack (never checked in, never printed) and reach the service only
through its environment; ``stack.json`` (0600) is the one place a check can read them from.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from service.artefacts import source_checkout
from service.stack.info import StackKeys

KEY_IDS = StackKeys(api="ci", api_2="ci-2", admin="ops", revoked="old", rate_limit="ci-limit")
REPO_ROOT = Path(__file__).resolve().parents[2]
# Children run on the interpreter (and so the venv) of the process that boots the stack.
PYTHON = sys.executable
# The reference deployment's own policy, chosen so that the suite can exercise it in seconds:
# short rate-limit windows (a 429 resets quickly), queue limits small enough to fill, an
# in-flight limit a spike of ~100 users exceeds (the suite's own loads stay far below it), one
# allowed CORS origin, short schedule periods. Overrides given to the stack win over these.
REFERENCE_POLICY = {
    "PLATFORM_CORS_ALLOW_ORIGINS": json.dumps(["https://research.preflight.test"]),
    # Short windows: a spent budget resets quickly.
    "PLATFORM_RATE_LIMIT": "300 per 10 seconds",
    "PLATFORM_ADMIN_RATE_LIMIT": "1500 per 10 seconds",
    # The rate-limit probe key: spent with 21 requests, back within 2 s.
    "PLATFORM_RATE_LIMIT_OVERRIDES": json.dumps({KEY_IDS.rate_limit: "20 per 2 seconds"}),
    # Small enough to fill.
    "PLATFORM_QUEUE_MAX_LENGTH": json.dumps({"hot": 200, "backfill": 2000}),
    # A slow-header connection is closed after 2 s (opsec.dos waits for it).
    "PLATFORM_HTTP_HEADER_TIMEOUT_S": "2",
    # A spike of ~100 users exceeds it; the suite's own loads stay far below it.
    "PLATFORM_MAX_IN_FLIGHT": "32",
    # Scheduled jobs run at boot and then every minute, so a run of a minute or two sees several.
    "PLATFORM_BACKUP_PERIOD_S": "60",
    "PLATFORM_RETENTION_PURGE_PERIOD_S": "60",
    "PLATFORM_SCHEDULER_TICK_S": "0.5",
    "PLATFORM_SCHEDULER_RETRY_S": "5",
    # The dead-letter check waits out every attempt: 0.2+0.4+0.8 s instead of 0.5+1+2+4 s at the
    # service's 0.5 s base and 5 attempts. The base is still twice the workers' 0.1 s retry
    # poll and queue.retries sees three growing waits: the growth stays measurable.
    "PLATFORM_RETRY_BASE_S": "0.2",
    "PLATFORM_JOB_MAX_ATTEMPTS": "4",
    # Stopped workers show as degraded (2 missed intervals) after 2 s instead of 4.
    "PLATFORM_WORKER_HEARTBEAT_S": "1.0",
    # The sandbox check's CPU burner is stopped after 1 s; the stack parses small feeds and pages.
    "PLATFORM_SANDBOX_CPU_S": "1",
}
# Variables whose value is a secret: kept out of stack.json's "settings".
_SECRET_MARKERS = ("KEY", "SECRET", "PASSWORD", "TOKEN")


def generate_keys() -> StackKeys:
    """Fresh random keys, long enough for the service's ``secret_problem`` check."""
    return StackKeys(
        api=secrets.token_urlsafe(32),
        api_2=secrets.token_urlsafe(32),
        admin=secrets.token_urlsafe(32),
        revoked=secrets.token_urlsafe(32),
        rate_limit=secrets.token_urlsafe(32),
    )


def build_commit() -> str:
    """``git rev-parse HEAD`` of the checkout the service runs from, or "unknown" (also when it
    runs from an installed wheel: no checkout, and the commit was not recorded in the wheel)."""
    git = shutil.which("git")
    if git is None or source_checkout() is None:
        return "unknown"
    try:
        done = subprocess.run(
            [git, "rev-parse", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else "unknown"


def base_env() -> dict[str, str]:
    """The parent's environment without any ``PLATFORM_*`` variable, plus the repo on the path.

    A developer's shell may export ``PLATFORM_*`` for another deployment; a stack that inherited
    them would test that configuration instead of its own, so they are dropped (the stack's
    ``overrides`` are the way to set them). ``PYTHONPATH`` starts with this checkout so that the
    children run the same code as the process that booted them.
    """
    # Passing the environment through to children; no configuration is read from it here.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLATFORM_")}
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + path if path else "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def service_env(
    *,
    keys: StackKeys,
    redis_url: str,
    stack_dir: Path,
    environment: str,
    extra: Mapping[str, str],
    overrides: Mapping[str, str],
) -> dict[str, str]:
    """``PLATFORM_*`` variables for API and workers; ``overrides`` win over everything else."""
    env = {
        "PLATFORM_ENVIRONMENT": environment,
        "PLATFORM_REDIS_URL": redis_url,
        "PLATFORM_LOG_DIR": str(stack_dir / "logs"),
        "PLATFORM_DATA_DIR": str(stack_dir / "data"),
        "PLATFORM_BUILD_COMMIT": build_commit(),
        "PLATFORM_BUILD_TIME": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "PLATFORM_API_KEYS": json.dumps(
            {
                KEY_IDS.api: keys.api,
                KEY_IDS.api_2: keys.api_2,
                KEY_IDS.revoked: keys.revoked,
                KEY_IDS.rate_limit: keys.rate_limit,
            }
        ),
        "PLATFORM_ADMIN_KEYS": json.dumps({KEY_IDS.admin: keys.admin}),
        # JSON: pydantic-settings decodes set-typed settings as JSON before any validator runs.
        "PLATFORM_REVOKED_KEY_IDS": json.dumps([KEY_IDS.revoked]),
    }
    env.update(REFERENCE_POLICY)
    env.update(extra)
    env.update(overrides)
    return env


def public_settings(env: Mapping[str, str]) -> dict[str, str]:
    """The non-secret part of the service environment, for ``stack.json``."""
    return {
        name: value
        for name, value in sorted(env.items())
        if name.startswith("PLATFORM_")
        and (
            name == "PLATFORM_REVOKED_KEY_IDS"
            or not any(marker in name.removeprefix("PLATFORM_") for marker in _SECRET_MARKERS)
        )
    }
