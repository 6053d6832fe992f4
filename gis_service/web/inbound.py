"""Raw request input, read strictly before it reaches a view or the database.

Query strings and paths must be valid UTF-8 without NUL characters (werkzeug would turn bad
bytes into U+FFFD, and PostgreSQL refuses NUL in text: both would be silent coercion or a 500).
JSON bodies must be valid UTF-8 JSON without NaN or Infinity, at most :data:`MAX_DEPTH` levels
deep (Python's parser raises RecursionError near 1,000 levels, and deep values would recurse
through everything that handles them afterwards) and without NUL characters in any string.
"""

from __future__ import annotations

import json
import re
from typing import NoReturn
from urllib.parse import unquote_to_bytes

from flask import request

from gis_service.errors import InvalidInput

MAX_DEPTH = 32


def check_query_and_path() -> None:
    """Refuse a query string or path that is not clean UTF-8 (a ``before_request`` hook).

    A URL that matches no route is left to its 404 (in the format of the routes around it).
    """
    if request.url_rule is None:
        return
    path = request.environ.get("PATH_INFO", "")
    try:
        text = path.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise InvalidInput("the path is not valid UTF-8", field="path") from None
    if "\x00" in text:
        raise InvalidInput("the path must not contain NUL characters", field="path")
    try:
        unquote_to_bytes(request.query_string).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the query string is not valid UTF-8", field="query") from None
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            field = name.replace("\x00", "")[:80] or "query"
            raise InvalidInput(f"{field} must not contain NUL characters", field=field)


def _refuse_constant(name: str) -> NoReturn:
    raise InvalidInput(f"{name} is not a JSON value; send numbers as finite numbers",
                       field="body")


# What the checks look for in the raw text, at C speed (walking the parsed value in Python
# takes seconds for a body of a million small arrays): strings (whose brackets do not count),
# everything but brackets, innermost pairs, and the escapes that make NUL or a surrogate (the
# parser refuses raw control characters, and valid UTF-8 holds no surrogates).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"\[\]|\{\}")
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|d[89a-f])", re.IGNORECASE)


def _too_deep(text: str) -> bool:
    """Whether valid JSON ``text`` nests more than :data:`MAX_DEPTH` levels (one level of
    brackets is removed per pass)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for _ in range(MAX_DEPTH):
        if not brackets:
            return False
        brackets = _INNERMOST.sub("", brackets)
    return bool(brackets)


def _check_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise InvalidInput(f"{where} must not contain NUL characters", field=where)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate ("\\ud800" is valid JSON) cannot be stored or sent as UTF-8.
        raise InvalidInput(f"{where} contains an unpaired surrogate (\\ud800-\\udfff)",
                           field=where) from None


def _check_strings(value: object) -> None:
    """Every string and key of a value (at most MAX_DEPTH deep), naming the first bad one."""
    stack: list[tuple[object, str]] = [(value, "body")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            _check_text(item, where)
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_text(key, where)
                stack.append((child, (key if where == "body" else f"{where}.{key}")[:200]))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{index}]"[:200]) for index, child in enumerate(item))


def json_body() -> object:
    """The request's JSON body, or :class:`InvalidInput` (400) naming ``body`` or the field.

    A body over the app's MAX_CONTENT_LENGTH is refused by werkzeug first (413).
    """
    if not request.is_json:
        raise InvalidInput("send the body as application/json", field="body")
    raw = request.get_data(cache=True)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the body is not valid UTF-8", field="body") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise InvalidInput(f"the body is nested more than {MAX_DEPTH} levels deep",
                           field="body") from None
    except ValueError as error:
        # The other ValueError: an integer beyond Python's 4,300-digit conversion limit.
        reason = error.msg if isinstance(error, json.JSONDecodeError) else "a number is too long"
        raise InvalidInput(f"the body is not valid JSON: {reason}", field="body") from None
    if _too_deep(text):
        raise InvalidInput(f"the body is nested more than {MAX_DEPTH} levels deep", field="body")
    if _SUSPECT_ESCAPE.search(text):
        _check_strings(value)
    return value
