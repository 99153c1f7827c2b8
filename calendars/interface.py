"""What other apps may use from calendars: nothing yet. Everything in the app is internal.

`.importlinter` holds this: outside calendars, only its tests, bench and the route collector
(flashlearn.routing -> calendars.routing) may import its modules. When another app needs something
of calendars, export it here and import it from here.
"""

__all__: list[str] = []
