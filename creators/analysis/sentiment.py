"""Sentiment with the VADER lexicon (offline, rule-based, deterministic)."""

from __future__ import annotations

from functools import cache
from typing import Any

from creators.analysis.base import CreatorInput


@cache
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def label_for(compound: float) -> str:
    # VADER's own thresholds.
    if compound >= 0.05:
        return "positive"
    if compound <= -0.05:
        return "negative"
    return "neutral"


def score(text: str) -> float:
    """VADER's compound score in [-1, 1]; 0.0 for empty text."""
    if not text.strip():
        return 0.0
    return round(float(_vader().polarity_scores(text)["compound"]), 4)


class SentimentAnalyzer:
    """Mean compound score over the bio and each caption, so one long caption does not dominate."""

    name = "sentiment"
    version = "1"

    def analyze(self, item: CreatorInput) -> dict[str, Any]:
        texts = [t for t in [item.bio, *(p.caption for p in item.posts)] if t.strip()]
        if not texts:
            return {"label": "neutral", "compound": 0.0, "samples": 0}
        compound = round(sum(score(t) for t in texts) / len(texts), 4)
        return {"label": label_for(compound), "compound": compound, "samples": len(texts)}
