"""The rates units are judged by, as data: each is one figure divided by another.

Hotline offices rank units on response, resolution and satisfaction (响应率、解决率、满意率,
北京市接诉即办工作条例 and city practice); seed 000 asks for time limits kept (限时办结), hence the
on-time closure rate. A rate is never stored: it is numerator ÷ denominator of two traceable
figures (duban.reports.figures), and its Chinese definition, printed with every report, lives in
config/labels.toml [rates] beside its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from duban.config.policy import Labels, RankingWeights


@dataclass(frozen=True)
class RateDef:
    key: str
    numerator: str  # figure name (duban.reports.figures.FIGURES)
    denominator: str


RATES: tuple[RateDef, ...] = (
    RateDef("response", "responded", "dispatched"),
    RateDef("resolution", "resolved", "dispatched"),
    RateDef("satisfaction", "satisfied", "callbacks"),
    RateDef("on_time", "on_time", "closed"),
)
RATE_BY_KEY = {r.key: r for r in RATES}
RANKED = ("response", "resolution", "satisfaction")


def ratio(numerator: int, denominator: int) -> float | None:
    """numerator ÷ denominator, or None when there is nothing to divide (shown as "—", not 0%)."""
    return numerator / denominator if denominator else None


def percent(value: float | None, *, none: str = "—") -> str:
    return none if value is None else f"{value * 100:.1f}%"


def name(labels: Labels, key: str) -> str:
    return labels.rates.get(key, key)


def definition(labels: Labels, key: str) -> str:
    return labels.rates.get(f"{key}_definition", "")


def score(rates: Mapping[str, float | None], weights: RankingWeights) -> float | None:
    """The weighted mean of the ranked rates a unit has; a rate with no cases is left out."""
    total = 0.0
    weight = 0.0
    for key in RANKED:
        value = rates.get(key)
        w = float(getattr(weights, key))
        if value is None or w == 0:
            continue
        total += w * value
        weight += w
    return total / weight if weight else None
