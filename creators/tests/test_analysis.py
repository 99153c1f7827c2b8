import pytest

from creators.analysis import pipeline
from creators.analysis.base import Analyzer, CreatorInput, PostInput
from creators.analysis.brand_safety import BrandSafetyAnalyzer
from creators.analysis.language import LanguageAnalyzer, identify
from creators.analysis.quality import QualityAnalyzer
from creators.analysis.sentiment import SentimentAnalyzer
from creators.analysis.topics import TopicsAnalyzer
from creators.models import Creator, CreatorPost
from creators.tests.factories import CreatorFactory, PostFactory

LANGUAGE_CORPUS = [
    ("I share my favourite recipes and travel stories with all of you every single week.", "en"),
    ("Comparto mis recetas favoritas y mis historias de viaje con todos ustedes cada semana.", "es"),
    ("Je partage mes recettes préférées et mes histoires de voyage avec vous chaque semaine.", "fr"),
    ("Ich teile jede Woche meine Lieblingsrezepte und Reisegeschichten mit euch allen.", "de"),
    ("Condivido ogni settimana con tutti voi le mie ricette preferite e le mie storie di viaggio.", "it"),
    ("Compartilho minhas receitas favoritas e histórias de viagem com todos vocês toda semana.", "pt"),
    ("Я делюсь любимыми рецептами и историями о путешествиях каждую неделю.", "ru"),
    ("私は毎週お気に入りのレシピと旅行の話をみんなと共有しています。", "ja"),
]

SENTIMENT_CORPUS = [
    ("I absolutely love this, it is wonderful and amazing!", "positive"),
    ("Best day ever, thank you all so much :)", "positive"),
    ("This is terrible, I hate it and I am so disappointed.", "negative"),
    ("Worst service ever. Awful, horrible experience.", "negative"),
    ("The video goes up at 5 pm on Tuesday.", "neutral"),
]


@pytest.mark.parametrize(("text", "expected"), LANGUAGE_CORPUS)
def test_language_of_known_texts(text, expected):
    code, confidence = identify(text)
    assert code == expected
    assert 0.5 < confidence <= 1.0


def test_language_of_text_without_letters_is_unknown():
    assert identify("1234 !!! 😀") == ("", 0.0)


@pytest.mark.parametrize(("text", "expected"), SENTIMENT_CORPUS)
def test_sentiment_of_known_texts(text, expected):
    assert SentimentAnalyzer().analyze(CreatorInput(bio=text))["label"] == expected


def test_sentiment_averages_bio_and_captions():
    item = CreatorInput(bio="I love it, wonderful!", posts=(PostInput(caption="I hate this, awful."),))
    result = SentimentAnalyzer().analyze(item)
    assert result["samples"] == 2
    assert -0.3 < result["compound"] < 0.3


def test_topics_from_bio_and_captions():
    item = CreatorInput(bio="Chef sharing recipes", posts=(PostInput(caption="Vegan baking in my kitchen #food"),
                                                          PostInput(caption="Morning yoga")))
    result = TopicsAnalyzer().analyze(item)
    assert result["category"] == "food"
    assert result["topics"][:2] == ["food", "fitness"]
    assert "recipes" in result["keywords"]


def test_topics_of_unrelated_text_are_empty():
    assert TopicsAnalyzer().analyze(CreatorInput(bio="qwerty zxcv"))["category"] == ""


def test_brand_safety_flags():
    clean = BrandSafetyAnalyzer().analyze(CreatorInput(bio="Family recipes and garden tips"))
    assert clean == {"safe": True, "risk": "none", "flags": [], "matches": {}}
    risky = BrandSafetyAnalyzer().analyze(CreatorInput(bio="Casino nights, betting tips and vodka shots #nsfw"))
    assert risky["safe"] is False
    assert risky["flags"] == ["adult", "alcohol", "gambling"]
    assert risky["risk"] == "high"
    assert risky["matches"]["gambling"] == ["betting", "casino"]


def posts(n: int, likes: int, comments: int) -> tuple[PostInput, ...]:
    return tuple(PostInput(caption="x", likes=likes, comments=comments) for _ in range(n))


def test_quality_rewards_typical_engagement_and_flags_anomalies():
    healthy = QualityAnalyzer().analyze(CreatorInput(followers=50_000, following=300, posts=posts(12, 1_300, 60)))
    bought = QualityAnalyzer().analyze(CreatorInput(followers=50_000, following=300, posts=posts(12, 50, 1)))
    follow4follow = QualityAnalyzer().analyze(
        CreatorInput(followers=50_000, following=48_000, posts=posts(12, 1_300, 60)))
    assert healthy["anomalies"] == [] and healthy["confidence"] == "high"
    assert 70 <= healthy["score"] <= 100
    assert "engagement_far_below_followers" in bought["anomalies"]
    assert bought["score"] < 30
    assert follow4follow["anomalies"] == ["following_close_to_followers"]
    assert follow4follow["score"] < healthy["score"]


