"""`python -m bot doctor`: each check against the simulators and a private Redis, in both
outcomes; a service that hangs hides nothing else; the exit codes."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as sync_redis
from redis.asyncio import Redis

from bot import local_redis
from bot.doctor import command, public_url, redis, slack, twilio
from bot.doctor.checks import Check, Progress, run_checks
from bot.doctor.report import Finding, Mark, Section, exit_code
from bot.settings import Settings
from storage.health import ServiceRecords
from storage.keys import Keys
from storage.line_config import LineConfig
from tests.conftest import BUSINESS_NUMBER, CHANNEL, SIGNING_SECRET, Harness, make_settings
from tests.load.procs import app_env
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until

OTHER_NUMBER = "+12125550101"
CREW = "+12025550188"  # make_settings' FORWARD_TO


# ---- fixtures: a private Redis whose configuration each test may change --------------------


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Never the shared Redis at 6379: tests here change the server's configuration."""
    port = local_redis.free_port()
    process = local_redis.start(port, tmp_path_factory.mktemp("redis"))
    yield port
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def own_redis(private_redis: int) -> Iterator[sync_redis.Redis]:
    """The private Redis as `serve` would want it: noeviction, append-only file on."""
    admin = sync_redis.Redis(port=private_redis, decode_responses=True)
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("appendonly", "yes")
    admin.config_set("save", "")
    yield admin
    for user in admin.acl_users():
        if user != "default":
            admin.acl_deluser(user)
    admin.flushall()
    admin.close()


@pytest.fixture
def public() -> str:
    """https on a loopback port where nothing listens: a well-formed PUBLIC_URL whose /healthz
    is refused at once (no DNS, no wait)."""
    return f"https://127.0.0.1:{local_redis.free_port()}"


def url_of(admin: sync_redis.Redis, user: str = "") -> str:
    port = admin.connection_pool.connection_kwargs["port"]
    credentials = f"{user}:secret@" if user else ""
    return f"redis://{credentials}127.0.0.1:{port}/0"


def wire(twilio_sim: TwilioStandIn, base: str, number: str = BUSINESS_NUMBER, **extra: Any) -> None:
    """The number as `setup twilio --apply` leaves it."""
    values = {
        "voice_url": f"{base}/twilio/voice",
        "sms_url": f"{base}/twilio/sms",
        "status_callback": f"{base}/twilio/voice/status",
        **extra,
    }
    twilio_sim.numbers.add(number, **values)


def doctor_settings(
    own_redis: sync_redis.Redis,
    slack_sim: SlackStandIn,
    twilio_sim: TwilioStandIn,
    base: str,
    **overrides: Any,
) -> Settings:
    values: dict[str, Any] = {"public_url": base, "twilio_numbers": BUSINESS_NUMBER}
    values.update(overrides)
    return make_settings(url_of(own_redis), "tbdoctor", slack_sim, twilio_sim, **values)


async def diagnose(
    settings: Settings, redis_url: str | None = None, seconds: float = 5.0
) -> list[Section]:
    return await command.diagnose(
        settings, redis_url if redis_url is not None else settings.redis_url, seconds=seconds
    )


def find(sections: list[Section], section: str, subject: str) -> Finding:
    """The one finding of `section` whose subject contains `subject`."""
    [found] = [f for s in sections if s.name == section for f in s.findings if subject in f.subject]
    return found


def marks(sections: list[Section], section: str) -> list[Mark]:
    return [f.mark for s in sections if s.name == section for f in s.findings]


@pytest.fixture
async def healthy(
    clean_env: None,
    own_redis: sync_redis.Redis,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    public: str,
) -> Settings:
    """Everything wired as the README's setup leaves it."""
    slack.add_channel(CHANNEL, "leads")
    wire(twilio, public)
    return doctor_settings(own_redis, slack, twilio, public)


# ---- a healthy setup ------------------------------------------------------------------------


