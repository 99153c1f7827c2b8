"""The one page shape of every list endpoint (docs/api.md "Conventions"):
`{"count", "next", "previous", "results"}`, paged with `?page=` and `?page_size=`. Cursor-paged
lists (message history) answer the same envelope without `count`. The OpenAPI side of the shape is
flashlearn.openapi.paginated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

DEFAULT_PAGE_SIZE = 20
DEFAULT_MAX_PAGE_SIZE = 100


def envelope(results: list, *, next_url: str | None, previous_url: str | None,
             count: int | None = None) -> dict[str, Any]:
    """A page of `results` in the contract's shape; `count` (items on all pages) only where it is known."""
    page: dict[str, Any] = {} if count is None else {"count": count}
    return {**page, "next": next_url, "previous": previous_url, "results": results}


class Pages(PageNumberPagination):
    """`?page=` / `?page_size=` pages (a page past the end is DRF's 404), answered with `envelope`."""

    page_size_query_param = "page_size"

    def __init__(self, *, page_size: int = DEFAULT_PAGE_SIZE, max_page_size: int = DEFAULT_MAX_PAGE_SIZE):
        self.page_size = page_size
        self.max_page_size = max_page_size

    def get_paginated_response(self, data: list) -> Response:
        return Response(envelope(data, count=self.page.paginator.count, next_url=self.get_next_link(),
                                 previous_url=self.get_previous_link()))


def paginate(request: Request, *, view: APIView, queryset: Iterable, serialize: Callable[[list], list],
             page_size: int = DEFAULT_PAGE_SIZE, max_page_size: int = DEFAULT_MAX_PAGE_SIZE) -> Response:
    """The page of `queryset` the request asks for, each item through `serialize`, in the envelope."""
    pages = Pages(page_size=page_size, max_page_size=max_page_size)
    page = pages.paginate_queryset(queryset, request, view=view)
    return pages.get_paginated_response(serialize(page))
