"""What other apps may use from creators: nothing yet. Everything in the app is internal.

`.importlinter` holds this: outside creators, only its tests, bench and the route collector
(flashlearn.routing -> creators.routing) may import its modules. When another app needs something
of creators, export it here and import it from here.
"""

__all__: list[str] = []