async def test_a_healthy_setup_passes_every_check(healthy: Settings) -> None:
    sections = await diagnose(healthy)

    assert [s.name for s in sections] == ["Slack", "Twilio", "Redis", "PUBLIC_URL", "Lines"]
    assert find(sections, "Slack", "token").found == (
        'works: bot @textback in workspace "Textback Test" (textback-test.slack.com)'
    )
    assert find(sections, "Slack", "scopes").mark is Mark.OK
    assert find(sections, "Slack", "#leads").found == "the bot is in this channel"
    assert find(sections, "Slack", "signing secret").mark is Mark.INFO
    assert "can't be checked from here" in find(sections, "Slack", "signing secret").found
    assert marks(sections, "Twilio") == [Mark.OK] * 4
    assert find(sections, "Twilio", "crew phones").found == f"{CREW}, none of them ours"
    assert marks(sections, "Redis") == [Mark.OK] * 4
    assert find(sections, "Redis", "persistence").found == "append-only file on"
    assert marks(sections, "Lines") == [Mark.OK, Mark.OK]
    # Nothing listens at PUBLIC_URL: a warning, not a failure (serve may not run yet).
    assert find(sections, "PUBLIC_URL", "/healthz").mark is Mark.WARN
    assert exit_code(sections) == 0


async def test_healthz_answering_200_at_public_url_passes(
    healthy: Settings, harness: Harness, own_redis: sync_redis.Redis, slack: SlackStandIn
) -> None:
    """The real app, on loopback http: the address a local trial uses."""
    base = str(harness.client.make_url("")).rstrip("/")
    wire(harness.twilio, base)
    settings = doctor_settings(own_redis, slack, harness.twilio, base)

    sections = await diagnose(settings)

    assert find(sections, "PUBLIC_URL", "/healthz").found == (
        f"GET {base}/healthz answered 200 from this machine"
    )
    assert find(sections, "PUBLIC_URL", "scheme").mark is Mark.OK  # http, but loopback
    assert exit_code(sections) == 0


# ---- Slack ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "says"),
    [("token_revoked", "reinstall the app"), ("invalid_auth", "Bot User OAuth Token")],
)
async def test_a_token_slack_refuses_fails_and_says_where_to_get_one(
    healthy: Settings, slack: SlackStandIn, error: str, says: str
) -> None:
    slack.token_error = error
    sections = await diagnose(healthy)

    [token] = [f for s in sections if s.name == "Slack" for f in s.findings]
    assert token.mark is Mark.FAIL and error in token.found and says in token.fix
    assert exit_code(sections) == 1
    assert marks(sections, "Twilio") == [Mark.OK] * 4  # Slack's trouble hides nothing else


async def test_missing_scopes_are_each_named_with_reinstall(
    healthy: Settings, slack: SlackStandIn
) -> None:
    slack.scopes -= {"channels:read", "files:write"}
    scopes = find(await diagnose(healthy), "Slack", "scopes")
    assert (scopes.mark, scopes.found) == (Mark.FAIL, "the token lacks channels:read, files:write")
    assert "reinstall the app to grant them" in scopes.fix.replace("(Install App", "")


async def test_a_channel_the_bot_is_not_in_says_to_invite_it(
    healthy: Settings, slack: SlackStandIn
) -> None:
    slack.add_channel(CHANNEL, "leads", member=False)
    channel = find(await diagnose(healthy), "Slack", "#leads")
    assert channel.mark is Mark.FAIL
    assert "never reach it" in channel.found
    assert channel.fix == "type /invite @textback in #leads"


async def test_an_archived_or_unknown_channel_fails(healthy: Settings, slack: SlackStandIn) -> None:
    slack.add_channel(CHANNEL, "leads", archived=True)
    archived = find(await diagnose(healthy), "Slack", "#leads")
    slack.remove_channel(CHANNEL)
    unknown = find(await diagnose(healthy), "Slack", f"channel {CHANNEL}")

    assert (archived.mark, archived.found) == (Mark.FAIL, "the channel is archived")
    assert unknown.mark is Mark.FAIL and "SLACK_CHANNEL_ID" in unknown.fix
    assert unknown.found == "no such channel, or a private one the bot is not in"


async def test_a_token_without_channels_read_cannot_look_the_channel_up(
    healthy: Settings, slack: SlackStandIn
) -> None:
    slack.enforce_scopes = True
    slack.scopes -= {"channels:read", "groups:read"}
    channel = find(await diagnose(healthy), "Slack", f"channel {CHANNEL}")
    assert channel.mark is Mark.FAIL and "lacks channels:read and groups:read" in channel.found


