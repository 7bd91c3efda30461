"""Token lengths drawn from a declared distribution: ``[workload.input]`` / ``[workload.output]``.

A latency figure means something only next to the lengths it was measured at, so lengths are
declared (fixed, uniform, normal, lognormal) and drawn from a seeded ``random.Random``: the same
seed gives the same requests on every machine and Python version (the stdlib generators are
specified; numpy's may change between releases). Every distribution is clipped to ``[min, max]``
so that the longest request is known before anything is sent and can be refused when it does not
fit the model's context.
"""

from __future__ import annotations

import math
import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Distribution = Literal["fixed", "uniform", "normal", "lognormal"]
# Without an explicit max, normal and lognormal are clipped this many standard deviations above
# the mean: P(X > mean + 4 sd) is 3e-5 for a normal, so the clip almost never bites, and the
# bound is still finite for the context check.
DEFAULT_TAIL_SD = 4.0


class LengthDistribution(BaseModel):
    """Lengths in tokens: ``fixed`` (mean), ``uniform`` (min..max, integers), ``normal`` and
    ``lognormal`` (mean and std of the lengths themselves), each clipped to ``[min, max]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    distribution: Distribution = Field(
        default="fixed", description="fixed | uniform | normal | lognormal. Default: 'fixed'"
    )
    mean: float = Field(default=128.0, gt=0, description="mean length in tokens. Default: 128")
    std: float = Field(default=0.0, ge=0, description="standard deviation (normal, lognormal)")
    min: int = Field(default=1, ge=1, description="shortest length drawn. Default: 1")
    max: int | None = Field(
        default=None,
        ge=1,
        description="longest length drawn; None: mean for fixed, mean + 4 std for normal and "
        "lognormal (required for uniform)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> LengthDistribution:
        if self.distribution == "uniform" and self.max is None:
            raise ValueError("max is required for a uniform distribution")
        if self.distribution in ("normal", "lognormal") and self.std <= 0:
            raise ValueError(f"std must be > 0 for a {self.distribution} distribution")
        if self.upper < self.min:
            raise ValueError(f"max ({self.upper}) is below min ({self.min})")
        if self.distribution == "fixed" and not self.min <= round(self.mean) <= self.upper:
            raise ValueError(f"mean ({self.mean:g}) is outside min..max")
        return self

    @property
    def upper(self) -> int:
        """The longest length this distribution can yield."""
        if self.max is not None:
            return self.max
        if self.distribution == "fixed":
            return round(self.mean)
        return math.ceil(self.mean + DEFAULT_TAIL_SD * self.std)

    def draw(self, rng: random.Random) -> int:
        """One length, clipped to ``[min, upper]``."""
        if self.distribution == "fixed":
            value = self.mean
        elif self.distribution == "uniform":
            return rng.randint(self.min, self.upper)
        elif self.distribution == "normal":
            value = rng.gauss(self.mean, self.std)
        else:  # lognormal with the given mean and std of the lengths (not of their logarithm)
            sigma2 = math.log1p((self.std / self.mean) ** 2)
            value = rng.lognormvariate(math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2))
        return min(max(round(value), self.min), self.upper)
