"""A 1-100 quality score from engagement and follower/engagement anomalies.

Engagement rates fall as audiences grow, so a rate is judged against what is typical for the
creator's follower tier. Anomalies (engagement far below the tier, which suggests bought
followers; far above it, which suggests engagement pods; following close to followers, which
suggests follow-for-follow; likes with almost no comments) take points off. The confidence says
how many posts the score rests on.
"""

from __future__ import annotations

from typing import Any

from creators.analysis.base import CreatorInput

# (follower ceiling, typical engagement rate in percent)
_TYPICAL_RATE = [(10_000, 4.0), (100_000, 2.5), (1_000_000, 1.8), (10_000_000, 1.2), (float("inf"), 0.9)]


def typical_rate(followers: int) -> float:
    for ceiling, rate in _TYPICAL_RATE:
        if followers < ceiling:
            return rate
    return _TYPICAL_RATE[-1][1]  # pragma: no cover


def confidence_for(post_count: int) -> str:
    if post_count >= 10:
        return "high"
    if post_count >= 3:
        return "medium"
    return "low"


class QualityAnalyzer:
    name = "quality"
    version = "1"

    def analyze(self, item: CreatorInput) -> dict[str, Any]:
        followers = max(item.followers, 0)
        posts = item.posts
        if posts and followers:
            per_post = sum(p.likes + p.comments for p in posts) / len(posts)
            rate = per_post / followers * 100
        else:
            rate = max(item.engagement_rate, 0.0)
        typical = typical_rate(followers)
        ratio = rate / typical if typical else 0.0
        # 0 at no engagement, 70 at the typical rate, up to 85 at twice typical.
        score = 70 * min(ratio, 1.0) + 15 * max(0.0, min(ratio - 1.0, 1.0))
        anomalies: list[str] = []
        if followers >= 1_000 and ratio < 0.2:
            anomalies.append("engagement_far_below_followers")
            score -= 10
        if ratio > 5:
            anomalies.append("engagement_far_above_followers")
            score -= 25
        if followers >= 1_000 and item.following >= 0.8 * followers:
            anomalies.append("following_close_to_followers")
            score -= 10
        likes = sum(p.likes for p in posts)
        comments = sum(p.comments for p in posts)
        if likes >= 1_000 and comments * 1_000 < likes:
            anomalies.append("likes_without_comments")
            score -= 10
        if followers >= 10_000:
            score += 10  # reach: an audience of this size is itself worth something
        elif followers >= 1_000:
            score += 5
        return {
            "score": int(max(1, min(100, round(score)))),
            "engagement_rate": round(rate, 4),
            "typical_engagement_rate": typical,
            "anomalies": anomalies,
            "confidence": confidence_for(len(posts)),
            "posts_considered": len(posts),
        }