def test_a_users_token_or_a_missing_scopes_header_fails() -> None:
    user_token = slack.identity_finding({"ok": True, "team": "Acme", "user": "pat"})
    assert user_token.mark is Mark.FAIL and "xoxb" in user_token.fix
    assert slack.scope_finding(slack.granted_scopes({})).mark is Mark.FAIL
    assert slack.granted_scopes({"X-OAuth-Scopes": "chat:write, commands"}) == {
        "chat:write",
        "commands",
    }


# ---- Twilio ---------------------------------------------------------------------------------


async def test_refused_credentials_fail_and_hide_nothing_else(
    healthy: Settings, twilio: TwilioStandIn
) -> None:
    twilio.auth_token = "rotated-elsewhere"
    sections = await diagnose(healthy)

    [account] = [f for s in sections if s.name == "Twilio" for f in s.findings]
    assert account.mark is Mark.FAIL and "refuses the credentials (401)" in account.found
    assert "Console > Account Info" in account.fix
    assert marks(sections, "Slack")[:3] == [Mark.OK] * 3


async def test_a_suspended_account_fails_and_a_trial_one_warns(
    healthy: Settings, twilio: TwilioStandIn
) -> None:
    twilio.account_type = "Trial"
    trial = await diagnose(healthy)
    twilio.account_status = "suspended"
    suspended = await diagnose(healthy)

    assert find(trial, "Twilio", "account type").mark is Mark.WARN
    assert exit_code(trial) == 0
    assert find(suspended, "Twilio", "account").found.endswith(
        "is suspended: Twilio takes no calls or texts for it"
    )


async def test_a_number_the_account_does_not_hold_fails(
    healthy: Settings, twilio: TwilioStandIn
) -> None:
    del twilio.numbers.numbers[BUSINESS_NUMBER]
    number = find(await diagnose(healthy), "Twilio", BUSINESS_NUMBER)
    assert number.mark is Mark.FAIL and number.found.startswith("not a number of account AC")


async def test_voice_and_sms_urls_elsewhere_fail_with_the_setup_command(
    healthy: Settings, twilio: TwilioStandIn, public: str
) -> None:
    twilio.numbers.add(
        BUSINESS_NUMBER,
        voice_url="https://demo.twilio.com/welcome/voice/",
        sms_url=f"{public}/twilio/sms",
        sms_method="GET",
    )
    sections = await diagnose(healthy)

    calls = find(sections, "Twilio", "calls")
    texts = find(sections, "Twilio", "texts")
    assert calls.found == "calls go to https://demo.twilio.com/welcome/voice/ (POST)"
    assert texts.found == f"texts go to {public}/twilio/sms (GET)"
    assert "python -m bot setup twilio --apply" in calls.fix
    assert f"Webhook, {public}/twilio/voice, HTTP POST" in calls.fix


async def test_a_missing_call_status_callback_warns(
    healthy: Settings, twilio: TwilioStandIn, public: str
) -> None:
    twilio.numbers.numbers[BUSINESS_NUMBER].status_callback = ""
    calls = find(await diagnose(healthy), "Twilio", "calls")
    assert calls.mark is Mark.WARN and "status callback is no URL" in calls.found


async def test_a_connection_override_fragment_still_counts_as_ours(
    healthy: Settings, twilio: TwilioStandIn, public: str
) -> None:
    twilio.numbers.numbers[BUSINESS_NUMBER].voice_url = f"{public}/twilio/voice#rc=3&rp=all"
    assert find(await diagnose(healthy), "Twilio", "calls").mark is Mark.OK


