import pytest

from messaging.tests.factories import LiveSessionFactory, MembershipFactory, UserFactory, client_for
from messaging.tests.sockets import fresh_presence, people, release_thread_connections  # noqa: F401 (fixtures)


@pytest.fixture
def memory_layers(settings):
    """Channel layers in this process, so sync tests can listen to a session's group."""
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"},
        "messaging": {"BACKEND": "channels.layers.InMemoryChannelLayer"},
    }


@pytest.fixture
def cast(db):
    """A session with its host, a participant and an outsider, each with an API client."""

    class Cast:
        host = UserFactory()
        member = UserFactory()
        outsider = UserFactory()
        session = LiveSessionFactory(host=host)
        MembershipFactory(session=session, user=member)

        def client(self, user):
            return client_for(user)

    return Cast()
