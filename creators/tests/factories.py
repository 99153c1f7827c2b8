from __future__ import annotations

import factory

from accounts.tests.factories import UserFactory
from creators.models import Creator, CreatorPost, Platform

__all__ = ["CreatorFactory", "PostFactory", "UserFactory"]


class CreatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Creator

    platform = Platform.INSTAGRAM
    handle = factory.Sequence(lambda n: f"creator{n}")
    display_name = factory.Sequence(lambda n: f"Creator {n}")
    bio = "Just posting things."
    followers = 1_000
    following = 100
    posts_count = 10
    engagement_rate = 2.0
    category = "lifestyle"
    country = "US"
    language = "en"
    contact_email = factory.LazyAttribute(lambda o: f"{o.handle}@mail.example.com")
    contact_phone = "+15550001111"


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreatorPost

    creator = factory.SubFactory(CreatorFactory)
    platform_post_id = factory.Sequence(lambda n: f"p{n}")
    caption = "A lovely day."
    likes = 20
    comments = 2
    views = 100
