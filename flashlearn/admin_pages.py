"""Building blocks shared by the apps' admin pages: cells that fit a 1400 px screen, read-only pages."""

from __future__ import annotations

from django.utils.html import format_html

CELL_CHARS = 40


def truncated(text: str | None, limit: int = CELL_CHARS):
    """A list cell of at most `limit` characters; the whole value shows on hover (and on the detail page)."""
    text = text or ""
    if len(text) <= limit:
        return text
    return format_html('<span title="{}">{}…</span>', text, text[: limit - 1].rstrip())


class ReadOnlyPageMixin:
    """A change page that only shows: no Save buttons, no Delete link (changes go through services or actions)."""

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if not add:
            context.update(show_save=False, show_save_and_continue=False, show_save_and_add_another=False,
                           show_delete=False)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def short_time(value):
    """A list cell for a timestamp, `Nov 29 14:05` (UTC; the year when it is not this one), full ISO on hover."""
    if value is None:
        return "-"
    from django.utils import timezone

    local = timezone.localtime(value)
    text = local.strftime("%b %d %H:%M" if local.year == timezone.localtime().year else "%b %d %Y")
    return format_html('<span title="{}">{}</span>', local.isoformat(timespec="seconds"), text)
