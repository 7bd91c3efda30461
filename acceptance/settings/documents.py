"""DocumentSettings: thresholds of the search, document, backup, upload and egress checks.

The ``[documents]`` table of ``preflight.toml`` (``SuiteConfig.documents``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class DocumentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labelled_set: Path = Field(
        default=Path("service/fixtures/corpus.json"),
        description="labelled query set (queries with relevant ids) the target has ingested."
        " Default: 'service/fixtures/corpus.json'",
    )
    search_k: int = Field(default=5, ge=1, le=50, description="k of recall@k. Default: 5")
    search_recall_min: float = Field(
        default=0.8, ge=0, le=1, description="mean recall@k over the labelled set. Default: 0.8"
    )
    search_mrr_min: float = Field(
        default=0.7, ge=0, le=1, description="mean reciprocal rank of the first hit. Default: 0.7"
    )
    snippet_max_chars: int = Field(
        default=500, ge=1, description="longest snippet of a non-permissive item. Default: 500"
    )
    backup_max_age_s: float = Field(
        default=26 * 3600.0, gt=0, description="newest backup at most this old. Default: 93600"
    )
    retention_max_days: int = Field(
        default=3650, ge=1, description="every source must be purged within this. Default: 3650"
    )
    max_query_chars_max: int = Field(
        default=1024, ge=1, description="a query longer than this must be refused. Default: 1024"
    )
    upload_probe_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="an upload of this size must be refused with 413. Default: 8388608",
    )
    fuzz_max_examples: int = Field(
        default=5, ge=1, description="schemathesis examples per operation. Default: 5"
    )
    fuzz_timeout_s: float = Field(
        default=90.0, gt=0, description="longest schemathesis run. Default: 90.0"
    )
