"""messaging/runtime.py: one owner of a process's messaging state."""

import asyncio

from messaging import presence
from messaging.runtime import memory_presence, runtime


async def test_a_loop_has_one_runtime_whose_parts_are_wired_together():
    here = runtime()
    assert runtime() is here
    assert here.hub is runtime().hub
    assert here.group_commit.deliver_local == here.hub.deliver  # local sends reach this loop's hub
    assert here.presence_batcher is runtime().presence_batcher
    assert here.database_calls is runtime().database_calls


def test_each_loop_gets_its_own_runtime_but_shares_the_memory_presence_store(settings):
    settings.REDIS_URL = ""

    async def parts():
        return runtime(), presence.backend()

    first, second = asyncio.run(parts()), asyncio.run(parts())
    assert first[0] is not second[0]
    assert first[1] is second[1] is memory_presence()
