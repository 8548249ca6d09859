"""The intake page's HTML: one small self-contained document per state.

Mobile-first, no external assets, no JavaScript, labelled fields, high-contrast colours, visible
keyboard focus. Every value shown comes through html.escape.
"""

from __future__ import annotations

from html import escape

from bot.domain.intake import LABELS, IntakeForm, Problems

_STYLE = """
*{box-sizing:border-box}
body{margin:0;font:17px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#111;background:#f4f5f7}
main{max-width:34rem;margin:0 auto;padding:1.25rem 1rem 3rem}
header{background:#1d3b5a;color:#fff;padding:1rem}
header p{margin:0 auto;max-width:34rem;font-weight:700;font-size:1.2rem}
h1{font-size:1.45rem;line-height:1.25;margin:.25rem 0 1rem}
label{display:block;font-weight:600;margin:1rem 0 .3rem}
.hint{font-weight:400;color:#3d4451}
input[type=text],textarea{width:100%;padding:.7rem;font:inherit;color:#111;background:#fff;
border:2px solid #59606d;border-radius:.4rem}
textarea{min-height:7rem;resize:vertical}
input:focus,textarea:focus,button:focus{outline:3px solid #b35c00;outline-offset:2px}
.consent{display:flex;gap:.6rem;align-items:flex-start;margin:1.25rem 0;font-weight:400}
.consent input{width:1.4rem;height:1.4rem;margin:.15rem 0 0;flex:none}
button{width:100%;padding:.9rem;font:inherit;font-weight:700;color:#fff;background:#1d3b5a;
border:0;border-radius:.4rem;cursor:pointer}
.error{color:#a3000b;font-weight:600;margin:.3rem 0 0}
.alert{border:2px solid #a3000b;background:#fff0f0;padding:.75rem;border-radius:.4rem}
.note{color:#3d4451;font-size:.95rem}
"""


def _document(business: str, title: str, body: str) -> str:
    name = escape(business)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)} · {name}</title><style>{_STYLE}</style></head>"
        f"<body><header><p>{name}</p></header><main>{body}</main></body></html>"
    )


def _field(name: str, form: IntakeForm, problems: Problems, *, required: bool = False) -> str:
    value = form.values()[name]
    label = escape(LABELS[name])
    hint = "" if required else ' <span class="hint">(optional)</span>'
    error = problems.fields.get(name)
    described = f' aria-describedby="{name}-error" aria-invalid="true"' if error else ""
    # The length limit is checked on the server: a browser maxlength would silently cut a paste.
    attrs = f'id="{name}" name="{name}"{described}' + (" required" if required else "")
    if name == "need":
        control = f"<textarea {attrs}>{escape(value)}</textarea>"
    else:
        autocomplete = {"name": "name", "address": "street-address"}.get(name, "off")
        control = (
            f'<input type="text" {attrs} value="{escape(value)}" autocomplete="{autocomplete}">'
        )
    message = f'<p class="error" id="{name}-error">{escape(error)}</p>' if error else ""
    return f'<label for="{name}">{label}{hint}</label>{control}{message}'


def form_page(
    business: str,
    disclosure: str,
    nonce: str,
    csrf: str,
    form: IntakeForm | None = None,
    problems: Problems | None = None,
) -> str:
    form = form or IntakeForm()
    problems = problems or Problems()
    alert = ""
    if problems:
        items = list(problems.general)
        if problems.fields:
            items.append("Please check the fields marked below. Nothing you typed was lost.")
        alert = (
            '<div class="alert" role="alert">'
            + "".join(f"<p>{escape(item)}</p>" for item in items)
            + "</div>"
        )
    checked = " checked" if form.consent else ""
    body = (
        "<h1>Sorry we missed your call. What can we help with?</h1>"
        f"{alert}"
        '<form method="post" accept-charset="utf-8">'
        f'<input type="hidden" name="nonce" value="{escape(nonce)}">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        + _field("need", form, problems, required=True)
        + _field("name", form, problems)
        + _field("address", form, problems)
        + _field("best_time", form, problems)
        + '<label class="consent" for="consent">'
        f'<input type="checkbox" id="consent" name="consent" value="yes"{checked}>'
        f"<span>{escape(disclosure)}</span></label>"
        '<button type="submit">Send to ' + escape(business) + "</button>"
        "</form>"
        '<p class="note">Prefer texting? Just reply to our text message.</p>'
    )
    return _document(business, "Tell us what you need", body)


def thanks_page(business: str) -> str:
    body = (
        "<h1>Thanks, we got it.</h1>"
        f"<p>{escape(business)} will get back to you as soon as we can. "
        "You can also reply to our text message any time.</p>"
    )
    return _document(business, "Thanks", body)


def not_found_page(business: str) -> str:
    body = (
        "<h1>This link has expired or isn't valid.</h1>"
        "<p>No problem: just reply to our text message with what you need, "
        f"and {escape(business)} will get back to you.</p>"
    )
    return _document(business, "Link expired", body)


def limit_page(business: str) -> str:
    body = (
        "<h1>We already have your request.</h1>"
        "<p>This link has been used several times already. To add anything, "
        f"just reply to our text message and {escape(business)} will see it.</p>"
    )
    return _document(business, "Already received", body)


def busy_page(business: str) -> str:
    body = (
        "<h1>We have several requests from you already.</h1>"
        "<p>We got a number of forms from your connection in the last hour, so we are not "
        "taking more for now. Please try again in an hour, or just reply to our text message "
        f"and {escape(business)} will see it.</p>"
    )
    return _document(business, "Please try again later", body)


def bad_request_page(business: str, message: str) -> str:
    body = (
        f"<h1>Something went wrong with that form.</h1><p>{escape(message)}</p>"
        "<p>You can also just reply to our text message with what you need.</p>"
    )
    return _document(business, "Please try again", body)
