"""Typed jobs survive the outbox: every kind round-trips through JSON, and a job queued by the
previous release (one flat `data` dict) is still carried out after an upgrade."""

from __future__ import annotations

import json

import pytest

from bot.domain.jobs import (
    CardUpdate,
    Ephemeral,
    HeldTurn,
    Job,
    LeadThread,
    LineTypeLookup,
    MediaUpload,
    Notice,
    PlaceCall,
    Reaction,
    SendSms,
    SentText,
    SlackMessage,
    SlackThread,
    ThreadPost,
    Unpark,
    VoicemailUpload,
    WebhookDelivery,
    WebhookEvent,
)

LEAD = LeadThread("+12025550123", "default", "lead1", "C0LEADS")
CARD = Job("call:CA1", ThreadPost(LEAD.at(1), "Missed call", card=True))
AUTO_TEXT = SendSms(
    to="+12025550123",
    from_="+12125550100",
    body="Hi, this is Johnson Electric.",
    purpose="auto-text (business)",
    line="default",
    report_to=LEAD,
    template="business",
    template_version="v2",
    then=CARD,
)

EVERY_KIND = [
    Job("textback:CA1", AUTO_TEXT, attempt=2),
    Job(
        "reply:C0LEADS:1.2",
        SendSms(
            to="+12025550123",
            from_="+12125550100",
            body="On our way",
            purpose="crew reply",
            line="default",
            report_to=SlackThread("C0LEADS", "1.1"),
            react_on=SlackMessage("C0LEADS", "1.2"),
        ),
    ),
    CARD,
    Job("urgent:SM1", ThreadPost(LEAD.at(3), "Urgent", broadcast=True, blocks=[{"type": "x"}])),
    Job("in:SM1:media:1", MediaUpload(LEAD.at(2), "https://api.twilio.com/m/1", "image/jpeg")),
    Job("remind:lead1:1.0:1", Notice("C0LEADS", "Nobody answered", lead=LEAD)),
    Job("call:CA2", Notice("C0LEADS", "Hidden caller")),
    Job("react:x:ok", Reaction(SlackMessage("C0LEADS", "1.2"), "white_check_mark")),
    Job("update:lead1:3:crew", CardUpdate("+12025550123", "lead1", crew=True)),
    Job("unpark:+12025550123:default:4", Unpark("+12025550123", "default", 4)),
    Job("update:lead1:4", CardUpdate("+12025550123", "lead1"), turn=HeldTurn(0, 1234.5)),
    Job("call-back:cb1", PlaceCall("cb1", LEAD, "U0CREW", "+12025550188", "+12125550100")),
    Job("lookup:CA3", LineTypeLookup("+12025550123")),
    Job("voicemail:RE1", VoicemailUpload(LEAD.at(5), "RE1", "https://api.twilio.com/r", 23)),
    Job("voicemail:RE2", VoicemailUpload(LEAD.at(6), "RE2", "https://x/r", claimer="U0CREW")),
    Job("call-back:cb1:ringing", Ephemeral("C0LEADS", "U0CREW", "Calling your phone now")),
]


# Outbound webhooks: an event (rendered when it runs) and one URL's delivery of it.
WEBHOOK_KINDS = [
    Job(
        "webhook:msg_1",
        WebhookEvent(
            "msg_1",
            "message.received",
            1796400000.5,
            "default",
            phone="+12025550123",
            lead_id="lead1",
            facts={"message": {"text": 'Need "a" quote', "media": [], "keyword": None}},
            waited=True,
        ),
    ),
    Job("webhook:msg_2", WebhookEvent("msg_2", "webhook.test", 1.0, "default", only="https://x")),
    Job(
        "webhook:msg_1:0123abcd",
        WebhookDelivery("msg_1", "https://hooks.example.com/a", '{"type":"x"}', "default"),
        attempt=4,
    ),
]
# A crew reply carries the lead it answers and its writer (for message.sent).
CREW_REPLY = Job(
    "reply:C0LEADS:1.3",
    SendSms(
        to="+12025550123",
        from_="+12125550100",
        body="On our way",
        purpose="crew reply",
        line="default",
        report_to=SlackThread("C0LEADS", "1.1"),
        react_on=SlackMessage("C0LEADS", "1.3"),
        answers=LEAD,
        held=True,
        author="U0CREW",
    ),
)


@pytest.mark.parametrize("job", [*EVERY_KIND, *WEBHOOK_KINDS, CREW_REPLY], ids=lambda job: job.id)
def test_every_kind_of_job_reads_back_as_it_was_queued(job: Job) -> None:
    assert Job.from_json(job.to_json()) == job


