"""Cells a spreadsheet opens safely: text that would run as a formula is written as text.

Excel, LibreOffice and Google Sheets treat a cell starting with =, +, - or @ (and, in some,
a leading tab or carriage return) as a formula, so a caller's message like
`=HYPERLINK("http://evil","click")` in an export would run when the file is opened (OWASP's
"CSV injection"). Such a cell gets a leading apostrophe, which every one of them shows as text.
A phone number in E.164 form (+ and digits only) is left as it is: it is data, and the column
a lawyer sorts by.
"""

from __future__ import annotations

import re

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_E164 = re.compile(r"\+[0-9]{1,15}")


def safe_cell(value: str) -> str:
    if value.startswith(_FORMULA_START) and not _E164.fullmatch(value):
        return "'" + value
    return value
