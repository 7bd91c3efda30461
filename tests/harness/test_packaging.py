"""The wheel alone runs the checklist: built from this checkout, installed into a fresh virtual
environment, started from an empty directory (a release repository), path options with spaces.

The wheel is built offline with the environment's build backend (``--no-build-isolation``) from
a copy of the checkout, so the checkout gets no build/ or egg-info. The fresh environment gets the
wheel and nothing else of this project; a ``.pth`` line lends it the running environment's
site-packages for the dependencies (pytest, FastAPI, ...), which a bare path line adds without
running that directory's own ``.pth`` files, so the editable install of the checkout stays out.
The reference stack is booted from the wheel's ``preflight-stack``; the checks run twice: through
plain pytest (the entry point alone loads the plugin) and through the ``preflight`` script.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import acceptance
from service.waiting import poll_until

pytestmark = pytest.mark.slow

CHECKOUT = Path(acceptance.__file__).resolve().parents[1]
PIP = (sys.executable, "-m", "pip")
# This project's files only: no dependency, nothing from an index.
OFFLINE = ("--no-deps", "--no-index")
STEP_TIMEOUT_S = 300
BOOT_TIMEOUT_S = 120
# health: the stack answers; endpoints.search: the labelled corpus (package data) was seeded
# and read back; readiness/backup/tos evidence: ops/ and CHANGELOG.md from the wheel's copies;
# backup.code-up-to-date: no checkout, so no commit to compare with.
CHECKS = (
    "health.endpoints-ok",
    "endpoints.search",
    "readiness.release-notes",
    "backup.emergency-contacts",
    "tos.external-tos",
    "backup.code-up-to-date",
)


def _run(argv: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT_S, check=False
    )


def _copy_checkout(target: Path) -> None:
    """The files git would put in a clone, plus new ones not yet committed; symlinks as links."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=CHECKOUT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source, copy = CHECKOUT / name, target / name
        if not source.is_symlink() and not source.is_file():
            continue  # deleted in the working tree, or a directory link listed by git
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            copy.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, copy)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding the wheel (and, borrowed, the dependencies)."""
    base = tmp_path_factory.mktemp("wheel")
    _copy_checkout(base / "src")
    env = _clean_env()
    build = _run(
        [
            *PIP,
            "wheel",
            *OFFLINE,
            "--no-build-isolation",
            "-w",
            str(base / "dist"),
            str(base / "src"),
        ],
        cwd=base,
        env=env,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = (base / "dist").glob("preflight-*.whl")
    venv = base / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=base, env=env)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    install = _run(
        [*PIP, "--python", str(python), "install", *OFFLINE, str(wheel)],
        cwd=base,
        env=env,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    site = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        cwd=base,
        env=env,
    ).stdout.strip()
    Path(site, "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def _clean_env() -> dict[str, str]:
    """No PYTHONPATH (it would put a checkout first) and no PREFLIGHT_*/PLATFORM_* settings."""
    drop = ("PYTHONPATH", "PREFLIGHT_", "PLATFORM_", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


@pytest.fixture(scope="module")
def release_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The empty directory the release manager runs from."""
    return tmp_path_factory.mktemp("release-repo")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the options' paths point: outside the release directory, with spaces."""
    path = tmp_path_factory.mktemp("gate files") / "release 1.2"
    path.mkdir()
    return path


