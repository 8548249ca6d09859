"""What we declare (Slack manifest, .env.example, Procfile) matches what the code does."""

from __future__ import annotations

import ast
import time
import tomllib
from pathlib import Path

import yaml

from bot.doctor import slack as slack_doctor
from bot.domain.line import SUBCOMMAND_NAMES
from bot.lines import load as load_lines
from bot.settings import Settings
from handlers.slack.commands import SUBCOMMANDS
from tests.conftest import Harness, slash_command

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = yaml.safe_load((ROOT / "manifests" / "slack.yaml").read_text())


def test_env_example_names_only_real_settings() -> None:
    names = [
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and line.lstrip("# ").split("=", 1)[0].isupper()
    ]
    assert names, ".env.example lists no settings"
    unknown = [name for name in names if name.lower() not in Settings.model_fields]
    assert unknown == []


def test_env_example_lists_every_required_setting() -> None:
    text = (ROOT / ".env.example").read_text()
    required = [name for name, field in Settings.model_fields.items() if field.is_required()]
    assert [name for name in required if f"{name.upper()}=" not in text] == []


def test_procfile_runs_web_and_worker() -> None:
    lines = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert lines["web"].strip() == "python -m bot serve"
    assert lines["worker"].strip() == "python -m bot worker"


def test_manifest_urls_all_point_at_slack_events() -> None:
    settings = MANIFEST["settings"]
    urls = [
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        *(command["url"] for command in MANIFEST["features"]["slash_commands"]),
    ]
    assert all(url.endswith("/slack/events") for url in urls)


def test_manifest_asks_for_the_scopes_the_bot_uses() -> None:
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    needed = {
        "chat:write",
        "commands",
        "reactions:write",
        "channels:history",
        "groups:history",
        "files:write",
        "users:read",  # users.info: may this person change settings (workspace admin)?
        "channels:read",  # conversations.info: is the bot still in the channel it posts to?
        "groups:read",  # ... and in a private one
    }
    assert needed <= scopes


def test_the_doctor_checks_every_scope_the_manifest_asks_for() -> None:
    assert sorted(slack_doctor.MANIFEST_SCOPES) == sorted(MANIFEST["oauth_config"]["scopes"]["bot"])


async def test_every_manifest_event_is_acknowledged(harness: Harness) -> None:
    """Bolt answers 404 to an event no listener matches, and Slack would then retry it."""
    for declared in MANIFEST["settings"]["event_subscriptions"]["bot_events"]:
        event_type = declared.split(".")[0]  # message.channels -> message
        event = {
            "type": event_type,
            "channel": "C0LEADS",
            "user": "U0CREW",
            "ts": f"{time.time():.6f}",
            "text": "hi",
            "item": {"type": "message", "channel": "C0LEADS", "ts": "1.1"},
            "reaction": "eyes",
        }
        response = await harness.slack_event(event)
        assert response.status == 200, declared


async def test_every_manifest_slash_command_is_answered(harness: Harness) -> None:
    for command in MANIFEST["features"]["slash_commands"]:
        response = await slash_command(harness, "help", command=command["command"])
        assert response.status == 200
        assert "/textback status" in await response.text()


def _imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_only_the_app_factory_imports_the_handlers() -> None:
    """handlers/__init__.py: flows, domain, outbox and storage sit below the handlers."""
    importers = [
        str(path.relative_to(ROOT))
        for path in sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "storage").rglob("*.py")])
        if any(m == "handlers" or m.startswith("handlers.") for m in _imported_modules(path))
    ]
    assert importers == ["bot/app.py"]


def test_the_sample_lines_file_loads(clean_env: None) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        public_url="https://tb.example.test",
        slack_bot_token="xoxb-x",
        slack_signing_secret="s",
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="t",
        lines_file=str(ROOT / "lines.example.toml"),
    )
    file_lines, catch_all = load_lines(settings)
    assert [line.id for line in file_lines] == ["uptown", "downtown"]
    assert catch_all is None


def test_no_line_id_can_take_a_subcommands_name() -> None:
    assert {sub.name for sub in SUBCOMMANDS} <= SUBCOMMAND_NAMES


def test_every_file_a_page_serves_ships_in_the_package() -> None:
    """setuptools installs only .py files unless package-data names the rest: the demo page's
    HTML and script must be there, or an installed `python -m bot demo` serves nothing."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    shipped = set(declared["package-data"]["bot.pages"])
    assets = {p.name for p in (ROOT / "bot" / "pages").iterdir() if p.suffix in (".html", ".js")}
    assert assets and assets <= shipped
