"""What the load run passes its processes, and which of it differs from the product's defaults.

Pure: the run's figures are only worth what a user gets, so its table names every setting that
moves them away from a plain deployment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.settings import Settings

# How the run lays out its processes. procfile: `serve` (with its inline worker) plus one
# `worker`, as the Procfile; split: `serve` without a worker, one worker per queue; one: `serve`
# without a worker plus one worker for every queue; inline: `serve` alone.
WORKER_LAYOUTS = ("procfile", "split", "one", "inline")


def parse_overrides(pairs: Iterable[str]) -> dict[str, str]:
    """`--set NAME=VALUE` arguments as {NAME: VALUE}; ValueError for a name Settings lacks."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        name = name.strip().upper()
        if not equals or not name:
            raise ValueError(f"--set takes NAME=VALUE, not {pair!r}")
        if name.lower() not in Settings.model_fields:
            raise ValueError(f"--set {name}: no such setting")
        overrides[name] = value
    return overrides


def run_env(
    base: Mapping[str, str],
    *,
    workers: str,
    slack_posts_per_second: float,
    overrides: Mapping[str, str],
) -> dict[str, str]:
    """Every process's environment: `base` (what the stand-ins need), the worker layout, the
    Slack stand-in's raised per-channel limit, quiet logs, then the user's `--set`s."""
    env = {**base, "SLACK_POSTS_PER_SECOND": f"{slack_posts_per_second:g}", "LOG_LEVEL": "WARNING"}
    if workers in ("split", "one"):
        env["RUN_WORKER"] = "false"  # the workers run apart; serve only answers webhooks
    env.update(overrides)
    return env


def changed_settings(env: Mapping[str, str]) -> dict[str, str]:
    """The settings in `env` that differ from the product's defaults (required ones, which have
    none, included), secrets masked."""
    changed = {}
    for name, value in sorted(env.items()):
        found = Settings.model_fields.get(name.lower())
        if found is None:
            continue
        default = found.get_default() if not found.is_required() else None
        if isinstance(default, list):
            default = ",".join(str(v) for v in default)
        if default is not None and str(default).lower() == value.lower():
            continue
        if default is not None and _same_number(default, value):
            continue
        secret = "SECRET" in name or "TOKEN" in name
        changed[name] = "(set)" if secret else value
    return changed


def _same_number(default: object, value: str) -> bool:
    try:
        return isinstance(default, int | float) and float(value) == float(default)
    except ValueError:
        return False


def describe_settings(changed: Mapping[str, str]) -> list[str]:
    return ["settings changed from the product's defaults:"] + [
        f"  {name}={value}" for name, value in changed.items()
    ]
