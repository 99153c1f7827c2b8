"""Category and topics from bio and captions by keyword lexicon."""

from __future__ import annotations

from typing import Any

from creators.analysis.base import CreatorInput
from creators.analysis.lexicon import CATEGORY_KEYWORDS, keyword_hits, tokens


class TopicsAnalyzer:
    name = "topics"
    version = "1"

    def analyze(self, item: CreatorInput) -> dict[str, Any]:
        hits = keyword_hits(tokens(item.text), CATEGORY_KEYWORDS)
        # Ties break by name so the result never depends on dict or set order.
        ranked = sorted(hits.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
        category = ranked[0][0] if ranked else ""
        keywords = sorted(
            {word for _, counter in ranked[:3] for word in counter},
            key=lambda w: (-sum(c[w] for _, c in ranked), w),
        )[:10]
        return {
            "category": category,
            "topics": [label for label, _ in ranked[:3]],
            "keywords": keywords,
        }
