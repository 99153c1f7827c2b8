"""Factories for messaging tests: users, sessions (with their host membership), members, messages."""

from __future__ import annotations

import itertools

import factory
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tests.factories import UserFactory
from messaging.models import LiveSession, Membership, Message

__all__ = ["LiveSessionFactory", "MembershipFactory", "MessageFactory", "UserFactory", "client_for", "token_for"]

_seq = itertools.count(1)


class LiveSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LiveSession
        skip_postgeneration_save = True

    host = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Session {n}")

    @factory.post_generation
    def host_membership(obj, create, extracted, **kwargs):
        if create:
            Membership.objects.create(session=obj, user=obj.host, role=Membership.Role.HOST)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    session = factory.SubFactory(LiveSessionFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.PARTICIPANT


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    session = factory.SubFactory(LiveSessionFactory)
    author = factory.LazyAttribute(lambda o: o.session.host)
    body = factory.Sequence(lambda n: f"message {n}")


def token_for(user) -> str:
    return str(AccessToken.for_user(user))


def client_for(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    return client
