"""Every path option takes a path outside the run's directory, with spaces, as a separate argument.

The README's ``pytest -m preflight --stack /tmp/x/stack.json`` failed with "unrecognized
arguments: --stack" while the plugin came from the checkout's conftest.py: pytest took the path
for a test path and looked for conftests there. The entry point (here: ``-p``, loaded just as
early) makes the options known before the command line is parsed. tests/harness/test_packaging.py
runs the same from an installed wheel.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trustme

from acceptance.harness.checklist import load_checklist
from tests.support.suite_runs import FAKE_TARGET, RunSuite


@pytest.fixture
def spaced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory outside the inner run's directory, with spaces in its path."""
    path = tmp_path_factory.mktemp("path options") / "release 1.2 files"
    path.mkdir()
    return path


def _stack_json(path: Path, ca_file: Path) -> None:
    keys = {"api": "k1", "api_2": "k2", "admin": "k3", "revoked": "k4"}
    stack = {
        "schema": 1,
        "url": FAKE_TARGET,
        "ca_file": str(ca_file),
        "environment": "local",
        "dir": str(path.parent),
        "redis_url": "redis://127.0.0.1:1/0",
        "keys": keys,
        "key_ids": keys,
    }
    path.write_text(json.dumps(stack))


def test_path_options_with_spaces(
    pytester: pytest.Pytester, run_suite: RunSuite, spaced: Path
) -> None:
    """--stack, --ca-file, --preflight-config, --baseline, --report-dir, --junitxml all apply."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(spaced / "stack ca.pem"))
    ca.cert_pem.write_to_path(str(spaced / "private ca.pem"))
    _stack_json(spaced / "stack file.json", spaced / "stack ca.pem")
    (spaced / "pre flight.toml").write_text("http_timeout_s = 7.5\n")
    items = [{"id": i, "verdict": "fail"} for i in load_checklist().ids]
    (spaced / "base line.json").write_text(json.dumps({"schema": 1, "items": items}))
    pytester.makepyfile(
        test_options=f"""
import pytest

@pytest.mark.checklist("health.endpoints-ok")
def test_options(target, config):
    assert target.url == {FAKE_TARGET!r} and target.stack is not None
    assert target.api_key == "k1"
    assert str(target.ca_file) == {str(spaced / "private ca.pem")!r}
    assert config.http_timeout_s == 7.5
"""
    )
    run = run_suite(
        *("--stack", str(spaced / "stack file.json")),
        *("--ca-file", str(spaced / "private ca.pem")),
        *("--preflight-config", str(spaced / "pre flight.toml")),
        *("--baseline", str(spaced / "base line.json")),
        *("--report-dir", str(spaced / "re ports")),
        *("--junitxml", str(spaced / "j unit.xml")),
        target=False,
        subprocess=True,
    )
    assert run.ret == 0, run.result.stdout.str() + run.result.stderr.str()
    data = json.loads((spaced / "re ports" / "checklist.json").read_text())
    ok = next(item for item in data["items"] if item["id"] == "health.endpoints-ok")
    assert ok["verdict"] == "pass"
    assert data["baseline"]["previous_run"] == str(spaced / "base line.json")
    assert 'property name="preflight"' in (spaced / "j unit.xml").read_text()
    assert not run.report_dir.exists()
