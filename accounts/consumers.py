from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone


class WhoAmIConsumer(AsyncJsonWebsocketConsumer):
    """`/ws/auth/whoami/`: tells a client which user its token authenticated (TokenAuthMiddleware
    already refused missing or bad tokens with 4401), then stays open until the client leaves."""

    async def connect(self):
        await self.accept(subprotocol=self.scope.get("auth_subprotocol"))
        user = self.scope["user"]
        await self.send_json(
            {"type": "whoami", "user_id": user.pk, "email": user.email, "timestamp": timezone.now().isoformat()}
        )

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """The socket takes no messages: say so and stay open (JSON or not, text or binary)."""
        await self.send_json({
            "type": "error", "code": "unsupported_message",
            "message": "This socket only reports who you are; it takes no messages.",
            "timestamp": timezone.now().isoformat(),
        })
