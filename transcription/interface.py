"""What other apps may use from transcription: nothing yet. Everything in the app is internal.

`.importlinter` holds this: outside transcription, only its tests, bench and the route collector
(flashlearn.routing -> transcription.routing) may import its modules. The project reaches the
speech engine's readiness through TranscriptionConfig.readiness (flashlearn/health.py), and the
app adds captions to messaging's admin itself (transcription/admin.py). When another app needs
something of transcription, export it here and import it from here.
"""

__all__: list[str] = []
