"""The leads export's rows: one per lead, the same facts a webhook's data.lead carries, flat.

A CSV's cells are made safe to open by spreadsheet.py, as the consent export's are.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.leads import LeadRecord
from bot.domain.webhooks import iso, permalink

FIELDS = (
    "lead_id",
    "line",
    "line_name",
    "caller",
    "caller_name",
    "business_number",
    "called_at",
    "auto_text",
    "auto_text_error",
    "texted_at",
    "first_reply_at",
    "first_answer_at",
    "first_answer_by",
    "first_answer_by_id",
    "state",
    "claimed_by",
    "claimed_by_id",
    "booked_at",
    "closed_at",
    "texts_from_caller",
    "texts_to_caller",
    "slack_permalink",
    "opened_at",
)


def row(
    record: LeadRecord,
    line_name: str,
    names: Mapping[str, str],
    workspace_url: str | None,
) -> dict[str, str | int]:
    lead = record.state
    return {
        "lead_id": record.lead_id,
        "line": lead.line,
        "line_name": line_name,
        "caller": lead.phone,
        "caller_name": record.caller_name,
        "business_number": record.business_number,
        "called_at": iso(record.called_at) or "",
        "auto_text": record.auto_text or ("pending" if record.called_at else ""),
        "auto_text_error": record.auto_text_error,
        "texted_at": iso(record.texted_at) or "",
        "first_reply_at": iso(record.first_reply_at) or "",
        "first_answer_at": iso(record.first_answer_at) or "",
        "first_answer_by": names.get(record.first_answer_by, record.first_answer_by),
        "first_answer_by_id": record.first_answer_by,
        "state": lead.state,
        "claimed_by": names.get(lead.claimer, lead.claimer),
        "claimed_by_id": lead.claimer,
        "booked_at": iso(lead.booked_at) or "",
        "closed_at": iso(lead.closed_at) or "",
        "texts_from_caller": record.texts_in,
        "texts_to_caller": record.texts_out,
        "slack_permalink": permalink(workspace_url, lead.channel, lead.ts) or "",
        "opened_at": iso(record.opened_at) or "",
    }
