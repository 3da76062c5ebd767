"""The console's message catalogue: zh-CN (the default: operators are Chinese) and English.

One JSON file per language under ``locales/``; the same keys in both (a unit test checks). Templates
call ``t(key, **values)`` (a Jinja global bound to the page's language); each page embeds its language's
catalogue, and the JS modules read it through ``t(key, values)`` in ``static/js/i18n.js``. The language
comes from ``?lang=`` (remembered in a cookie), else the cookie, else zh-CN.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path

from fastapi import Request

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).parent / "locales"
#: Supported languages, default first.
LANGUAGES: tuple[str, ...] = ("zh-CN", "en")
DEFAULT_LANGUAGE = LANGUAGES[0]
#: The cookie that remembers the chosen language.
COOKIE = "waihu_lang"
#: Lower-cased spellings a user or browser may send, to the supported language.
_ALIASES = {
    "zh": "zh-CN",
    "zh-cn": "zh-CN",
    "zh-hans": "zh-CN",
    "cn": "zh-CN",
    "en": "en",
    "en-us": "en",
    "en-gb": "en",
}

Translator = Callable[..., str]


def normalise(value: str | None) -> str | None:
    """The supported language ``value`` names (``"EN"`` → ``"en"``, ``"zh"`` → ``"zh-CN"``), else None."""
    if not value:
        return None
    return _ALIASES.get(value.strip().lower())


@cache
def catalogue(language: str) -> dict[str, str]:
    """All messages of ``language`` (one of :data:`LANGUAGES`), loaded once."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported console language {language!r}")
    with (LOCALES_DIR / f"{language}.json").open(encoding="utf-8") as file:
        messages: dict[str, str] = json.load(file)
    return messages


def requested_language(request: Request) -> str | None:
    """The language ``?lang=`` asks for, if it names a supported one."""
    return normalise(request.query_params.get("lang"))


def language_of(request: Request) -> str:
    """The page's language: ``?lang=``, else the cookie, else zh-CN."""
    return requested_language(request) or normalise(request.cookies.get(COOKIE)) or DEFAULT_LANGUAGE


def translate(language: str, key: str, default: str | None = None, **values: object) -> str:
    """The message ``key`` in ``language`` with ``{name}`` placeholders filled from ``values``.

    A missing key yields ``default`` if given (pages another module names, e.g. its own title), else
    the key itself, so a gap shows up on the page (and in the tests) instead of breaking it.
    """
    text = catalogue(language).get(key)
    if text is None:
        if default is not None:
            return default
        log.warning("console message %r missing in %s", key, language)
        return key
    return text.format(**values) if values else text


def translator(language: str) -> Translator:
    """``translate`` bound to ``language``: the ``t`` of the templates."""

    def t(key: str, default: str | None = None, **values: object) -> str:
        return translate(language, key, default, **values)

    return t
