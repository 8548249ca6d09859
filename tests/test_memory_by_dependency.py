"""The memory script groups each module a process imported under the dependency that brings it."""

from __future__ import annotations

from tests.memory_by_dependency import STDLIB, grouped, imported_modules

IMPORT_LOG = """\
import time: self [us] | cumulative | imported package
import time:       101 |        101 |   _io
import time:        50 |         50 |       yarl._url
import time:        60 |        110 |     yarl
import time:        80 |        190 |   aiohttp
import time:        30 |         30 |   requests
import time:        20 |         20 |   bot.__main__
import time:        20 |         20 |   bot.app
import time:        10 |         10 |   json
WARNING something a process logged
"""


def test_the_import_log_gives_modules_in_the_order_they_finished() -> None:
    assert imported_modules(IMPORT_LOG) == [
        "_io",
        "yarl._url",
        "yarl",
        "aiohttp",
        "requests",
        "bot.app",
        "json",
    ]


def test_helpers_count_with_their_dependency_and_the_stdlib_comes_first() -> None:
    assert grouped(imported_modules(IMPORT_LOG)) == [
        (STDLIB, "_io"),
        (STDLIB, "json"),
        ("aiohttp", "yarl._url"),
        ("aiohttp", "yarl"),
        ("aiohttp", "aiohttp"),
        ("twilio", "requests"),
        ("our own code", "bot.app"),
    ]
