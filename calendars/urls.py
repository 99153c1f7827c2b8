from calendars.apis import (
    ConnectionApi,
    EventsApi,
    GoogleCallbackApi,
    GoogleConnectApi,
    GoogleNotificationsApi,
    SyncApi,
)
from flashlearn.paths import both

urlpatterns = [
    *both("api/v1/calendars/google/connect", GoogleConnectApi.as_view(), name="calendars-google-connect"),
    *both("api/v1/calendars/google/callback", GoogleCallbackApi.as_view(), name="calendars-google-callback"),
    *both("api/v1/calendars/google/notifications", GoogleNotificationsApi.as_view(),
          name="calendars-google-notifications"),
    *both("api/v1/calendars/connection", ConnectionApi.as_view(), name="calendars-connection"),
    *both("api/v1/calendars/sync", SyncApi.as_view(), name="calendars-sync"),
    *both("api/v1/calendars/events", EventsApi.as_view(), name="calendars-events"),
]