@pytest.mark.parametrize(
    ("override", "which", "says"),
    [
        ({"voice_application_sid": "AP123"}, "calls", "calls go to TwiML App AP123, not here"),
        ({"trunk_sid": "TK123"}, "calls", "calls go to SIP trunk TK123, not here"),
        ({"sms_application_sid": "AP456"}, "texts", "texts go to TwiML App AP456, not here"),
        ({"voice": False}, "calls", "the number can't take calls (no Voice capability)"),
        ({"sms": False}, "texts", "the number can't take texts (no SMS capability)"),
    ],
)
async def test_what_overrides_a_numbers_urls_is_named(
    healthy: Settings,
    twilio: TwilioStandIn,
    public: str,
    override: dict[str, Any],
    which: str,
    says: str,
) -> None:
    wire(twilio, public, **override)
    finding = find(await diagnose(healthy), "Twilio", which)
    assert (finding.mark, finding.found) == (Mark.FAIL, says)


async def test_a_number_held_by_a_messaging_service_names_the_service_and_its_numbers(
    healthy: Settings, twilio: TwilioStandIn
) -> None:
    service = twilio.numbers.add_service(
        "Old CRM",
        numbers=[BUSINESS_NUMBER, OTHER_NUMBER],
        inbound_request_url="https://crm.example.com/sms",
    )
    texts = find(await diagnose(healthy), "Twilio", "texts")

    assert texts.mark is Mark.FAIL
    assert texts.found == (
        f'Messaging Service "Old CRM" ({service.sid}) sends them to '
        f"https://crm.example.com/sms; the service also holds {OTHER_NUMBER}"
    )
    assert "Defer to sender's webhook" in texts.fix
    assert "setup twilio --messaging-service --apply" in texts.fix


async def test_a_messaging_service_that_defers_passes_and_one_without_url_drops_texts(
    healthy: Settings, twilio: TwilioStandIn
) -> None:
    service = twilio.numbers.add_service(
        "Notifications", numbers=[BUSINESS_NUMBER], use_inbound_webhook_on_number=True
    )
    deferring = find(await diagnose(healthy), "Twilio", "texts")
    service.use_inbound_webhook_on_number = False
    dropping = find(await diagnose(healthy), "Twilio", "texts")

    assert deferring.mark is Mark.OK and "defers to it" in deferring.found
    assert dropping.mark is Mark.FAIL and "drops them" in dropping.found


async def test_a_crew_phone_that_is_one_of_our_numbers_fails(
    healthy: Settings,
    own_redis: sync_redis.Redis,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    public: str,
) -> None:
    twilio.numbers.add(OTHER_NUMBER)  # the account's, on no line
    settings = doctor_settings(own_redis, slack, twilio, public, forward_to=OTHER_NUMBER)
    crew = find(await diagnose(settings), "Twilio", "crew phones")
    assert crew.mark is Mark.FAIL and "a call would ring itself in a loop" in crew.found


async def test_without_numbers_named_the_accounts_numbers_are_listed(
    own_redis: sync_redis.Redis,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    public: str,
    clean_env: None,
) -> None:
    settings = doctor_settings(own_redis, slack, twilio, public, twilio_numbers="")
    empty = await diagnose(settings)
    twilio.numbers.add(OTHER_NUMBER, voice_url="https://demo.twilio.com/welcome/voice/")
    elsewhere = await diagnose(settings)
    wire(twilio, public)
    listed = await diagnose(settings)

    assert find(empty, "Twilio", "numbers").found == "the account has no phone numbers"
    assert find(elsewhere, "Twilio", "TWILIO_NUMBERS").mark is Mark.FAIL
    assert "calls go to https://demo.twilio.com" in find(elsewhere, "Twilio", OTHER_NUMBER).found
    assert find(listed, "Twilio", BUSINESS_NUMBER).found == "calls and texts come here"
    suggestion = find(listed, "Twilio", "TWILIO_NUMBERS")
    assert suggestion.mark is Mark.WARN and f"TWILIO_NUMBERS={BUSINESS_NUMBER}" in suggestion.fix


def test_urls_compare_as_twilio_requests_them() -> None:
    wanted = "https://tb.example.com/twilio/voice"
    assert twilio.same_url("HTTPS://TB.example.com:443/twilio/voice/#rc=2", wanted)
    assert not twilio.same_url("https://tb.example.com/twilio/voice?x=1", wanted)
    assert not twilio.same_url("http://tb.example.com/twilio/voice", wanted)
    assert not twilio.same_url("", wanted)


