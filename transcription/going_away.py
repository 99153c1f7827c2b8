"""Let daphne close a websocket with 1001 ("going away") when the server shuts down.

Daphne hands the consumer's close code to autobahn's `sendClose`, which only accepts 1000 and
3000-4999 (codes an *application* may pick). 1001 is the code RFC 6455 gives a server that is going
away, so for that one code we call `sendCloseFrame`, the step `sendClose` takes after its check.
Every other code goes through daphne unchanged.
"""

from __future__ import annotations

GOING_AWAY = 1001


def allow_going_away_close() -> None:
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # served by another ASGI server
        return
    if getattr(WebSocketProtocol.serverClose, "allows_going_away", False):
        return
    original = WebSocketProtocol.serverClose

    def serverClose(self, code=None):  # noqa: N802 (daphne's name)
        if code == GOING_AWAY:
            self.sendCloseFrame(code=GOING_AWAY, isReply=False)
            return
        original(self, code=code)

    serverClose.allows_going_away = True
    WebSocketProtocol.serverClose = serverClose
