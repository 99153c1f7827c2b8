"""Channels group names of the transcription app."""

ALL_STREAMS = "transcription.all"  # every stream's events; `/ws` filters them per caller
STATUS = "transcription.status"  # "something changed" pings for `/st`


def stream_group(stream: str) -> str:
    return f"transcription.s.{stream}"
