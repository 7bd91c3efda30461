"""When requests arrive in an open-loop run: constant, Poisson or gamma gaps at a rate.

The gamma process is vLLM's (``benchmarks/serve.py``, ``--burstiness``): gaps with shape
``burstiness`` and scale ``1 / (rate * burstiness)``, so the mean gap is ``1 / rate`` whatever
the burstiness; 1 is the Poisson process (exponential gaps), below 1 burstier, above 1 steadier.
Like vLLM, the offsets are then scaled so the n-th arrival falls exactly at ``n / rate``: a
random schedule otherwise misses the asked rate by a few per cent at a few hundred requests,
and runs at "the same rate" would not be comparable. The scale factor is close to 1, so the gaps
keep the asked distribution (``python -m bench.generator_validity`` tests them with
Kolmogorov-Smirnov).
"""

from __future__ import annotations

import itertools
import random
from typing import Literal

OpenArrival = Literal["constant", "poisson", "gamma"]


def gaps(
    kind: OpenArrival, rate: float, count: int, rng: random.Random, burstiness: float = 1.0
) -> list[float]:
    """``count`` gaps (seconds) between arrivals, before scaling."""
    if rate <= 0 or burstiness <= 0:
        raise ValueError("rate and burstiness must be > 0")
    if kind == "constant":
        return [1.0 / rate] * count
    if kind == "poisson":
        return [rng.expovariate(rate) for _ in range(count)]
    scale = 1.0 / (rate * burstiness)
    return [rng.gammavariate(burstiness, scale) for _ in range(count)]


def arrival_offsets(
    kind: OpenArrival, rate: float, span_s: float, rng: random.Random, burstiness: float = 1.0
) -> list[float]:
    """Offsets (seconds from the run's start) of ``round(rate * span_s)`` arrivals, at least
    one, the last exactly at ``count / rate``."""
    count = max(1, round(rate * span_s))
    offsets = list(itertools.accumulate(gaps(kind, rate, count, rng, burstiness)))
    factor = (count / rate) / offsets[-1]
    return [offset * factor for offset in offsets]
