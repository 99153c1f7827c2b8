"""`manage.py check`: say at start-up, not at the first audio socket, that the speech model is missing."""

from django.core.checks import Warning, register


@register()
def speech_model_check(app_configs=None, **kwargs):
    from transcription.engine import model_state

    state = model_state()
    if state["ok"]:
        return []
    return [Warning(state["error"], hint="Transcription routes answer 503 until TRANSCRIPTION_MODEL points at a model.",
                    id="transcription.W001")]
