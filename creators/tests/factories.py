from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from creators.models import Creator, CreatorPost, Platform


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.django.Password("pw-for-tests-1")


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
