"""Keyword lexicons for categories and brand-safety flags, and the tokenizer they share."""

from __future__ import annotations

import re
from collections import Counter

_WORD_RE = re.compile(r"[#@]?(\w+)", re.UNICODE)

CATEGORY_KEYWORDS: dict[str, frozenset[str]] = {
    "fitness": frozenset("fitness gym workout training muscle yoga running run cardio protein athlete crossfit "
                         "pilates hiit bodybuilding marathon fit".split()),
    "beauty": frozenset("beauty makeup skincare cosmetics lipstick hair nails glow serum foundation mascara "
                        "skin".split()),
    "fashion": frozenset("fashion style outfit ootd streetwear designer wardrobe clothing model runway "
                         "vintage".split()),
    "food": frozenset("food recipe recipes cooking chef baking foodie vegan restaurant dinner kitchen "
                      "delicious eat eats brunch "
                      # a few common words in other languages creators write in
                      "recette recettes cuisine receta recetas cocina rezept rezepte kochen ricetta ricette "
                      "cucina receita receitas culinária".split()),
    "travel": frozenset("travel wanderlust adventure explore trip backpacking hotel beach destinations "
                        "journey roadtrip nomad voyage voyages viaje viajes reise reisen viaggio viaggi "
                        "viagem viagens".split()),
    "gaming": frozenset("gaming gamer esports twitch playstation xbox nintendo stream streamer fortnite "
                        "minecraft game games".split()),
    "tech": frozenset("tech technology gadgets software coding developer programming ai startup review "
                      "reviews smartphone apps".split()),
    "music": frozenset("music musician singer song songs producer dj band album guitar rapper concert "
                       "beats".split()),
    "comedy": frozenset("comedy funny memes comedian jokes prank sketch humor humour lol".split()),
    "education": frozenset("education learn learning teacher science history math tutorial tips study "
                           "explained facts".split()),
    "parenting": frozenset("parenting mom dad mum baby kids family motherhood toddler parent".split()),
    "finance": frozenset("finance investing money stocks crypto budget wealth trading savings "
                         "entrepreneur".split()),
    "pets": frozenset("pets pet dog dogs cat cats puppy kitten animals vet".split()),
    "lifestyle": frozenset("lifestyle life daily vlog vlogger home decor wellness mindfulness "
                           "inspiration".split()),
}

BRAND_SAFETY_KEYWORDS: dict[str, frozenset[str]] = {
    "profanity": frozenset("fuck fucking shit bitch asshole bastard damn crap wtf".split()),
    "violence": frozenset("kill killing gun guns shooting murder blood fight weapon weapons".split()),
    "adult": frozenset("nsfw xxx porn onlyfans nude nudes sexy explicit".split()),
    "drugs": frozenset("weed cannabis marijuana cocaine drugs stoned high420 420".split()),
    "gambling": frozenset("casino gambling betting bet poker slots jackpot".split()),
    "alcohol": frozenset("alcohol drunk vodka whiskey tequila beer wine shots".split()),
    "hate": frozenset("hate racist nazi slur".split()),
}


def tokens(text: str) -> list[str]:
    """Lower-cased words, hashtags and mentions without their # and @."""
    return [m.group(1).lower() for m in _WORD_RE.finditer(text)]


def keyword_hits(words: list[str], lexicon: dict[str, frozenset[str]]) -> dict[str, Counter]:
    """{label: Counter(keyword -> occurrences)} for labels with at least one hit."""
    hits: dict[str, Counter] = {}
    for word in words:
        for label, keywords in lexicon.items():
            if word in keywords:
                hits.setdefault(label, Counter())[word] += 1
    return hits