@pytest.fixture(scope="module")
def stack_json(venv: Path, release_repo: Path, files: Path) -> Iterator[Path]:
    """The reference stack, booted by the wheel's preflight-stack; its stack.json path."""
    path = files / "stack file.json"
    log = files.parent / "stack.out"
    stack_args = (str(venv / "bin" / "preflight-stack"), "--no-monitoring", "--workers", "1")
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*stack_args, "--json-out", str(path)],
            cwd=release_repo,
            env=_clean_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        poll_until(
            lambda: "preflight stack up" in log.read_text(),
            timeout=BOOT_TIMEOUT_S,
            interval=0.2,
            message="the stack from the wheel to boot",
            abort=lambda: None if proc.poll() is None else log.read_text()[-2000:],
        )
        yield path
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _checklist(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _verdicts(data: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {i["id"]: (i["verdict"], i["reason"]) for i in data["items"] if i["id"] in CHECKS}


def test_installed_code_is_the_wheels(venv: Path, release_repo: Path) -> None:
    """The fresh environment imports this project from the wheel: no checkout, shipped copies."""
    probe = (
        "import json, acceptance, service.artefacts as a; print(json.dumps([acceptance.__file__,"
        " str(a.source_checkout()), str(a.reference_file('ops/contacts.yaml'))]))"
    )
    done = _run([str(venv / "bin" / "python"), "-c", probe], cwd=release_repo, env=_clean_env())
    module, checkout, contacts = json.loads(done.stdout)
    assert module.startswith(str(venv)), module
    assert checkout == "None"
    assert contacts.startswith(str(venv)) and contacts.endswith(
        "service/artefacts/ops/contacts.yaml"
    )


@pytest.fixture(scope="module")
def first_run(
    venv: Path, release_repo: Path, files: Path, stack_json: Path
) -> subprocess.CompletedProcess[str]:
    """`pytest -m preflight --pyargs acceptance`, every path option as `--opt PATH WITH SPACES`."""
    shutil.copy(json.loads(stack_json.read_text())["ca_file"], files / "ca bundle.pem")
    (files / "pre flight.toml").write_text("http_timeout_s = 20.0\n")
    items = [{"id": item_id, "verdict": "pass"} for item_id in CHECKS]
    (files / "base line.json").write_text(json.dumps({"schema": 1, "items": items}))
    argv = [
        str(venv / "bin" / "python"),
        "-m",
        "pytest",
        "-m",
        "preflight",
        "-p",
        "no:cacheprovider",
    ]
    argv += ["--pyargs", "acceptance", "--stack", str(stack_json)]
    argv += ["--ca-file", str(files / "ca bundle.pem")]
    argv += ["--preflight-config", str(files / "pre flight.toml")]
    argv += ["--baseline", str(files / "base line.json")]
    argv += ["--report-dir", str(files / "first report")]
    argv += ["--junitxml", str(files / "first report" / "j unit.xml")]
    for item_id in CHECKS:
        argv += ["--checklist-id", item_id]
    return _run(argv, cwd=release_repo, env=_clean_env())


def test_pytest_with_entry_point_from_empty_directory(
    first_run: subprocess.CompletedProcess[str], release_repo: Path, files: Path
) -> None:
    """The entry point alone loads the plugin; the packaged data serves every default."""
    assert first_run.returncode == 0, first_run.stdout[-4000:] + first_run.stderr[-2000:]
    data = _checklist(files / "first report" / "checklist.json")
    verdicts = _verdicts(data)
    assert verdicts["health.endpoints-ok"][0] == "pass"
    assert verdicts["endpoints.search"][0] == "pass"
    for evidence_item in ("readiness.release-notes", "backup.emergency-contacts"):
        assert verdicts[evidence_item][0] == "needs_confirmation", verdicts[evidence_item]
    assert verdicts["tos.external-tos"][0] in ("pass", "needs_confirmation")
    assert verdicts["backup.code-up-to-date"][0] == "not_verified"
    assert data["baseline"]["previous_run"] == str(files / "base line.json")
    assert (files / "first report" / "j unit.xml").is_file()
    assert list(release_repo.iterdir()) == []


def test_preflight_script_with_baseline(
    first_run: subprocess.CompletedProcess[str],
    venv: Path,
    release_repo: Path,
    files: Path,
    stack_json: Path,
) -> None:
    """The `preflight` script passes its arguments on; --baseline reads the first run's report."""
    argv = [str(venv / "bin" / "preflight"), "-p", "no:cacheprovider", "--stack", str(stack_json)]
    argv += ["--baseline", str(files / "first report" / "checklist.json")]
    argv += ["--report-dir", str(files / "second report"), "--checklist-id", "health.endpoints-ok"]
    argv += ["--fail-on-unverified"]
    done = _run(argv, cwd=release_repo, env=_clean_env())
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    data = _checklist(files / "second report" / "checklist.json")
    assert _verdicts(data)["health.endpoints-ok"] == ("pass", None)
    assert data["baseline"]["previous_verdict"] == "ready_with_unverified"
    assert list(release_repo.iterdir()) == []
