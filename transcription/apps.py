from django.apps import AppConfig


class TranscriptionConfig(AppConfig):
    name = "transcription"

    def ready(self):
        from transcription import checks  # noqa: F401  (registers the model check)
        # Closing with 1001 on shutdown is the server adapters' business (flashlearn/servers/).

    def readiness(self) -> dict:
        """The speech engine's /readyz check (flashlearn.health asks every app that has one)."""
        from transcription.health import readiness

        return readiness()
