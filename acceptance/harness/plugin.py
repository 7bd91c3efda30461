"""The preflight pytest plugin: options, markers and hooks, and nothing else.

Fixtures live in ``acceptance.harness.fixtures``, verdict logic in ``acceptance.harness.verdicts``
and ``acceptance.harness.results``, report writing in ``acceptance.reports.checklist_files`` and
``acceptance.reports.report_html``. The ``pytest11`` entry point ``acceptance.harness.plugin``
(pyproject.toml) loads this module before pytest parses the command line, so its options work in
any directory and with any path (``--stack /elsewhere/stack.json``); the run state lives in
``config.stash[RUN_STATE]``. Bad input ends the run in ``pytest_configure`` (``inputs``), the exit
code comes from the verdict (``exitcodes``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from acceptance.harness import exitcodes
from acceptance.harness.artefacts import anchor_paths
from acceptance.harness.checklist import PHASES, load_checklist
from acceptance.harness.evidence import evidence_of
from acceptance.harness.inputs import (
    BadInput,
    check_baseline,
    check_report_dir,
    check_waivers,
    check_workload,
)
from acceptance.harness.release import tagged_ids, version_under_release
from acceptance.harness.results import aggregate
from acceptance.harness.runstate import RUN_STATE, USER_PROPERTY, WORKER_COLLECTED, RunState
from acceptance.harness.target import TargetSpec, identity_for_report
from acceptance.harness.verdicts import Verdict, not_verified, verdict_of_phase, worst
from acceptance.reports import checklist_files, report_html
from acceptance.settings import ConfigError, SuiteConfig, find_config_file, load_suite_config

pytest_plugins = ["acceptance.harness.fixtures"]

DEFAULT_CONFIG = "preflight.toml"
MARKERS = {
    "preflight": "a check of the release checklist (added automatically from `checklist`)",
    "functional": "checklist category functional",
    "security": "checklist category security",
    "performance": "checklist category performance",
    "compliance": "checklist category compliance",
    "predeploy": "run before the deployment",
    "postdeploy_5m": "run within 5 minutes after the deployment",
    "postdeploy_1h": "run within 1 hour after the deployment",
    "postdeploy_24h": "run within 24 hours after the deployment",
    "destructive": "fault injection, queue filling, overload: needs --allow-destructive "
    "unless the suite booted the target",
    "slow": "takes more than a few seconds",
    "checklist(*ids)": "ties the test to checklist ids from acceptance/checklist.yaml",
    "since(version)": "behaviour new in that version; for the version under release the check "
    "also decides post1h.new-functionality",
}
_PHASES_KEY = pytest.StashKey[list[tuple[Verdict, str | None]]]()


def _workers(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must be >= 0")
    return number


# (flag, argparse keywords): one group, each with a metavar and its default in the help.
OPTIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    (
        "--target",
        {
            "metavar": "URL",
            "help": "URL of the target to check (env PREFLIGHT_TARGET); "
            "neither this nor --stack: boot the reference stack",
        },
    ),
    (
        "--stack",
        {
            "metavar": "PATH",
            "help": "stack.json of a reference stack started elsewhere (env PREFLIGHT_STACK)",
        },
    ),
    ("--api-key", {"metavar": "KEY", "help": "ordinary API key (env PREFLIGHT_API_KEY)"}),
    ("--api-key-2", {"metavar": "KEY", "help": "second API key (env PREFLIGHT_API_KEY_2)"}),
    ("--admin-key", {"metavar": "KEY", "help": "admin API key (env PREFLIGHT_ADMIN_KEY)"}),
    (
        "--ca-file",
        {"metavar": "PATH", "help": "CA bundle that verifies the target (env PREFLIGHT_CA_FILE)"},
    ),
    (
        "--allow-destructive",
        {
            "action": "store_true",
            "default": False,
            "help": "run destructive checks against a target the suite did not boot",
        },
    ),
    (
        "--report-dir",
        {
            "metavar": "DIR",
            "default": "preflight-report",
            "help": "directory for report.html, checklist.md and checklist.json",
        },
    ),
    (
        "--preflight-config",
        {
            "metavar": "PATH",
            "default": DEFAULT_CONFIG,
            "help": "suite configuration: thresholds, expectations, waivers (used if it exists)",
        },
    ),
    (
        "--phase",
        {
            "metavar": "PHASE",
            "choices": PHASES,
            "default": "predeploy",
            "help": f"release phase recorded in checklist.json, one of {', '.join(PHASES)} "
            "(select its checks with -m)",
        },
    ),
    (
        "--checklist-id",
        {
            "metavar": "ID",
            "action": "append",
            "dest": "checklist_ids",
            "help": "run only the checks of this checklist id (repeatable)",
        },
    ),
    (
        "--stack-workers",
        {
            "metavar": "N",
            "type": _workers,
            "default": 2,
            "help": "worker processes of a stack the suite boots",
        },
    ),
    (
        "--baseline",
        {
            "metavar": "PATH",
            "help": "checklist.json of a previous run: regressions fail post1h.performance-stable, "
            "new failures are flagged in the reports (overrides [report] previous_run)",
        },
    ),
    (
        "--fail-on-unverified",
        {
            "action": "store_true",
            "default": False,
            "help": "exit 101 when items this run selected are not verified, instead of 0 "
            "(also [report] fail_on_unverified)",
        },
    ),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("preflight", "preflight release checklist")
    for flag, keywords in OPTIONS:
        keywords = {"default": None, **keywords}
        group.addoption(flag, **{**keywords, "help": keywords["help"] + ". Default: %(default)r"})


def _build_state(config: pytest.Config) -> RunState:
    """Options and preflight.toml, checked: any bad input raises BadInput before anything runs."""
    try:
        value = str(config.getoption("preflight_config"))
        bases = (config.invocation_params.dir, config.rootpath)
        config_file = find_config_file(value, DEFAULT_CONFIG, bases)
        suite: SuiteConfig = load_suite_config(config_file)
    except ConfigError as exc:
        raise BadInput(str(exc)) from exc
    anchor_paths(suite, config.rootpath)
    checklist = load_checklist()
    check_waivers(suite.waivers, checklist, config_file)
    check_workload(suite.workload, config_file)
    option = config.getoption
    if option("baseline"):
        baseline = config.invocation_params.dir / option("baseline")
        if not baseline.is_file():
            raise BadInput(f"--baseline {baseline}: no such file: pass an existing checklist.json")
        check_baseline(baseline, checklist, "--baseline")
        suite.report.previous_run = baseline
    elif suite.report.previous_run is not None and suite.report.previous_run.is_file():
        where = config_file or "PREFLIGHT_REPORT__PREVIOUS_RUN"
        check_baseline(suite.report.previous_run, checklist, f"{where}: previous_run")
    report_dir = config.invocation_params.dir / option("report_dir")
    check_report_dir(report_dir)
    ca_file = option("ca_file") or suite.ca_file
    stack_file = option("stack") or suite.stack
    spec = TargetSpec(
        url=option("target") or suite.target,
        stack_file=Path(stack_file) if stack_file else None,
        api_key=option("api_key") or suite.api_key,
        api_key_2=option("api_key_2") or suite.api_key_2,
        admin_key=option("admin_key") or suite.admin_key,
        ca_file=Path(ca_file) if ca_file else None,
        stack_workers=option("stack_workers"),
    )
    return RunState(
        checklist=checklist,
        config=suite,
        spec=spec,
        phase=option("phase"),
        report_dir=report_dir,
        allow_destructive=option("allow_destructive"),
        fail_on_unverified=option("fail_on_unverified") or suite.report.fail_on_unverified,
    )


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    try:
        state = _build_state(config)
    except BadInput as exc:
        pytest.exit(f"preflight: {exc}", returncode=exitcodes.BAD_INPUT)
    config.stash[RUN_STATE] = state
    config.pluginmanager.register(_Recorder(config), "preflight-recorder")
    if config.pluginmanager.hasplugin("html"):
        config.pluginmanager.register(report_html.HtmlHooks(config), "preflight-html-hooks")
        html_path = config.getoption("htmlpath")
        state.html_path = (
            config.invocation_params.dir / html_path
            if html_path
            else state.report_dir / "report.html"
        )
        if not html_path and not _is_worker(config):
            gated = report_html.GatedHtmlReport(state.html_path, config)
            config.pluginmanager.register(gated, "preflight-html-report")


# The checks' package: with no paths given, everything else in `testpaths` (the project's own
# tests/) holds no check, so a run that only selects checks need not import it.
CHECKS_DIR = Path(__file__).resolve().parents[1]
# `-m` expressions that no item without the preflight marker can satisfy. Matched as text (pytest's
# expression parser is private); anything else, e.g. "not preflight", collects everything.
_CHECKS_ONLY = re.compile(r"\s*preflight\s*(\band\b.*)?")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """`pytest -m preflight` (or --checklist-id) without paths: skip tests/ unimported.

    Its 400 items would only be deselected, after seconds of imports on a 2-core machine.
    """
    if config.args_source is not pytest.Config.ArgsSource.TESTPATHS:
        return None
    markexpr = str(config.getoption("markexpr") or "")
    if not (_CHECKS_ONLY.fullmatch(markexpr) or config.getoption("checklist_ids")):
        return None
    path = collection_path.resolve()
    if path == CHECKS_DIR or CHECKS_DIR in path.parents or path in CHECKS_DIR.parents:
        return None
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give every check its preflight, category and phase markers before -m selects."""
    state = config.stash[RUN_STATE]
    release = version_under_release(state.config)
    for item in items:
        ids = [str(i) for mark in item.iter_markers("checklist") for i in mark.args]
        if not item.get_closest_marker("checklist"):
            continue
        if not ids:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.checklist needs ids")
        ids += tagged_ids(item, release)
        unknown = [i for i in ids if i not in state.checklist]
        if unknown:
            raise pytest.UsageError(
                f"unknown checklist id {unknown[0]!r} in {item.nodeid} "
                "(ids: acceptance/checklist.yaml)"
            )
        entries = [state.checklist[i] for i in dict.fromkeys(ids)]
        names = ["preflight", *(e.category for e in entries), *(e.phase for e in entries)]
        for name in dict.fromkeys(names):
            item.add_marker(getattr(pytest.mark, name))
        state.collected[item.nodeid] = list(dict.fromkeys(ids))
    _in_phase_order(state, items)
    _select_ids(config, items)


