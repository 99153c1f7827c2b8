"""Reading creators from CSV or JSON Lines files, validating every row with its line number."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from rest_framework import serializers

from creators.models import Platform
from creators.serializers import FiniteFloatField

FORMATS = ("csv", "jsonl")
BIGINT_MAX = 2**63 - 1  # followers/following columns; a larger value would fail the whole upsert


class CreatorRowSerializer(serializers.Serializer):
    platform = serializers.ChoiceField(choices=Platform.choices)
    handle = serializers.RegexField(r"^@?[A-Za-z0-9._-]{1,100}$", max_length=101,
                                    error_messages={"invalid": "Letters, digits, '.', '_' and '-' only."})
    display_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    bio = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    avatar_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    profile_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    followers = serializers.IntegerField(min_value=0, max_value=BIGINT_MAX, required=False)
    following = serializers.IntegerField(min_value=0, max_value=BIGINT_MAX, required=False)
    posts_count = serializers.IntegerField(min_value=0, max_value=2_147_483_647, required=False)
    engagement_rate = FiniteFloatField(min_value=0, max_value=100, required=False)
    category = serializers.RegexField(r"^[\w &-]{0,50}$", required=False, allow_blank=True)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False, allow_blank=True,
                                     error_messages={"invalid": "Use a two-letter country code (ISO 3166-1)."})
    language = serializers.RegexField(r"^[A-Za-z]{2,3}$", required=False, allow_blank=True,
                                      error_messages={"invalid": "Use a two-letter language code (ISO 639-1)."})
    verified = serializers.BooleanField(required=False)
    contact_email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    contact_phone = serializers.RegexField(r"^\+?[0-9 ()./-]{5,32}$", required=False, allow_blank=True)

    def to_internal_value(self, data: Any) -> dict:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Each row must be an object."]})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown column."] for name in unknown})
        values = super().to_internal_value({k: v for k, v in data.items() if v is not None})
        values["platform"] = values["platform"].lower()
        values["handle"] = values["handle"].lstrip("@").lower()
        for name, normalise in (("category", str.lower), ("country", str.upper), ("language", str.lower)):
            if name in values:
                values[name] = normalise(values[name].strip())
        return values


@dataclass
class RowError:
    line: int
    problems: dict[str, list[str]]

    def __str__(self) -> str:
        text = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in self.problems.items())
        return f"line {self.line}: {text}"


@dataclass
class ParsedRows:
    valid: list[tuple[int, dict]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    raise ValueError(f"cannot tell the format of {path.name}; use --format csv or --format jsonl")


def _csv_rows(handle: IO[str]) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(handle)
    if not reader.fieldnames:
        return
    for row in reader:
        if None in row:  # more cells than header columns
            yield reader.line_num, {"__error__": "This row has more cells than the header has columns."}
            continue
        # An empty CSV cell means "not given", so an update keeps the stored value.
        yield reader.line_num, {k.strip(): v for k, v in row.items() if k and v not in ("", None)}


def _jsonl_rows(handle: IO[str]) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, {"__error__": f"Not valid JSON: {exc.msg}."}


def parse(handle: IO[str], fmt: str) -> ParsedRows:
    parsed = ParsedRows()
    rows = _csv_rows(handle) if fmt == "csv" else _jsonl_rows(handle)
    for line, raw in rows:
        if isinstance(raw, dict) and "__error__" in raw:
            parsed.errors.append(RowError(line, {"row": [raw["__error__"]]}))
            continue
        row = CreatorRowSerializer(data=raw)
        if row.is_valid():
            parsed.valid.append((line, dict(row.validated_data)))
        else:
            parsed.errors.append(RowError(line, {k: [str(m) for m in v] for k, v in row.errors.items()}))
    return parsed
