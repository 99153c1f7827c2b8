"""Creators: unlocks, search and analysis (docs/creators.md)."""

from __future__ import annotations

from flashlearn.env import env_int, env_list

CREATOR_UNLOCK_PRICE = env_int("CREATOR_UNLOCK_PRICE", 1)
CREATOR_STATS_CACHE_SECONDS = env_int("CREATOR_STATS_CACHE_SECONDS", 5)
CREATOR_SEARCH_MAX_PAGE_SIZE = env_int("CREATOR_SEARCH_MAX_PAGE_SIZE", 100)
# Creators per analysis task (`manage.py analyze_creators` queues one task per chunk).
CREATOR_ANALYSIS_CHUNK = env_int("CREATOR_ANALYSIS_CHUNK", 500)
# Dotted paths of the analyzers `manage.py analyze_creators` runs (creators.analysis.base.Analyzer).
CREATOR_ANALYZERS = env_list("CREATOR_ANALYZERS", [
    "creators.analysis.language.LanguageAnalyzer",
    "creators.analysis.sentiment.SentimentAnalyzer",
    "creators.analysis.topics.TopicsAnalyzer",
    "creators.analysis.brand_safety.BrandSafetyAnalyzer",
    "creators.analysis.quality.QualityAnalyzer",
])
