"""JSON bodies keep their types: a number or a boolean where the API expects text is a 400.

DRF's CharField turns `{"title": 5}` into "5" (and a `true` into an error, but a float into its
repr). A client that sends a number for a title has a bug, and storing its coerced text hides it
(issue 11: the schema says string, the server quietly accepted a number). DRF has no setting for
this, so this one module adapts CharField, and every subclass of it (EmailField, URLField, RegexField,
SlugField, IPAddressField and the project's own text fields), at start-up. Query parameters are
always text, so they are unaffected. The test suite pins the DRF version this was written for.
"""

from __future__ import annotations

from rest_framework import fields

WRITTEN_FOR_DRF = "3.16"


def install() -> None:
    """Called once from FlashlearnConfig.ready()."""
    if getattr(fields.CharField.to_internal_value, "strict_types", False):
        return
    lenient = fields.CharField.to_internal_value

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")  # "Not a valid string."
        return lenient(self, data)

    to_internal_value.strict_types = True
    fields.CharField.to_internal_value = to_internal_value
