from django.apps import AppConfig


class TranscriptionConfig(AppConfig):
    name = "transcription"

    def ready(self):
        from transcription import checks  # noqa: F401  (registers the model check)
        # Closing with 1001 on shutdown is the server adapters' business (flashlearn/servers/).
