"""A deterministic, realistic demo data set: creators, posts, and a demo user with credits.

Creator `i` is built from its own `random.Random(seed, i)` stream, so the set is the same on
every run and on every machine, and seeding more creators later adds to it without changing
the ones already there. Rows go in batches: COPY on PostgreSQL, bulk_create elsewhere.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Model

from creators import services
from creators.models import Creator, CreatorPost, CreditAccount, Platform

DEMO_EMAIL = "demo@flashlearn.local"
DEMO_PASSWORD = "flashlearn-demo"

_ADJECTIVES = ("sunny", "urban", "wild", "daily", "little", "golden", "happy", "bold", "quiet", "cosmic",
               "fresh", "lazy", "nomad", "real", "simple", "true", "vivid", "zen")
_FIRST = ("ana", "ben", "chloe", "diego", "emma", "farah", "gus", "hana", "ivan", "jade", "kofi", "lena", "marco",
          "nora", "omar", "priya", "quinn", "rosa", "sam", "tara", "uma", "victor", "wen", "yara", "zoe")
_LAST = ("smith", "garcia", "kim", "rossi", "muller", "dubois", "silva", "khan", "novak", "tanaka", "ali", "costa")

# Per category: handle nouns, English bio sentences, caption sentences.
_CATEGORIES = {
    "fitness": ("fit", ["Personal trainer sharing daily workout plans and gym motivation.",
                        "Yoga, running and protein-packed meals for a strong body."],
                ["Leg day done! New personal record on the squat rack", "Morning yoga flow to start the week",
                 "Marathon training week 12, feeling strong"]),
    "beauty": ("glow", ["Skincare routines and honest makeup reviews.", "Makeup artist, lipstick addict, glow lover."],
               ["My five step skincare routine for glowing skin", "Testing the new mascara everyone talks about",
                "Soft glam makeup tutorial for beginners"]),
    "fashion": ("style", ["Streetwear and vintage fashion from my wardrobe.",
                          "Daily outfit ideas, ootd and style tips."],
                ["Outfit of the day: vintage denim and sneakers", "Three ways to style one blazer",
                 "Runway looks I would actually wear"]),
    "food": ("chef", ["Home cook sharing easy recipes and baking experiments.",
                      "Vegan recipes and restaurant reviews from a hungry foodie."],
             ["The easiest weeknight pasta recipe", "Sourdough baking day, delicious results",
              "Brunch at the best restaurant in town"]),
    "travel": ("roams", ["Travel diaries, hidden beaches and backpacking tips.",
                         "Digital nomad exploring the world one trip at a time."],
               ["Sunrise over the beach, the best trip ever", "Backpacking through the mountains this week",
                "Hotel review: worth every penny"]),
    "gaming": ("plays", ["Streamer and gamer. Esports, Minecraft and late night gaming.",
                         "Nintendo and PlayStation reviews, live on stream every night."],
               ["New game review: is it worth it?", "Live stream tonight, come hang out",
                "Esports finals recap, what a match"]),
    "tech": ("codes", ["Software developer reviewing gadgets and coding tools.",
                       "Tech reviews, smartphone tips and AI explained."],
             ["Smartphone review after one month", "Coding setup tour for developers",
              "Five apps that changed my workflow"]),
    "music": ("beats", ["Singer and songwriter. New album out now.", "Music producer and DJ making beats every day."],
              ["New song out now, link in bio", "Studio session with the band", "Concert night, thank you all"]),
    "comedy": ("lol", ["Comedy sketches and funny memes every day.", "Comedian telling jokes about everyday life."],
               ["This prank went too far", "When your mom finds your memes", "Funny sketch about office life"]),
    "education": ("learns", ["Teacher sharing science facts and study tips.",
                             "History and math explained simply. Learning is fun."],
                  ["Five study tips that actually work", "Science fact of the day", "History explained in one minute"]),
}

_FOREIGN_BIOS = {
    "es": "Comparto recetas, viajes y mi vida diaria con mucho cariño. Gracias por seguirme y por todo su apoyo.",
    "fr": "Je partage mes voyages, ma cuisine et ma vie de tous les jours. Merci pour votre soutien et à bientôt.",
    "de": "Ich teile meine Reisen, mein Essen und meinen Alltag mit euch. Danke für eure Unterstützung und bis bald.",
    "pt": "Compartilho minhas viagens, receitas e minha vida diária com vocês. Obrigada pelo carinho e apoio de todos.",
    "it": "Condivido i miei viaggi, la mia cucina e la mia vita di tutti i giorni. Grazie per il vostro supporto.",
}
_COUNTRIES = {"en": ("US", "GB", "CA", "AU", "IN"), "es": ("ES", "MX", "AR"), "fr": ("FR", "BE"),
              "de": ("DE", "AT"), "pt": ("BR", "PT"), "it": ("IT",)}
_BASE_TIME = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass
class SeedResult:
    creators_created: int = 0
    posts_created: int = 0
    demo_email: str = DEMO_EMAIL
    demo_balance: int = 0
    demo_password: str | None = None  # the password set on this run; None: left as it was


def demo_handle(i: int, seed: int) -> str:
    rng = random.Random(f"{seed}:{i}:handle")
    return f"{rng.choice(_ADJECTIVES)}{rng.choice(_FIRST)}_{i}"


def build_creator(i: int, *, seed: int) -> tuple[Creator, list[dict]]:
    """Creator number `i` and the field values of its posts (creator id not yet known)."""
    rng = random.Random(f"{seed}:{i}")
    category = rng.choice(list(_CATEGORIES))
    noun, bios, captions = _CATEGORIES[category]
    language = "en" if rng.random() < 0.75 else rng.choice(list(_FOREIGN_BIOS))
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    handle = demo_handle(i, seed)
    # Log-normal audiences: most creators are small, a few are huge.
    followers = int(min(rng.lognormvariate(10, 1.6), 150_000_000))
    tier_rate = 4.0 if followers < 10_000 else 2.5 if followers < 100_000 else 1.5
    engagement = round(max(0.01, rng.gauss(tier_rate, tier_rate / 2)), 2)
    if rng.random() < 0.04:  # a few with suspiciously low engagement for their audience
        engagement = round(tier_rate * 0.05, 3)
    bio = rng.choice(bios) if language == "en" else _FOREIGN_BIOS[language]
    platform = rng.choice(Platform.values)
    creator = Creator(
        platform=platform,
        handle=handle,
        display_name=f"{first.title()} {last.title()}",
        bio=f"{bio} #{category} {noun}",
        avatar_url=f"https://cdn.example.com/avatars/{handle}.jpg",
        profile_url=f"https://{platform}.example.com/{handle}",
        followers=followers,
        following=int(rng.uniform(50, 2_000)) if rng.random() > 0.05 else int(followers * 0.9),
        posts_count=rng.randint(10, 3_000),
        engagement_rate=engagement,
        category=category,
        country=rng.choice(_COUNTRIES[language]),
        language=language,
        verified=followers > 500_000 and rng.random() < 0.6,
        contact_email=f"hello@{handle.replace('_', '-')}.example.com",
        contact_phone=f"+1555{rng.randint(1_000_000, 9_999_999)}",
    )
    per_post = followers * engagement / 100
    posts = []
    for n in range(rng.randint(1, 4)):
        likes = int(per_post * rng.uniform(0.6, 1.3))
        posts.append({
            "platform_post_id": f"{handle}-{n}",
            "caption": f"{rng.choice(captions)} #{category}",
            "media_type": rng.choice(CreatorPost.MediaType.values),
            "likes": likes,
            "comments": int(likes * rng.uniform(0.01, 0.05)),
            "views": int(likes * rng.uniform(3, 12)),
            "posted_at": _BASE_TIME + timedelta(hours=rng.randint(0, 24 * 300)),
        })
    return creator, posts


def seed(*, creators: int, seed: int = 42, batch_size: int = 5_000, posts: bool = True,
         demo_credits: int = 100, demo_password: str | None = None,
         on_batch: Callable[[int], None] | None = None) -> SeedResult:
    """Make creators 0..`creators`-1 exist (adding only the missing ones) and top up the demo user.

    `demo_password` is set on the demo user, new or not; without it a new demo user gets
    DEMO_PASSWORD (the command allows that only with DEBUG on) and an existing one keeps its own.
    """
    result = SeedResult()
    for start in range(0, creators, batch_size):
        built = [build_creator(i, seed=seed) for i in range(start, min(start + batch_size, creators))]
        with transaction.atomic():
            present = set(
                Creator.objects.filter(handle__in=[c.handle for c, _ in built]).values_list("platform", "handle")
            )
            missing = [(c, p) for c, p in built if (c.platform, c.handle) not in present]
            made = _insert([c for c, _ in missing], batch_size=batch_size)
            result.creators_created += len(made)
            if posts:
                rows = [CreatorPost(creator_id=c.pk, **fields)
                        for c, (_, post_fields) in zip(made, missing, strict=True) for fields in post_fields]
                _insert(rows, batch_size=batch_size)
                result.posts_created += len(rows)
        if on_batch:
            on_batch(len(built))
    result.demo_balance, result.demo_password = demo_user(credits=demo_credits, password=demo_password)
    return result


def _insert(objs: list[Model], *, batch_size: int) -> list[Model]:
    """Insert `objs` and return them with primary keys set."""
    if not objs:
        return objs
    if connection.vendor != "postgresql":
        return type(objs[0]).objects.bulk_create(objs, batch_size=batch_size)
    # COPY skips per-row SQL compilation and is several times faster for 100,000 rows.
    model = type(objs[0])
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])
        if model is Creator:
            cursor.execute(
                "SELECT platform, handle, id FROM creators_creator WHERE handle = ANY(%s)",
                [[o.handle for o in objs]],
            )
            ids = {(platform, handle): pk for platform, handle, pk in cursor.fetchall()}
            for obj in objs:
                obj.pk = ids[(obj.platform, obj.handle)]
    return objs


def demo_user(*, credits: int, password: str | None = None) -> tuple[int, str | None]:
    """Create the demo user if needed, set `password` when given, and top its balance up to
    `credits`; returns the balance and the password set on this call (None: unchanged)."""
    User = get_user_model()
    user = User.objects.filter(email=DEMO_EMAIL).first()
    if user is None:
        password = password or DEMO_PASSWORD
        user = User.objects.create_user(email=DEMO_EMAIL, password=password, display_name="Demo User")
    elif password:
        user.set_password(password)
        user.save(update_fields=["password"])
    balance = CreditAccount.objects.filter(user=user).values_list("balance", flat=True).first() or 0
    if balance < credits:
        balance = services.credits_grant(user=user, amount=credits - balance, note="seed_demo top-up").balance_after
    return balance, password
