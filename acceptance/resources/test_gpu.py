"""Resource Utilization: GPU utilisation and KV-cache usage, as the providers export them, stay
under the safe limits."""

from __future__ import annotations

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.promtext import parse
from acceptance.support.providers import emulator

# vLLM v0 and v1 names of the same fraction (1 = 100 %); DCGM exporter's utilisation in percent.
KV_CACHE = ("vllm:gpu_cache_usage_perc", "vllm:kv_cache_usage_perc")
GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL"


def _metrics_urls(target: Target, config: SuiteConfig) -> list[str]:
    if config.gpu_metrics_urls:
        return list(config.gpu_metrics_urls)
    info = emulator(target, "vllm")
    return [f"{info['url']}/metrics"] if info else []


@pytest.mark.checklist("resources.gpu")
def test_gpu_and_kv_cache_under_limits(
    target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """Every exported GPU utilisation and KV-cache usage series is under its configured limit."""
    urls = _metrics_urls(target, config)
    if not urls:
        not_verified("no GPU metrics URL (set gpu_metrics_urls, PREFLIGHT_GPU_METRICS_URLS)")
    gpu: dict[str, float] = {}
    kv: dict[str, float] = {}
    for url in urls:
        response = httpx.get(url, timeout=config.http_timeout_s)
        assert response.status_code == 200, f"GET {url}: HTTP {response.status_code}"
        for sample in parse(response.text):
            where = f"{url} {sorted(sample.labels.items())}"
            if sample.name == GPU_UTIL:
                gpu[where] = sample.value
            elif sample.name in KV_CACHE:
                kv[f"{sample.name} {where}"] = sample.value
    evidence.add(
        gpu_util_percent=gpu,
        kv_cache_usage=kv,
        gpu_util_max_percent=config.gpu_util_max_percent,
        kv_cache_usage_max=config.kv_cache_usage_max,
        sources=urls,
    )
    # The endpoints named for GPU metrics answered: without the series the GPU is unwatched.
    assert gpu or kv, f"no {GPU_UTIL} or KV-cache series at {urls}"
    over = {k: v for k, v in gpu.items() if v > config.gpu_util_max_percent}
    over |= {k: v for k, v in kv.items() if v > config.kv_cache_usage_max}
    assert not over, f"over the safe limit: {over}"
