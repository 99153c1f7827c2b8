"""Brand-safety flags by keyword lexicon: what an advertiser would want to know first."""

from __future__ import annotations

from typing import Any

from creators.analysis.base import CreatorInput
from creators.analysis.lexicon import BRAND_SAFETY_KEYWORDS, keyword_hits, tokens


class BrandSafetyAnalyzer:
    name = "brand_safety"
    version = "1"

    def analyze(self, item: CreatorInput) -> dict[str, Any]:
        hits = keyword_hits(tokens(item.text), BRAND_SAFETY_KEYWORDS)
        flags = sorted(hits)
        total = sum(sum(c.values()) for c in hits.values())
        risk = "high" if total >= 5 or {"adult", "hate"} & set(flags) else "medium" if total >= 2 else (
            "low" if total else "none")
        return {
            "safe": not flags,
            "risk": risk,
            "flags": flags,
            "matches": {label: sorted(hits[label]) for label in flags},
        }
