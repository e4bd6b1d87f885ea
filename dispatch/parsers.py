"""The JSON parser every API view uses (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES): a body larger than
MAX_BYTES or nested deeper than MAX_DEPTH is a 400 `malformed` before it is decoded, so no request can
exhaust the decoder's recursion (a 2 KB body of 950 brackets did) or the server's memory."""

from __future__ import annotations

import codecs
import json
import re

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_BYTES = 64 * 1024
MAX_DEPTH = 32
# Possessive, and an unterminated string runs to the end: one linear pass whatever the body (no backtracking).
_STRINGS = re.compile(r'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in a JSON text (brackets inside strings do not count)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        request = parser_context.get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > MAX_BYTES:
            raise ParseError(f"The body is larger than {MAX_BYTES // 1024} KiB.")
        raw = stream.read(MAX_BYTES + 1) if stream is not None else b""
        if len(raw) > MAX_BYTES:
            raise ParseError(f"The body is larger than {MAX_BYTES // 1024} KiB.")
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(raw, encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError("The body is not valid text.") from exc
        if text.count("[") + text.count("{") > MAX_DEPTH and json_depth(text) > MAX_DEPTH:
            raise ParseError(f"The JSON is nested more than {MAX_DEPTH} levels deep.")
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")
