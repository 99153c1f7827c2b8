"""`manage.py check`: say at start-up, not at the first audio socket, that the speech model is missing."""

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured


@register()
def speech_model_check(app_configs=None, **kwargs):
    from transcription.whisper import model_state

    state = model_state()
    if state["ok"]:
        return []
    return [Warning(state["error"], hint="Transcription routes answer 503 until TRANSCRIPTION_MODEL points at a model.",
                    id="transcription.W001")]


@register()
def speech_device_check(app_configs=None, **kwargs):
    """TRANSCRIPTION_DEVICE=cuda where CTranslate2 sees no GPU stops `serve` and the worker at start-up."""
    if settings.TRANSCRIPTION_DEVICE != "cuda":
        return []  # auto and cpu always resolve; nothing to import
    from transcription.whisper import resolve_device

    try:
        resolve_device()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="transcription.E001")]
    return []