def _in_phase_order(state: RunState, items: list[pytest.Item]) -> None:
    """Checks of one run go predeploy first, then each post-deployment window in turn (stable
    within a phase): a run that covers several phases does them in the order a release does,
    so post1h.performance-stable can compare with the predeploy figures of the same run."""

    def phase_rank(item: pytest.Item) -> int:
        ids = state.collected.get(item.nodeid)
        return PHASES.index(state.checklist[ids[0]].phase) if ids else 0

    items.sort(key=phase_rank)


def _select_ids(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--checklist-id: keep only the checks of the named boxes (a release manager's rerun)."""
    wanted = config.getoption("checklist_ids")
    if not wanted:
        return
    state = config.stash[RUN_STATE]
    unknown = [i for i in wanted if i not in state.checklist]
    if unknown:
        raise pytest.UsageError(f"--checklist-id: unknown checklist id {unknown[0]!r}")
    keep = [i for i in items if set(state.collected.get(i.nodeid, ())) & set(wanted)]
    dropped = [i for i in items if i not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    state = session.config.stash[RUN_STATE]
    state.selected = {item.nodeid for item in session.items if item.nodeid in state.collected}
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[WORKER_COLLECTED] = state.worker_collected_json()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Destructive checks only with --allow-destructive or against a stack we boot."""
    state = item.config.stash[RUN_STATE]
    if item.get_closest_marker("destructive") and not state.destructive_allowed:
        not_verified("destructive checks not allowed (use --allow-destructive)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach each phase's verdict and evidence to the report, so xdist carries them along."""
    result = yield
    ids = item.config.stash[RUN_STATE].collected.get(item.nodeid)
    if ids is None:
        return result
    phase = verdict_of_phase(result, call)
    phases = item.stash.setdefault(_PHASES_KEY, [])
    if phase is not None:
        phases.append(phase)
    evidence = evidence_of(item).data
    payload = {
        "ids": ids,
        "when": result.when,
        "verdict": phase[0].value if phase else None,
        "reason": phase[1] if phase else None,
        "evidence": evidence,
    }
    # A new list: the report shares item.user_properties, and each phase carries only its own.
    result.user_properties = [*result.user_properties, (USER_PROPERTY, json.dumps(payload))]
    if result.when == "teardown":
        verdict, reasons = worst(phases)
        href = report_html.summary_href(item.config) + "#charts"
        extra = report_html.evidence_extras(ids, verdict.value, "; ".join(reasons), evidence, href)
        result.extras = [*getattr(result, "extras", []), *extra]  # type: ignore[attr-defined]
    return result


class _Recorder:
    """Hooks that need the config but get none from pytest (reports carry no config)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.state = config.stash[RUN_STATE]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Runs on the xdist controller too: the verdicts travel in report.user_properties."""
        is_check = False
        for name, value in report.user_properties:
            if name == USER_PROPERTY:
                is_check = True
                self.state.record_phase(report.nodeid, json.loads(str(value)))
        if report.failed and not is_check:
            self.state.other_failures += 1

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist controller: what a worker collected and which target it saw."""
        output = getattr(node, "workeroutput", None)
        if output:
            self.state.merge_worker_output(output)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Decide every item, write the reports, make a failing item fail the run."""
        state = self.state
        # --collect-only runs nothing, so it has no verdicts to report.
        if _is_worker(self.config) or not state.has_checks or self.config.option.collectonly:
            return
        state.finished = dt.datetime.now(dt.UTC)
        if state.identity is None:
            state.identity = identity_for_report(
                state.spec, state.config.report.fetch_version_timeout_s
            )
        state.items = aggregate(
            state.checklist,
            state.collected,
            state.records,
            state.selected,
            state.config.waivers,
            dt.date.today(),
        )
        began = time.perf_counter()
        checklist_files.write_reports(state)
        state.report_s = time.perf_counter() - began
        state.exit_code = exitcodes.gate_exit_code(
            session.exitstatus,
            state.items,
            fail_on_unverified=state.fail_on_unverified,
            other_failures=state.other_failures > 0,
        )
        session.exitstatus = state.exit_code

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.state.items is not None:
            line = checklist_files.summary_line(self.state).replace("**", "")
            terminalreporter.write_sep("-", f"preflight: {line}")
            took = f" (written in {self.state.report_s:.1f} s)" if self.state.report_s else ""
            terminalreporter.write_line(f"preflight reports in {self.state.report_dir}{took}")
            code = self.state.exit_code
            meaning = exitcodes.describe(code, self.state.items)
            terminalreporter.write_line(f"preflight exit code {code}: {meaning}")