async def test_every_lines_channel_and_numbers_are_checked_and_named(
    own_redis: sync_redis.Redis,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    public: str,
    tmp_path: Path,
    healthy: Settings,
) -> None:
    lines_file = tmp_path / "lines.toml"
    lines_file.write_text(
        f"""
[[line]]
id = "uptown"
numbers = ["{OTHER_NUMBER}"]
name = "Acme Electric Uptown"
channel = "C0UPTOWN01"
"""
    )
    slack.add_channel("C0UPTOWN01", "uptown", member=False)
    wire(twilio, public, OTHER_NUMBER, voice_application_sid="AP9")
    settings = doctor_settings(own_redis, slack, twilio, public, lines_file=str(lines_file))
    sections = await diagnose(settings)

    uptown = find(sections, "Slack", "#uptown (line uptown)")
    assert uptown.fix == "type /invite @textback in #uptown"
    assert find(sections, "Slack", "#leads (line default)").mark is Mark.OK
    assert find(sections, "Twilio", f"{OTHER_NUMBER} (line uptown) calls").mark is Mark.FAIL
    assert find(sections, "Twilio", f"{BUSINESS_NUMBER} (line default) calls").mark is Mark.OK
    assert find(sections, "Lines", "texts (line uptown)").mark is Mark.OK


# ---- Redis ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "says"),
    [
        ("allkeys-lru", "may evict opt-outs and the consent ledger"),
        ("volatile-ttl", "a redelivered job could then text someone twice"),
    ],
)
async def test_an_evicting_policy_fails(
    healthy: Settings, own_redis: sync_redis.Redis, policy: str, says: str
) -> None:
    own_redis.config_set("maxmemory-policy", policy)
    sections = await diagnose(healthy)
    eviction = find(sections, "Redis", "eviction")
    assert eviction.mark is Mark.FAIL and policy in eviction.found and says in eviction.found
    assert "noeviction" in eviction.fix
    assert exit_code(sections) == 1


async def test_persistence_off_warns_and_rdb_alone_passes(
    healthy: Settings, own_redis: sync_redis.Redis
) -> None:
    own_redis.config_set("appendonly", "no")
    off = find(await diagnose(healthy), "Redis", "persistence")
    own_redis.config_set("save", "3600 1")
    rdb = find(await diagnose(healthy), "Redis", "persistence")

    assert off.mark is Mark.WARN and "a restart loses every opt-out" in off.found
    assert rdb.mark is Mark.OK and rdb.found.startswith("RDB snapshots (save 3600 1)")


async def test_a_managed_redis_refusing_config_shows_not_visible_and_never_crashes(
    healthy: Settings, own_redis: sync_redis.Redis
) -> None:
    own_redis.acl_setuser(
        "managed", enabled=True, passwords=["+secret"], keys=["*"], channels=["*"],
        commands=["+@all", "-config"],
    )  # fmt: skip
    own_redis.acl_setuser(
        "blind", enabled=True, passwords=["+secret"], keys=["*"], channels=["*"],
        commands=["+@all", "-config", "-info"],
    )  # fmt: skip
    managed = await diagnose(healthy, url_of(own_redis, "managed"))
    blind = await diagnose(healthy, url_of(own_redis, "blind"))

    # INFO still names the eviction policy; only the snapshots' setting is hidden.
    assert find(managed, "Redis", "eviction").mark is Mark.OK
    assert find(managed, "Redis", "persistence").mark is Mark.OK  # INFO: aof_enabled
    assert find(blind, "Redis", "version").found == "not visible (INFO refused)"
    assert "not visible" in find(blind, "Redis", "eviction").found
    assert find(blind, "Redis", "persistence").mark is Mark.WARN
    assert exit_code(blind) == 0


async def test_an_unreachable_redis_fails_and_the_texts_are_still_checked(
    healthy: Settings,
) -> None:
    nowhere = f"redis://127.0.0.1:{local_redis.free_port()}/0"
    sections = await diagnose(healthy, nowhere)
    reachable = find(sections, "Redis", "reachable")
    assert reachable.mark is Mark.FAIL and "REDIS_URL" in reachable.fix
    assert find(sections, "Lines", "texts").mark is Mark.OK
    assert find(sections, "Lines", "changes from Slack").mark is Mark.WARN


