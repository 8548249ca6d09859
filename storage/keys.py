"""Every Redis key name, in one place.

Keys about one caller carry the caller's number as a hash tag ({+12025550123}) so each Lua script
touches one hash slot and the store can move to Redis Cluster unchanged. The outbox keys share
the {outbox} tag for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass

DAY = 86_400  # seconds, for expiry times
HIDDEN = "hidden"  # tag for calls without a usable caller ID


@dataclass(frozen=True)
class Keys:
    prefix: str = "tb"

    # --- one caller on one line ---------------------------------------------------------------
    def caller(self, phone: str, line: str) -> str:
        """Hash: opt-out, exclusion, last auto-text, current lead, Slack post sequence."""
        return f"{self.prefix}:{{{phone}}}:line:{line}"

    def parked(self, phone: str, line: str) -> str:
        """Hash seq -> Slack job waiting for its turn, so a thread's posts keep their order."""
        return f"{self.prefix}:{{{phone}}}:line:{line}:parked"

    def lead(self, phone: str, lead_id: str) -> str:
        """Hash: the lead's Slack channel and thread ts."""
        return f"{self.prefix}:{{{phone}}}:lead:{lead_id}"

    def lead_webhooks_waiting(self, phone: str, lead_id: str) -> str:
        """Hash event id -> webhook event waiting for the lead's card (so it carries the link)."""
        return f"{self.prefix}:{{{phone}}}:lead:{lead_id}:webhooks-waiting"

    def caller_job(self, phone: str, job_id: str) -> str:
        """Idempotency marker of a job about one caller, in the caller's slot, so the check and
        the caller's state are read in one script."""
        return f"{self.prefix}:{{{phone}}}:job:{job_id}"

    def update_queued(self, phone: str, lead_id: str, crew: bool = False) -> str:
        """Set while a card update for the lead waits on the outbox: one (per lane) is enough."""
        lane = "update-queued:crew" if crew else "update-queued"
        return f"{self.prefix}:{{{phone}}}:lead:{lead_id}:{lane}"

    def call(self, phone: str | None, call_sid: str) -> str:
        """What we decided for one CallSid; Twilio may deliver its callbacks many times."""
        return f"{self.prefix}:{{{phone or HIDDEN}}}:call:{call_sid}"

    def inbound_sms(self, phone: str | None, message_sid: str) -> str:
        return f"{self.prefix}:{{{phone or HIDDEN}}}:sms:{message_sid}"

    def ledger(self, phone: str) -> str:
        """Stream: the number's consent history (calls, texts sent, consents, opt-outs). Append
        only and never expires: it is the record a lawyer or an audit asks for."""
        return f"{self.prefix}:{{{phone}}}:ledger"

    def ledger_pattern(self) -> str:
        """SCAN match for every number's ledger."""
        return f"{self.prefix}:{{*}}:ledger"

    # --- intake page ----------------------------------------------------------------------------
    def intake(self, token: str) -> str:
        """Hash: the lead an intake link belongs to, its expiry and its submission count."""
        return f"{self.prefix}:intake:{{{token}}}"

    def intake_nonce(self, token: str, nonce: str) -> str:
        """Set once a form (one page load) was submitted, so a double submit posts once."""
        return f"{self.prefix}:intake:{{{token}}}:nonce:{nonce}"

    def screened(self, call_sid: str) -> str:
        """Set when someone pressed a key on the screening prompt of this parent call."""
        return f"{self.prefix}:{{{call_sid}}}:screened"

    # --- one line's settings changed from Slack ------------------------------------------------
    def line_config(self, line: str) -> str:
        """Hash: overrides of the environment's defaults (templates, hours, window, pause)."""
        return f"{self.prefix}:line:{line}:config"

    def excluded(self, line: str) -> str:
        """Hash phone -> note: the exclusion list, for listing (the caller hash decides)."""
        return f"{self.prefix}:line:{line}:excluded"

    def slack_admin(self, user_id: str) -> str:
        """Cached answer of users.info: is this Slack user a workspace admin or owner."""
        return f"{self.prefix}:slack-admin:{user_id}"

    # --- outbound webhooks ----------------------------------------------------------------------
    def webhook(self, url_key: str) -> str:
        """Hash: one receiver URL's state (disabled, last success, failures, last error)."""
        return f"{self.prefix}:webhook:{url_key}"

    def webhook_failed(self, url_key: str) -> str:
        """Sorted set of deliveries to one URL that gave up (score: when), for a retry."""
        return f"{self.prefix}:webhook:{url_key}:failed"

    def webhook_event_sent(self, event_job_id: str, phone: str | None = None) -> str:
        """Set when an event is first sent: its timer and its release by the card both run it,
        and only one may send (a takeover sends all the same: at least once). An event about a
        caller's lead keeps it in the caller's slot, read in one script with the lead."""
        if phone:
            return f"{self.prefix}:{{{phone}}}:webhook-event:{event_job_id}"
        return f"{self.prefix}:webhook-event:{event_job_id}"

    def slack_user_name(self, user_id: str) -> str:
        """Cached display name of a Slack user (users.info), for webhook bodies and exports."""
        return f"{self.prefix}:slack-user:{user_id}"

    def slack_workspace(self) -> str:
        """Cached workspace URL (auth.test), which lead card links are built from."""
        return f"{self.prefix}:slack-workspace"

    # --- Slack ----------------------------------------------------------------------------------
    def thread(self, channel: str, ts: str) -> str:
        """A lead card's Slack ts -> the caller it belongs to."""
        return f"{self.prefix}:thread:{channel}:{ts}"

    def slack_event(self, event_id: str) -> str:
        return f"{self.prefix}:slack-event:{event_id}"

    def pace(self, channel: str) -> str:
        return f"{self.prefix}:pace:{channel}"

    # --- leads: reminders, stats, digest ---------------------------------------------------------
    def reminders(self) -> str:
        """Sorted set of due "nobody answered" reminders (score: due epoch seconds)."""
        return f"{self.prefix}:reminders"

    def leads_of_day(self, day: str) -> str:
        """Sorted set of the day's leads (member phone|line|lead_id, score: opened at)."""
        return f"{self.prefix}:leads:{day}"

    def stats_day(self, day: str) -> str:
        """Hash of counters for one day in the business's time zone (YYYY-MM-DD)."""
        return f"{self.prefix}:stats:{day}"

    def stats_times(self, day: str) -> str:
        """List of seconds from a caller's reply to the first human answer, that day."""
        return f"{self.prefix}:stats:{day}:response"

    def digest(self, week: str) -> str:
        """SET NX once per ISO week: exactly one process posts the weekly digest."""
        return f"{self.prefix}:digest:{week}"

    # --- outbox ---------------------------------------------------------------------------------
    def stream(self, queue: str) -> str:
        return f"{self.prefix}:{{outbox}}:{queue}"

    def retry(self, queue: str) -> str:
        """Sorted set of jobs waiting for their retry time (score: due epoch seconds)."""
        return f"{self.prefix}:{{outbox}}:{queue}:retry"

    def dead(self) -> str:
        return f"{self.prefix}:{{outbox}}:dead"

    def job(self, job_id: str) -> str:
        """Idempotency marker: a redelivered job sees it and sends nothing twice."""
        return f"{self.prefix}:job:{job_id}"

    def sent_sms(self, message_sid: str) -> str:
        """What an SMS we sent was for, so its delivery-status callback can report in the thread."""
        return f"{self.prefix}:sent:{message_sid}"

    def last_error(self) -> str:
        return f"{self.prefix}:last-error"
