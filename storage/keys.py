"""Every Redis key name, in one place.

Keys about one caller carry the caller's number as a hash tag ({+12025550123}) so each Lua script
touches one hash slot and the store can move to Redis Cluster unchanged. The outbox keys share
the {outbox} tag for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.line import DEFAULT_LINE

DAY = 86_400  # seconds, for expiry times
THREAD_TTL = (
    180 * DAY
)  # a lead and its thread: a crew reply in an old thread still finds its caller
HIDDEN = "hidden"  # tag for calls without a usable caller ID


@dataclass(frozen=True)
class Keys:
    prefix: str = "tb"

    # --- one caller on one line ---------------------------------------------------------------
    def caller(self, phone: str, line: str) -> str:
        """Hash: opt-out, exclusion, last auto-text, current lead, Slack post sequence."""
        return f"{self.prefix}:{{{phone}}}:line:{line}"

    def number(self, phone: str) -> str:
        """Hash: what holds for this number on every line: `opted_out` (when it last opted out,
        on any line), `in:<line>` (when it opted back in on that line), `excluded` (the note).
        Before several lines these lived in the default line's caller hash, which is still read
        (storage/callers.py's EVERY_LINE)."""
        return f"{self.prefix}:{{{phone}}}:number"

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

    def line_type(self, phone: str) -> str:
        """String: Twilio Lookup's line type of the number (landline, mobile, ...), or "pending"
        while a lookup runs; "landline" too after a text to it failed with 30006."""
        return f"{self.prefix}:{{{phone}}}:line-type"

    def call_back_hold(self, phone: str) -> str:
        """String: the Slack user whose call back to this caller is under way."""
        return f"{self.prefix}:{{{phone}}}:call-back-hold"

    def voicemail(self, phone: str, recording_sid: str) -> str:
        """Hash: a recording's lead and what of it is planned (audio, transcript), by its Sid."""
        return f"{self.prefix}:{{{phone}}}:voicemail:{recording_sid}"

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

    def intake_address(self, address: str, hour: int) -> str:
        """Counter of forms from one client address in one hour (epoch hours)."""
        return f"{self.prefix}:intake-address:{address}:{hour}"

    def screened(self, call_sid: str) -> str:
        """Set when someone pressed a key on the screening prompt of this parent call."""
        return f"{self.prefix}:{{{call_sid}}}:screened"

    def answered_legs(self, call_sid: str) -> str:
        """Set: the crew phones whose screening prompt ran for this parent call (the ones that
        answered; a key press then marks `screened`)."""
        return f"{self.prefix}:{{{call_sid}}}:answered-legs"

    def rung_again(self, call_sid: str) -> str:
        """String: how many silent answers the last extra round of ringing was for."""
        return f"{self.prefix}:{{{call_sid}}}:rung-again"

    def voicemail_call(self, call_sid: str) -> str:
        """Hash: the caller and line of a call offered voicemail, for its recording callbacks
        (a recording status callback carries the CallSid but not the caller's number)."""
        return f"{self.prefix}:{{{call_sid}}}:voicemail-call"

    def call_back(self, call_back_id: str) -> str:
        """Hash: one tap of Call back: who calls whom about which lead (domain CallBack)."""
        return f"{self.prefix}:call-back:{{{call_back_id}}}"

    def crew_phone(self, user_id: str) -> str:
        """String: the phone a Slack user registered for call backs (/textback me phone)."""
        return f"{self.prefix}:crew:{user_id}:phone"

    # --- one line's settings changed from Slack ------------------------------------------------
    def line_config(self, line: str) -> str:
        """Hash: overrides of the environment's defaults (templates, hours, window, pause)."""
        return f"{self.prefix}:line:{line}:config"

    def excluded(self) -> str:
        """Hash phone -> JSON {note, line}: the exclusion list, for listing (the number hash
        decides). One for every line: a supplier calling another location is still a supplier."""
        return f"{self.prefix}:excluded"

    def excluded_before_lines(self) -> str:
        """Hash phone -> note: the default line's list, from before exclusions covered every
        line. Still listed, and emptied as numbers are removed."""
        return f"{self.prefix}:line:default:excluded"

    def slack_admin(self, user_id: str) -> str:
        """A Slack user's role as Slack last said (admin, member, guest), fetched ahead."""
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

    def roles_sweep(self) -> str:
        """SET NX by the one web process that lists the workspace's members this round."""
        return f"{self.prefix}:slack-roles-sweep"

    def roles_swept(self) -> str:
        """How the latest list of the workspace's members went."""
        return f"{self.prefix}:slack-roles-swept"

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

    def _of_line(self, line: str) -> str:
        # The default line keeps the names from before several lines, so its history counts.
        return "" if line == DEFAULT_LINE else f"line:{line}:"

    def stats_day(self, line: str, day: str) -> str:
        """Hash of a line's counters for one day in its time zone (YYYY-MM-DD)."""
        return f"{self.prefix}:stats:{self._of_line(line)}{day}"

    def stats_times(self, line: str, day: str) -> str:
        """List of seconds from a caller's reply to the first human answer, that day."""
        return f"{self.prefix}:stats:{self._of_line(line)}{day}:response"

    def digest(self, line: str, week: str) -> str:
        """SET NX once per line and ISO week: exactly one process posts its weekly digest."""
        return f"{self.prefix}:digest:{self._of_line(line)}{week}"

    # --- outbox ---------------------------------------------------------------------------------
    def stream(self, queue: str) -> str:
        return f"{self.prefix}:{{outbox}}:{queue}"

    def retry(self, queue: str) -> str:
        """Sorted set of jobs waiting for their retry time (score: due epoch seconds)."""
        return f"{self.prefix}:{{outbox}}:{queue}:retry"

    def held(self, channel: str, ts: str) -> str:
        """A crew reply waiting out its undo window: the job as it waits in the sms retry set
        (or "cancelled"). In the outbox's slot, so an edit or a deletion and the worker's
        promotion of the job are one atomic step each."""
        return f"{self.prefix}:{{outbox}}:held:{channel}:{ts}"

    def dead(self) -> str:
        """List of buried jobs (JSON: at, queue, kind, reason, job), newest first."""
        return f"{self.prefix}:{{outbox}}:dead"

    def dead_counts(self) -> str:
        """Hash kind -> buried jobs of that kind still in the dead list."""
        return f"{self.prefix}:{{outbox}}:dead-counts"

    def given_up(self) -> str:
        """Hash kind -> jobs given up on after their last retry, ever (a counter)."""
        return f"{self.prefix}:{{outbox}}:given-up"

    def broken(self) -> str:
        """Hash scope ("token", "channel:<id>") -> JSON {error, since}: what Slack's wiring
        refuses now (storage/holds.py)."""
        return f"{self.prefix}:{{outbox}}:slack-broken"

    def held_jobs(self, scope: str) -> str:
        """List of jobs (JSON) held while `scope` is broken, in the order they were held."""
        return f"{self.prefix}:{{outbox}}:held:{scope}"

    def held_counts(self) -> str:
        """Hash kind -> jobs held, over every scope."""
        return f"{self.prefix}:{{outbox}}:held-counts"

    def wiring_check(self) -> str:
        """When (clock seconds) the next check of a broken wiring is due, for every worker."""
        return f"{self.prefix}:{{outbox}}:wiring-check"

    def wiring_alert(self) -> str:
        """Hash: when the owner was last told Slack refuses posts (down_at), and which outage."""
        return f"{self.prefix}:{{outbox}}:wiring-alert"

    def job(self, job_id: str) -> str:
        """Idempotency marker: a redelivered job sees it and sends nothing twice."""
        return f"{self.prefix}:job:{job_id}"

    def sent_sms(self, message_sid: str) -> str:
        """What an SMS we sent was for, so its delivery-status callback can report in the thread."""
        return f"{self.prefix}:sent:{message_sid}"

    def unlisted_numbers(self) -> str:
        """Sorted set: business numbers Twilio sent us that no line lists (score: last seen)."""
        return f"{self.prefix}:unlisted-numbers"

    def wiring_report(self) -> str:
        """Hash: the doctor's last Slack and Twilio wiring report (at, report) for /textback
        status, shared by every process."""
        return f"{self.prefix}:wiring-report"

    def last_error(self) -> str:
        return f"{self.prefix}:last-error"
