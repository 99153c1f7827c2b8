"""The numbers staff look at first, shown on the admin index, each with the filtered list behind it.

An app shows numbers by giving one of its ModelAdmins a `staff_numbers()` method (LiveSessionAdmin
counts the live sessions, say). The index asks every registered admin, in INSTALLED_APPS and model
order, so this module imports no app (`.importlinter`: flashlearn core imports only route modules).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.apps import apps
from django.contrib import admin
from django.db.models import Model
from django.urls import reverse


@dataclass(frozen=True)
class StaffNumber:
    label: str
    value: int
    url: str


def changelist_url(model: type[Model], **lookups: object) -> str:
    """The admin list of `model` filtered by `lookups` (the admin's own query-string filters)."""
    query = {k: v.isoformat(timespec="seconds") if isinstance(v, datetime) else v for k, v in lookups.items()}
    return f"{reverse(f'admin:{model._meta.app_label}_{model._meta.model_name}_changelist')}?{urlencode(query)}"


def staff_numbers(site: admin.AdminSite = admin.site) -> list[StaffNumber]:
    numbers: list[StaffNumber] = []
    for model in apps.get_models():
        if not site.is_registered(model):
            continue
        numbers_of = getattr(site.get_model_admin(model), "staff_numbers", None)
        if numbers_of is not None:
            numbers.extend(numbers_of())
    return numbers
