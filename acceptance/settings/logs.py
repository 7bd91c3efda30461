"""Where the log checks read the platform's records: the ``[logs]`` table of ``preflight.toml``.

A deployment keeps its logs in a log store the suite cannot open as files; the operator names a
command that prints the platform's JSON-lines records for a time window (``kubectl logs``,
``journalctl -o cat``, ``logcli query``), and every log-based check reads through it. The
reference stack's JSON-lines files are the other source (``acceptance/support/logs/``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# What a token, password or key looks like where it is not one the suite knows: masked in every
# reason and evidence field that shows a log command's line, stderr or output.
DEFAULT_SECRET_PATTERNS = [
    r"(?i)(bearer\s+)[^\s\"',;]+",
    r"(?i)((?:token|password|passwd|secret|api[_-]?key|authorization)[\"']?\s*[=:]\s*[\"']?)"
    r"[^\s\"',;&]+",
    r"(?i)(://[^/\s:@]+:)[^@/\s]+(?=@)",
    r"(?i)(--?(?:token|password|passwd|secret|api-?key)\s+)[^\s\"',;&]+",
]


class LogSettings(BaseModel):
    """``SuiteConfig.logs``; every default is repeated in the repository's preflight.toml."""

    model_config = ConfigDict(extra="forbid")

    source: Literal["auto", "files", "command"] = Field(
        default="auto",
        description="'files': the reference stack's JSON-lines files (stack.json logs); "
        "'command': the output of [logs] command; 'auto': the command if one is set, else the "
        "stack's files. Default: 'auto'",
    )
    command: str | None = Field(
        default=None,
        description="a command printing the platform's JSON-lines records of a time window; "
        "placeholders {since} {until} (ISO-8601 UTC) and {since_epoch} {until_epoch} "
        "(seconds). Run without a shell (shlex split) unless shell = true. Also "
        "PREFLIGHT_LOGS__COMMAND. Default: None",
    )
    shell: bool = Field(
        default=False,
        description="run the command with /bin/sh -c (pipes, redirections); placeholders are "
        "shell-quoted. Default: false",
    )
    timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="the command is killed (its whole process group) after this. Default: 30.0",
    )
    max_output_bytes: int = Field(
        default=67_108_864,
        ge=1,
        description="more output than this is an error, not a partial read. Default: 64 MiB",
    )
    poll_interval_s: float = Field(
        default=1.0,
        gt=0,
        description="pause between two runs of the command while a check waits for a record "
        "(the files are re-read every 0.1 s). Default: 1.0",
    )
    clock_skew_s: float = Field(
        default=5.0,
        ge=0,
        description="the window asked for starts this much earlier than the check's first "
        "request (clocks of the suite and the log store differ). Default: 5.0",
    )
    stderr_lines: int = Field(
        default=5, ge=0, description="lines of a failed command's stderr in the reason. Default: 5"
    )
    secret_patterns: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SECRET_PATTERNS),
        description="regular expressions of secrets masked in what a report shows of the "
        "command (its line, stderr, output); a first group is kept (the 'Bearer ' prefix). "
        "Default: bearer tokens, token=/password=/secret=/api_key=/authorization= values, "
        "URL passwords, --token/--password/--secret/--api-key arguments",
    )