async def test_no_redis_yet_says_serve_will_start_its_own(healthy: Settings) -> None:
    sections = await diagnose(healthy, "")
    [note] = [f for s in sections if s.name == "Redis" for f in s.findings]
    assert note.mark is Mark.INFO and "serve will start its own" in note.found


def test_redis_older_than_7_fails_and_valkey_is_named() -> None:
    old = redis.version_finding({"redis_version": "6.2.14"})
    valkey = redis.version_finding({"redis_version": "7.2.4", "valkey_version": "8.0.1"})
    assert old.mark is Mark.FAIL and "SET NX GET needs 7.0" in old.found
    assert (valkey.mark, valkey.found) == (Mark.OK, "Valkey 8.0.1 (Redis 7.2.4 compatible)")


async def test_every_primary_of_a_cluster_is_checked(
    healthy: Settings, redis_cluster_url: str
) -> None:
    sections = await diagnose(healthy, redis_cluster_url)
    assert find(sections, "Redis", "reachable").found.startswith("Redis Cluster via 127.0.0.1:")
    assert find(sections, "Redis", "eviction").found.endswith("(all 3 primaries)")
    assert find(sections, "Redis", "version").mark is Mark.OK


# ---- PUBLIC_URL -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "scheme", "base"),
    [
        ("https://tb.example.com", Mark.OK, Mark.OK),
        ("http://tb.example.com", Mark.WARN, Mark.OK),
        ("http://localhost:3000", Mark.OK, Mark.OK),
        ("http://[::1]:3000", Mark.OK, Mark.OK),
        ("https://tb.example.com/textback", Mark.OK, Mark.FAIL),
        ("https://tb.example.com?x=1", Mark.OK, Mark.FAIL),
    ],
)
def test_public_url_is_https_and_a_base_only(url: str, scheme: Mark, base: Mark) -> None:
    shape = public_url.shape_findings(url)
    assert [f.mark for f in shape] == [scheme, base]


# ---- the lines ------------------------------------------------------------------------------


async def test_a_text_changed_in_slack_that_fails_the_guard_is_named(
    healthy: Settings, own_redis: sync_redis.Redis
) -> None:
    store = Redis.from_url(url_of(own_redis), decode_responses=True)
    await LineConfig(store, Keys(healthy.redis_key_prefix)).set_template(
        "default", "repeat", "Johnson Electric: 20% off this week! Reply STOP to opt out."
    )
    await store.aclose()
    texts = find(await diagnose(healthy), "Lines", "texts")
    assert texts.mark is Mark.FAIL
    assert texts.found.startswith("repeat (set in Slack):") and "reads as promotion" in texts.found
    assert "/textback template edit" in texts.fix


async def test_a_business_name_too_long_for_the_default_texts_fails(
    own_redis: sync_redis.Redis,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    public: str,
    healthy: Settings,
) -> None:
    name = "Johnson Electric ⚡ Emergency Repairs, Panels and EV Chargers"
    settings = doctor_settings(own_redis, slack, twilio, public, business_name=name)
    texts = find(await diagnose(settings), "Lines", "texts")
    assert texts.mark is Mark.FAIL and "business (the default)" in texts.found
    assert "shorten BUSINESS_NAME" in texts.fix


async def test_numbers_no_line_lists_are_shown(
    healthy: Settings, own_redis: sync_redis.Redis
) -> None:
    store = Redis.from_url(url_of(own_redis), decode_responses=True)
    await ServiceRecords(store, Keys(healthy.redis_key_prefix)).unlisted_number(
        OTHER_NUMBER, 1_700_000_000
    )
    await store.aclose()
    unlisted = find(await diagnose(healthy), "Lines", "unlisted")
    assert unlisted.mark is Mark.WARN and OTHER_NUMBER in unlisted.found