def test_a_queue_follows_the_kind_of_work() -> None:
    assert [job.queue for job in EVERY_KIND[:3]] == ["sms", "sms", "slack"]
    # Work against Twilio never waits behind Slack: a call back and a lookup go with the texts.
    assert [job.queue for job in EVERY_KIND[-5:]] == ["sms", "sms", "slack", "slack", "slack"]
    # Nor behind a webhook receiver, which has a queue of its own.
    assert [job.queue for job in WEBHOOK_KINDS] == ["webhooks"] * 3


def test_a_texts_lead_is_where_it_is_told_or_the_lead_a_crew_reply_answers() -> None:
    assert AUTO_TEXT.lead == LEAD
    assert isinstance(CREW_REPLY.payload, SendSms) and CREW_REPLY.payload.lead == LEAD


def previous_release(
    kind: str, data: dict[str, object], job_id: str = "old", attempt: int = 1
) -> str:
    return json.dumps({"id": job_id, "kind": kind, "data": data, "attempt": attempt})


def test_an_auto_text_queued_by_the_previous_release_is_still_sent_with_its_card() -> None:
    card = previous_release(
        "slack.post",
        {
            "channel": "C0LEADS",
            "text": "Missed call",
            "card": True,
            "phone": LEAD.phone,
            "line": "default",
            "lead_id": "lead1",
            "seq": 1,
        },
        "call:CA1",
        attempt=0,
    )
    raw = previous_release(
        "sms.send",
        {
            "to": LEAD.phone,
            "from": "+12125550100",
            "body": "Hi, this is Johnson Electric.",
            "purpose": "auto-text (business)",
            "line": "default",
            "respect_opt_out": True,
            "notify": {"channel": "C0LEADS", "phone": LEAD.phone, "lead_id": "lead1"},
            "react_on": None,
            "template": "business",
            "template_version": "v2",
            "then": card,
        },
        "textback:CA1",
    )
    job = Job.from_json(raw)
    assert job.payload == AUTO_TEXT
    assert (job.id, job.attempt) == ("textback:CA1", 1)


def test_a_crew_reply_queued_by_the_previous_release_reports_in_its_thread() -> None:
    raw = previous_release(
        "sms.send",
        {
            "to": LEAD.phone,
            "from": "+12125550100",
            "body": "On our way",
            "purpose": "crew reply",
            "line": "default",
            "respect_opt_out": True,
            "notify": {"channel": "C0LEADS", "thread_ts": "1.1"},
            "react_on": {"channel": "C0LEADS", "ts": "1.2"},
        },
    )
    sms = Job.from_json(raw).payload
    assert isinstance(sms, SendSms)
    assert (sms.report_to, sms.react_on) == (
        SlackThread("C0LEADS", "1.1"),
        SlackMessage("C0LEADS", "1.2"),
    )


def test_a_paced_post_queued_by_the_previous_release_keeps_the_turn_it_held() -> None:
    raw = previous_release(
        "slack.notice",
        {
            "channel": "C0LEADS",
            "text": "Nobody answered",
            "thread_ts": None,
            "phone": LEAD.phone,
            "lead_id": "lead1",
            "slot_for_attempt": 1,
            "turn_at": 99.5,
        },
    )
    job = Job.from_json(raw)
    assert job.payload == Notice("C0LEADS", "Nobody answered", lead=LEAD)
    assert job.turn == HeldTurn(1, 99.5)


@pytest.mark.parametrize(
    ("kind", "data", "payload"),
    [
        (
            "slack.upload",
            {
                "channel": "C0LEADS",
                "url": "https://m/1",
                "content_type": "image/png",
                "phone": LEAD.phone,
                "line": "default",
                "lead_id": "lead1",
                "seq": 2,
            },
            MediaUpload(LEAD.at(2), "https://m/1", "image/png"),
        ),
        (
            "slack.react",
            {"channel": "C0LEADS", "ts": "1.2", "name": "warning"},
            Reaction(SlackMessage("C0LEADS", "1.2"), "warning"),
        ),
        (
            "slack.update",
            {"phone": LEAD.phone, "lead_id": "lead1", "crew": True},
            CardUpdate(LEAD.phone, "lead1", crew=True),
        ),
        (
            "slack.unpark",
            {"phone": LEAD.phone, "line": "default", "seq": 4},
            Unpark(LEAD.phone, "default", 4),
        ),
    ],
)
def test_other_jobs_queued_by_the_previous_release_read_as_their_kind(
    kind: str, data: dict[str, object], payload: object
) -> None:
    assert Job.from_json(previous_release(kind, data)).payload == payload


def test_what_a_text_was_for_reads_back_from_either_release() -> None:
    sent = SentText.of(AUTO_TEXT)
    assert SentText.from_json(sent.to_json()) == sent
    kept_before = json.dumps(
        {
            "to": LEAD.phone,
            "line": "default",
            "purpose": "auto-text (business)",
            "notify": {"channel": "C0LEADS", "phone": LEAD.phone, "lead_id": "lead1"},
            "react_on": None,
        }
    )
    assert SentText.from_json(kept_before) == sent
