"""Reads: search, one creator, unlocks, credits, and the system stats."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField, TrigramSimilarity
from django.core.cache import cache
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import Expression
from django.db.models.functions import Lower
from django.utils import timezone

from creators.analysis.pipeline import analyzer_version, load_analyzers
from creators.errors import CreatorNotFound
from creators.models import (
    SEARCH_CONFIG,
    SEARCH_DOCUMENT_COLUMN,
    Creator,
    CreatorPost,
    CreditAccount,
    CreditLedger,
    Unlock,
)

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler

    from accounts.interface import User

logger = logging.getLogger(__name__)

_TERM_RE = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 8
STATS_CACHE_KEY = "creators:system_stats:v1"

ORDERINGS = {
    "followers": ("followers", "id"),
    "-followers": ("-followers", "-id"),
    "engagement": ("engagement_rate", "id"),
    "-engagement": ("-engagement_rate", "-id"),
}


@dataclass(frozen=True)
class SearchFilters:
    q: str = ""
    platform: str | None = None
    category: str | None = None
    country: str | None = None
    language: str | None = None
    min_followers: int | None = None
    max_followers: int | None = None
    min_engagement: float | None = None
    max_engagement: float | None = None
    verified: bool | None = None
    ordering: str | None = None


class SearchDocument(Expression):
    """The PostgreSQL-only `search_document` column of whichever alias the query gives the table.

    Not a model field (see creators.models), so it is referenced here; the alias matters because
    the same expression is used inside subqueries, where the table is `U0`, not `creators_creator`.
    """

    output_field = SearchVectorField()

    # Django's own expressions (Col, say) return their params as a list; django-stubs says tuple.
    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, list[Any]]:
        alias = compiler.query.get_initial_alias()
        return f"{compiler.quote_name_unless_alias(alias)}.{connection.ops.quote_name(SEARCH_DOCUMENT_COLUMN)}", []


class EqualsAny(Func):
    """`(value = ANY(array))`, a boolean condition (PostgreSQL)."""

    arg_joiner = " = ANY("
    template = "(%(expressions)s))"
    output_field = BooleanField()


def search_terms(q: str) -> list[str]:
    return [t.lower() for t in _TERM_RE.findall(q)][:MAX_TERMS]


def with_unlock_state(qs: QuerySet[Creator], *, user: User) -> QuerySet[Creator]:
    """Annotate `unlocked_at` (None while locked) for `user`, in the same query."""
    unlocked = Unlock.objects.filter(user=user, creator=OuterRef("pk")).values("created_at")[:1]
    return qs.annotate(unlocked_at=Subquery(unlocked))


def _text_search(qs: QuerySet[Creator], q: str) -> QuerySet[Creator]:
    terms = search_terms(q)
    if not terms:
        return qs.annotate(relevance=Value(0.0))
    handle_q = q.strip().lstrip("@").lower()
    if connection.vendor == "postgresql":
        # Prefix match on every term ('fit' finds 'fitness'), over the GIN-indexed vector, or a
        # handle that is trigram-similar (typos: 'jonhdoe' finds 'johndoe').
        tsquery = SearchQuery(" & ".join(f"{t}:*" for t in terms), search_type="raw", config=SEARCH_CONFIG)
        vector = SearchDocument()
        # `document @@ query OR id = ANY(ARRAY(trigram-similar ids))`, not `... OR lower(handle) %
        # q`: with the plain OR the planner tends to pick a sequential scan that computes trigrams
        # of every handle, and an `id IN (UNION)` hash-joins against the whole table. This form is
        # one BitmapOr of the GIN index and the primary key (2-5x faster on 100k rows).
        handle_ids = ArraySubquery(
            Creator.objects.annotate(h=Lower("handle")).filter(h__trigram_similar=handle_q).values("pk")
        )
        return (
            qs.annotate(search=vector)
            .filter(Q(search=tsquery) | Q(EqualsAny(F("pk"), handle_ids)))
            .annotate(relevance=SearchRank(vector, tsquery) + TrigramSimilarity(Lower("handle"), handle_q))
        )
    # Portable fallback (SQLite): every term somewhere in handle, name, bio or category.
    for term in terms:
        qs = qs.filter(
            Q(handle__icontains=term) | Q(display_name__icontains=term) | Q(bio__icontains=term)
            | Q(category__icontains=term)
        )
    return qs.annotate(
        relevance=Case(
            When(handle__iexact=handle_q, then=Value(4)),
            When(handle__istartswith=handle_q, then=Value(3)),
            When(display_name__icontains=handle_q, then=Value(2)),
            default=Value(1),
            output_field=IntegerField(),
        )
    )


def creator_search(*, user: User, filters: SearchFilters) -> QuerySet[Creator]:
    qs = Creator.objects.all()
    if filters.platform:
        qs = qs.filter(platform=filters.platform)
    if filters.category:
        qs = qs.filter(category=filters.category.lower())
    if filters.country:
        qs = qs.filter(country=filters.country.upper())
    if filters.language:
        qs = qs.filter(language=filters.language.lower())
    if filters.min_followers is not None:
        qs = qs.filter(followers__gte=filters.min_followers)
    if filters.max_followers is not None:
        qs = qs.filter(followers__lte=filters.max_followers)
    if filters.min_engagement is not None:
        qs = qs.filter(engagement_rate__gte=filters.min_engagement)
    if filters.max_engagement is not None:
        qs = qs.filter(engagement_rate__lte=filters.max_engagement)
    if filters.verified is not None:
        qs = qs.filter(verified=filters.verified)
    has_text = bool(search_terms(filters.q))
    if has_text:
        qs = _text_search(qs, filters.q)
    ordering = filters.ordering or ("relevance" if has_text else "-followers")
    if ordering == "relevance":
        order_by = (F("relevance").desc(), "-followers", "-id") if has_text else ORDERINGS["-followers"]
    else:
        order_by = ORDERINGS[ordering]
    return with_unlock_state(qs, user=user).order_by(*order_by)


def creator_get(*, user: User, creator_id: int) -> Creator:
    creator = with_unlock_state(Creator.objects.filter(pk=creator_id), user=user).first()
    if creator is None:
        raise CreatorNotFound()
    return creator


def creator_recent_posts(*, creator: Creator, limit: int = 12) -> list[CreatorPost]:
    return list(creator.posts.order_by("-posted_at", "-id")[:limit])


def unlocked_creators(*, user: User) -> QuerySet[Creator]:
    return with_unlock_state(Creator.objects.filter(unlocks__user=user), user=user).order_by(
        F("unlocked_at").desc(), "-id"
    )


def credit_balance(*, user: User) -> int:
    return CreditAccount.objects.filter(user=user).values_list("balance", flat=True).first() or 0


def credit_ledger(*, user: User) -> QuerySet[CreditLedger]:
    return CreditLedger.objects.filter(user=user).select_related("creator").order_by("-id")


def _rate(part: int, total: int) -> str:
    return f"{(part / total * 100) if total else 0.0:.1f}%"


def _compute_stats() -> dict[str, Any]:
    version = analyzer_version(load_analyzers())
    counts = {
        "total": Count("id"),
        "with_ai_analysis": Count("id", filter=Q(ai_analyzed_at__isnull=False)),
        "with_current_analysis": Count("id", filter=Q(ai_analyzer_version=version)),
    }
    # One aggregate query per table, whatever their sizes.
    profiles = Creator.objects.aggregate(**counts)
    posts = CreatorPost.objects.aggregate(**counts)
    for block in (profiles, posts):
        block["ai_completion_rate"] = _rate(block["with_ai_analysis"], block["total"])
    return {
        "profiles": profiles,
        "posts": posts,
        "system": {
            "status": "ok",
            "ai_system": "offline analyzers",
            "ai_analyzer_version": version,
            "database": connection.vendor,
            "generated_at": timezone.now().isoformat(),
            "cache_seconds": settings.CREATOR_STATS_CACHE_SECONDS,
        },
    }


def system_stats() -> dict[str, Any]:
    """Totals and analysis coverage, cached for CREATOR_STATS_CACHE_SECONDS.

    A cache outage costs two aggregate queries, never the answer.
    """
    try:
        cached: dict[str, Any] | None = cache.get(STATS_CACHE_KEY)
    except Exception:
        logger.warning("stats cache unavailable", exc_info=True)
        cached = None
    if cached is not None:
        return cached
    stats = _compute_stats()
    if settings.CREATOR_STATS_CACHE_SECONDS > 0:
        try:
            cache.set(STATS_CACHE_KEY, stats, settings.CREATOR_STATS_CACHE_SECONDS)
        except Exception:
            logger.warning("stats cache unavailable", exc_info=True)
    return stats
