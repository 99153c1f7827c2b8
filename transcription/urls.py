from flashlearn.paths import both
from transcription.apis import SegmentListApi, SpeakerDetailApi, SpeakerListApi, StatusApi

PREFIX = "api/v1/transcription/streams/<str:stream>"

urlpatterns = [
    *both("status", StatusApi.as_view(), name="transcription-status"),
    *both("api/v1/transcription/status", StatusApi.as_view()),
    *both(f"{PREFIX}/segments", SegmentListApi.as_view(), name="transcription-segments"),
    *both(f"{PREFIX}/speakers", SpeakerListApi.as_view(), name="transcription-speakers"),
    *both(f"{PREFIX}/speakers/<int:user_id>", SpeakerDetailApi.as_view(), name="transcription-speaker"),
]
