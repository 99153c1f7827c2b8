"""Creators routes (full paths: flashlearn/urls.py includes this module at the root)."""

from creators import apis
from flashlearn.paths import both

PREFIX = "api/v1/simple/creator"

urlpatterns = [
    *both(f"{PREFIX}/search", apis.CreatorSearchApi.as_view(), name="creator-search"),
    *both(f"{PREFIX}/unlocked", apis.UnlockedCreatorsApi.as_view(), name="creator-unlocked"),
    *both(f"{PREFIX}/system/stats", apis.SystemStatsApi.as_view(), name="creator-system-stats"),
    *both(f"{PREFIX}/<int:creator_id>", apis.CreatorDetailApi.as_view(), name="creator-detail"),
    *both(f"{PREFIX}/<int:creator_id>/unlock", apis.CreatorUnlockApi.as_view(), name="creator-unlock"),
    *both("api/v1/credits", apis.CreditsApi.as_view(), name="credits"),
]
