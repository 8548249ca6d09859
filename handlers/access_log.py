"""aiohttp's access log, without the secrets a URL can carry.

An intake link (/i/<token>) lets whoever holds it see the business's form for that caller and
post to it, and a media link (/media/<token>, for webhook receivers) fetches a caller's photo:
the access log shows /i/… and /media/… instead, in the request line and in any header logged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from aiohttp.web_log import AccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

_INTAKE_TOKEN = re.compile(r"/i/[^/?#\s\"]+")
INTAKE_REDACTED = "/i/…"
_MEDIA_TOKEN = re.compile(r"/media/[^/?#\s\"]+")
MEDIA_REDACTED = "/media/…"


def redact(text: str) -> str:
    return _MEDIA_TOKEN.sub(MEDIA_REDACTED, _INTAKE_TOKEN.sub(INTAKE_REDACTED, text))


class RedactingAccessLogger(AccessLogger):
    """`web.run_app(..., access_log_class=RedactingAccessLogger)`."""

    def _format_line(
        self, request: BaseRequest, response: StreamResponse, time: float
    ) -> Iterable[tuple[str | tuple[str, str], str]]:
        return [
            (key, redact(value) if isinstance(value, str) else value)
            for key, value in super()._format_line(request, response, time)
        ]
