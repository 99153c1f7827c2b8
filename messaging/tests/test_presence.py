"""The presence store's own verbs (with Redis in the PostgreSQL + Redis pass, in memory otherwise)."""

from messaging import presence


async def test_clear_forgets_every_session(fresh_presence):
    await presence.join(101, presence.entry("c1", 1, "Ada"))
    await presence.join(102, presence.entry("c2", 2, "Bob"))
    assert await presence.online(101) == [{"id": 1, "display_name": "Ada"}]
    await presence.clear()
    assert await presence.online(101) == [] and await presence.online(102) == []