def test_quality_confidence_follows_the_post_count():
    def confidence(n):
        return QualityAnalyzer().analyze(CreatorInput(followers=1_000, posts=posts(n, 30, 2)))["confidence"]

    assert [confidence(0), confidence(2), confidence(3), confidence(9), confidence(10)] == [
        "low", "low", "medium", "medium", "high"]


def test_quality_score_stays_within_1_and_100():
    assert QualityAnalyzer().analyze(CreatorInput())["score"] == 1
    huge = QualityAnalyzer().analyze(CreatorInput(followers=100, posts=posts(3, 10_000, 10_000)))
    assert 1 <= huge["score"] <= 100 and "engagement_far_above_followers" in huge["anomalies"]


def test_every_shipped_analyzer_implements_the_interface():
    for analyzer in pipeline.load_analyzers():
        assert isinstance(analyzer, Analyzer)
        assert analyzer.name and analyzer.version


def test_analysis_is_deterministic():
    item = CreatorInput(bio="Yoga teacher. I love sunny mornings!", followers=2_000,
                        posts=posts(4, 60, 4))
    analyzers = pipeline.load_analyzers()
    assert pipeline.analyze_input(item, analyzers) == pipeline.analyze_input(item, analyzers)


class UpperAnalyzer:
    name = "shout"
    version = "1"

    def analyze(self, item):
        return {"bio": item.bio.upper()}


def test_an_analyzer_can_be_plugged_in(db, settings):
    settings.CREATOR_ANALYZERS = ["creators.tests.test_analysis.UpperAnalyzer"]
    creator = CreatorFactory(bio="hi")
    result = pipeline.run()
    creator.refresh_from_db()
    assert result.creators == 1
    assert creator.ai_analysis == {"summary": {}, "shout": {"bio": "HI"}}
    assert creator.ai_analyzer_version == "shout:1"


def test_a_non_analyzer_is_refused(settings):
    settings.CREATOR_ANALYZERS = ["creators.importing.ParsedRows"]
    with pytest.raises(TypeError):
        pipeline.load_analyzers()


@pytest.mark.django_db
def test_pipeline_analyses_creators_and_posts_and_fills_blanks():
    creator = CreatorFactory(bio="Je partage mes recettes de cuisine préférées avec vous", language="", category="",
                             followers=5_000)
    PostFactory(creator=creator, caption="Une recette délicieuse pour le dîner, merci à tous", likes=150, comments=9)
    keep = CreatorFactory(bio="Recipes and cooking", language="es", category="travel")
    result = pipeline.run(batch_size=1)
    assert (result.creators, result.posts, result.batches) == (2, 1, 2)
    creator.refresh_from_db()
    keep.refresh_from_db()
    assert creator.ai_analysis["language"]["code"] == "fr"
    assert creator.language == "fr" and creator.category == "food"
    assert creator.ai_analysis["summary"]["quality_score"] >= 1
    assert creator.ai_analyzed_at is not None
    assert (keep.language, keep.category) == ("es", "travel")  # operator values are kept
    post = CreatorPost.objects.get()
    assert post.ai_analysis["language"]["code"] == "fr"
    assert "quality" not in post.ai_analysis
    assert post.ai_analyzer_version == creator.ai_analyzer_version


@pytest.mark.django_db
def test_pipeline_is_idempotent_and_resumable():
    CreatorFactory.create_batch(5)
    first = pipeline.run(batch_size=2, limit=3)  # "interrupted" after 3
    assert first.creators == 3
    assert Creator.objects.filter(ai_analyzed_at__isnull=True).count() == 2
    second = pipeline.run(batch_size=2)
    assert second.creators == 2  # only the rest
    assert pipeline.run().creators == 0  # nothing new: a no-op
    assert pipeline.run(force=True).creators == 5


@pytest.mark.django_db
def test_a_new_analyzer_version_makes_rows_stale(settings):
    CreatorFactory.create_batch(2)
    pipeline.run()
    LanguageAnalyzer.version = "2"
    try:
        assert pipeline.run().creators == 2
        assert set(Creator.objects.values_list("ai_analyzer_version", flat=True)) == {
            pipeline.analyzer_version(pipeline.load_analyzers())}
    finally:
        LanguageAnalyzer.version = "1"


@pytest.mark.django_db
def test_a_new_post_makes_its_creator_stale():
    creator = CreatorFactory()
    pipeline.run()
    PostFactory(creator=creator)
    assert pipeline.run().creators == 1
    assert CreatorPost.objects.get().ai_analyzed_at is not None
