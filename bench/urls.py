"""The project's routes plus a read-only DRF endpoint that reads rows, for `make bench` only.

It lists content types: rows every migrated database has, so the benchmark writes nothing.
Never part of the real URLconf.
"""

from django.contrib.contenttypes.models import ContentType
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny

from flashlearn.paths import both
from flashlearn.urls import urlpatterns as project_urlpatterns


class ContentTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContentType
        fields = ["id", "app_label", "model"]


class RowsApi(generics.ListAPIView):
    """GET /bench/rows: a page of 20 rows through DRF (a COUNT and a SELECT), no auth."""

    queryset = ContentType.objects.order_by("id")
    serializer_class = ContentTypeSerializer
    authentication_classes: list = []
    permission_classes = [AllowAny]


urlpatterns = [*both("bench/rows", RowsApi.as_view(), name="bench-rows"), *project_urlpatterns]