# ---- a service that hangs, progress -------------------------------------------------------------


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A server that accepts connections and never answers: a Redis that hangs."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_a_service_that_hangs_times_out_and_hides_nothing_else(
    healthy: Settings, slack: SlackStandIn, silent_port: int
) -> None:
    slack.latency = 5.0
    progress = io.StringIO()
    sections = await command.diagnose(
        healthy, f"redis://127.0.0.1:{silent_port}/0", seconds=0.5, progress=progress
    )

    for hung in ("Slack", "Redis"):
        assert find(sections, hung, "no answer").found == "nothing within 0.5 s"
    assert marks(sections, "Twilio") == [Mark.OK] * 4
    assert find(sections, "Lines", "texts").mark is Mark.OK  # checked without Redis's changes
    assert exit_code(sections) == 1
    shown = progress.getvalue()
    assert shown.startswith("Checking Slack, Twilio, Redis, PUBLIC_URL, Lines (at most 0.5 s")
    assert "  Twilio: done in" in shown and "  Slack: done in" in shown


# ---- the command: exit codes ------------------------------------------------------------------


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
    )


def cli_env(
    settings: Settings, slack_sim: SlackStandIn, twilio_sim: TwilioStandIn
) -> dict[str, str]:
    assert settings.redis_url is not None
    return {
        **app_env(
            public_url=settings.public_url,
            redis_url=settings.redis_url,
            prefix=settings.redis_key_prefix,
            slack=slack_sim,
            twilio=twilio_sim,
            signing_secret=SIGNING_SECRET,
            channel=CHANNEL,
        ),
        "TWILIO_NUMBERS": BUSINESS_NUMBER,
    }


async def test_doctor_exits_0_when_nothing_failed_and_1_when_something_did(
    healthy: Settings, slack: SlackStandIn, twilio: TwilioStandIn, tmp_path: Path
) -> None:
    env = cli_env(healthy, slack, twilio)
    good = await asyncio.to_thread(run_cli, ["doctor", "--timeout", "20"], env, tmp_path)
    slack.add_channel(CHANNEL, "leads", member=False)
    bad = await asyncio.to_thread(run_cli, ["doctor", "--timeout", "20"], env, tmp_path)

    assert good.returncode == 0, good.stdout + good.stderr
    assert "  ✓ #leads: the bot is in this channel" in good.stdout
    assert good.stdout.rstrip().endswith("Nothing to fix; 1 to look at.")
    assert "Checking Slack, Twilio, Redis, PUBLIC_URL, Lines" in good.stderr
    assert bad.returncode == 1
    assert "  ✗ #leads: the bot is not in it" in bad.stdout
    assert "      fix: type /invite @textback in #leads" in bad.stdout


def test_doctor_exits_2_with_serves_message_when_the_settings_are_invalid(tmp_path: Path) -> None:
    result = run_cli(["doctor"], {}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("textback cannot start; fix these settings")
    assert "SLACK_BOT_TOKEN is missing" in result.stderr
    assert result.stdout == ""


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_a_terminal_sees_which_services_are_still_awaited() -> None:
    terminal = Terminal()
    released = asyncio.Event()

    async def slow(found: list[Finding]) -> None:
        await released.wait()
        found.append(Finding(Mark.OK, "slow", "answered"))

    async def watcher(found: list[Finding]) -> None:
        await wait_until(lambda: "waiting on Slow, Watcher (" in terminal.getvalue(), timeout=5)
        released.set()

    sections = await run_checks(
        [Check("Slow", slow, "-"), Check("Watcher", watcher, "-")], 5.0, Progress(terminal)
    )

    assert sections[0].findings == (Finding(Mark.OK, "slow", "answered"),)
    assert "\r\033[KChecking... waiting on Slow (" in terminal.getvalue()  # Watcher done
    assert terminal.getvalue().endswith("\r\033[K")  # the progress line is cleared at the end


def test_cluster_nodes_that_disagree_are_each_named_worst_first() -> None:
    merged = redis.merge(
        [
            ("10.0.0.1:6379", redis.policy_finding("noeviction")),
            ("10.0.0.2:6379", redis.policy_finding("allkeys-lru")),
        ]
    )
    assert [(f.mark, f.subject) for f in merged] == [
        (Mark.FAIL, "eviction (10.0.0.2:6379)"),
        (Mark.OK, "eviction (10.0.0.1:6379)"),
    ]
