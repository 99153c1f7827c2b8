"""The JSON body parser: DRF's, with nesting too deep for the decoder answered as a 400."""

from __future__ import annotations

from rest_framework import exceptions, parsers


class InvalidJSON(exceptions.ParseError):
    default_code = "invalid_json"
    default_detail = "The JSON body is nested too deeply."


class JSONParser(parsers.JSONParser):
    """`[[[[...]]]]` a hundred thousand deep makes the decoder raise RecursionError, which DRF does
    not catch: it surfaced as a 500 with a traceback. Refuse it like any other unreadable body."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise InvalidJSON() from None
