"""The suite's settings: `SuiteConfig` (preflight.toml and ``PREFLIGHT_*``), one model per section.

`suite` holds the top-level keys and the loader; each other module is one table of the file
(`documents`, `ingestion`, `monitoring`, `observability`, `ops`, `performance`). Import from
here.
"""

from acceptance.settings.suite import (
    ConfigError,
    SloSettings,
    SuiteConfig,
    Waiver,
    find_config_file,
    load_suite_config,
)

__all__ = [
    "ConfigError",
    "SloSettings",
    "SuiteConfig",
    "Waiver",
    "find_config_file",
    "load_suite_config",
]
