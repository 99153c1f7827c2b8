from django.apps import AppConfig


class TranscriptionConfig(AppConfig):
    name = "transcription"

    def ready(self):
        from transcription import checks  # noqa: F401  (registers the model check)
        from transcription.going_away import allow_going_away_close

        allow_going_away_close()
