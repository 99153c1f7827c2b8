"""Language identification with py3langid (offline, 97 languages, deterministic)."""

from __future__ import annotations

from functools import cache
from typing import Any

from creators.analysis.base import CreatorInput


@cache
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)


def identify(text: str) -> tuple[str, float]:
    """(ISO 639-1 code, probability); ("", 0.0) for text with no letters."""
    if not any(ch.isalpha() for ch in text):
        return "", 0.0
    code, prob = _identifier().classify(text)
    return str(code), round(float(prob), 4)


class LanguageAnalyzer:
    name = "language"
    version = "1"

    def analyze(self, item: CreatorInput) -> dict[str, Any]:
        code, prob = identify(item.text)
        return {"code": code, "confidence": prob}
