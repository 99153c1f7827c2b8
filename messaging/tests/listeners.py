"""Listen to a session's Channels group from sync tests (in-memory layer: `memory_layers` fixture)."""

from __future__ import annotations

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from messaging.events import channel_layer_alias, session_group


class GroupListener:
    def __init__(self, session_id: int):
        self.layer = get_channel_layer(channel_layer_alias())
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(session_group(session_id), self.channel)

    def events(self) -> list[dict]:
        """Everything broadcast so far (the in-memory layer delivers synchronously on group_send)."""

        async def drain():
            out = []
            while True:
                try:
                    out.append(await asyncio.wait_for(self.layer.receive(self.channel), 0.02))
                except TimeoutError:
                    return out

        return async_to_sync(drain)()
