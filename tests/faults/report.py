"""The figures each fault case prints: kept here, shown at the end of the pytest run."""

from __future__ import annotations

from typing import Any

TABLES: list[str] = []


def table(title: str, figures: dict[str, Any]) -> str:
    width = max(len(name) for name in figures)
    rows = [f"  {name:<{width}}  {value}" for name, value in figures.items()]
    return "\n".join([title, *rows])


def record(title: str, figures: dict[str, Any]) -> str:
    """Keep the case's table for the session summary (pytest -q shows it) and return it."""
    text = table(title, figures)
    TABLES.append(text)
    return text
