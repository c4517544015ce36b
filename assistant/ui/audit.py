"""The Audit tab: the signed-in user's saved profile in, the audit of :func:`assistant.writing.audit` with citations out.

The profile is the one saved in the My profile tab (:mod:`assistant.ui.profile`, whose
form used to live here), so the audit, the answers and the drafts all read the same
record. The audit lists only what the guides call red flags, where each should be
addressed and the strengths that offset it, citing the passages (``<details id="asrc-n">``).

API endpoint ``/audit``: a profile dict (the ``advisor audit`` profile schema), or none for
the signed-in user's saved profile -> the audit JSON.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from assistant.config import Settings
from assistant.errors import InputError
from assistant.ui.html import cite_link, error_notice, esc, notice, source_details
from assistant.ui.profile import profile_summary, saved_profile
from assistant.ui.shared import AUDIENCE_LABELS, SPECIALTY_LABELS, Context, PageLoad, api_error, user_of
from assistant.writing import audit, format_labels


def run_audit(profile: dict, settings: Settings) -> Any:
    return audit(profile, settings=settings)


# --------------------------------------------------------------------------- rendering


def _cite(n: Any, numbers: set[int]) -> str:
    return " " + cite_link("asrc", int(n)) if isinstance(n, int) and n in numbers else ""


def _item(entry: dict, numbers: set[int]) -> str:
    """One cited list item: the entry's text and its ``[n]`` link."""
    return f"<li>{esc(entry.get('text'))}{_cite(entry.get('citation'), numbers)}</li>"


def _render_flag(f: dict, numbers: set[int]) -> str:
    labels = format_labels()
    where = ", ".join(labels.get(w, w) for w in f.get("where") or [])
    why = "".join(_item(r, numbers) for r in f.get("why") or [])
    offs = "".join(_item(r, numbers) for r in f.get("strengths") or [])
    return (
        f'<div class="notice {"abstain" if f.get("severity") == "major" else "info"} audit-flag"><b>{esc(f.get("title"))}</b> '
        f'({esc(f.get("severity"))}; {esc(f.get("detail"))})<br>Address it in: {esc(where)} · draft it with the Draft tab, kind <code>{esc(f.get("draft_kind"))}</code>'
        f"<div>Why it matters:<ul>{why}</ul></div>" + (f"<div>What offsets it:<ul>{offs}</ul></div>" if offs else "") + "</div>"
    )


def _render_strengths(strengths: list[dict], numbers: set[int]) -> str:
    rows = "".join(
        f"<tr><td>{esc(s.get('text'))}{_cite(s.get('citation'), numbers)}</td><td><b>{esc(s.get('status'))}</b></td><td>{esc(s.get('detail'))}</td></tr>" for s in strengths
    )
    return f'<h3>Strengths the guides recommend</h3><table class="lib"><thead><tr><th>Strength</th><th>Status</th><th>From your profile</th></tr></thead><tbody>{rows}</tbody></table>'


def _render_bands(bands: dict, numbers: set[int]) -> str:
    items = "".join(
        f"<li>{'➡️ <b>' if b.get('applicant') else ''}{esc(b.get('text'))}{'</b> (your score)' if b.get('applicant') else ''}{_cite(b.get('citation'), numbers)}</li>"
        for b in bands.get("bands") or []
    )
    return f"<h3>Step 2 CK ranges</h3><ul>{items}</ul>" + (f"<p>{esc(bands.get('note'))}</p>" if bands.get("note") else "")


def render_audit(result: Any) -> str:
    """Flags (where to address them, why, what offsets them), strengths, score bands, considerations, sources."""
    data = result.to_json() if hasattr(result, "to_json") else dict(result)
    cits = data.get("citations") or []
    numbers = {int(c["n"]) for c in cits if isinstance(c, dict) and isinstance(c.get("n"), int)}
    audience = AUDIENCE_LABELS.get(data.get("audience"), data.get("audience"))
    specialty = SPECIALTY_LABELS.get(data.get("specialty"), data.get("specialty"))
    out = [f'<div class="panel" id="audit-result"><p>Profile: <b>{esc(audience)}</b> applying to <b>{esc(specialty)}</b>.</p>']
    flags = data.get("flags") or []
    out.append(f"<h3>Red flags the guides would see ({len(flags)})</h3>")
    if not flags:
        out.append(notice("ok", "None of the red flags the guides describe shows in this profile.", "audit-no-flags"))
    out.extend(_render_flag(f, numbers) for f in flags)
    if data.get("strengths"):
        out.append(_render_strengths(data["strengths"], numbers))
    bands = data.get("score_bands") or {}
    if bands.get("bands") or bands.get("note"):
        out.append(_render_bands(bands, numbers))
    if data.get("considerations"):
        items = "".join(_item(c, numbers) for c in data["considerations"])
        out.append(f"<h3>Worth knowing (not red flags)</h3><ul>{items}</ul>")
    if data.get("note"):
        out.append(f'<div class="answer-note">ℹ️ {esc(data["note"])}</div>')
    if cits:
        out.append("<h3>Sources</h3>" + source_details(cits, "asrc"))
    out.append("</div>")
    return "\n".join(out)


# --------------------------------------------------------------------------- handlers


class AuditHandlers:
    """The Audit tab's event and its ``/audit`` endpoint, bound to the app's :class:`~assistant.ui.shared.Context`."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def summary(self, request: gr.Request) -> str:
        """The line above the button: which saved profile the audit will read."""
        return profile_summary(saved_profile(self.ctx, user_of(request)))

    def audit_saved(self, request: gr.Request) -> str:
        """Audit the signed-in user's saved profile (a notice when there is none yet)."""
        from assistant.workspace import get_profile

        try:
            profile = get_profile(user_of(request), settings=self.ctx.settings)
            if profile is None:
                return notice("info", "No saved profile yet: fill in the <b>My profile</b> tab and save it, then audit it here.", "audit-error")
            return render_audit(run_audit(profile, self.ctx.settings))
        except Exception as exc:  # noqa: BLE001
            return error_notice(exc, "audit-error")

    def audit_api(self, request: gr.Request, profile: dict | None = None) -> dict:
        """Audit an applicant profile (the `advisor audit` profile schema; none: your saved one): red flags, where to address them, strengths, all cited."""
        from assistant.workspace import get_profile

        try:
            if profile is None:
                profile = get_profile(user_of(request), settings=self.ctx.settings)
                if profile is None:
                    raise InputError("no profile given and none saved: pass a profile, or save one first (/save_profile)")
            elif not isinstance(profile, dict):
                raise InputError("profile must be a JSON object")
            return run_audit(profile, self.ctx.settings).to_json()
        except Exception as exc:  # noqa: BLE001
            raise api_error(exc) from None


# --------------------------------------------------------------------------- layout


def build(ctx: Context) -> PageLoad:
    """The Audit tab: which saved profile it reads, the button and the result; returns the summary's refresh."""
    h = AuditHandlers(ctx)
    with gr.Tab("Audit", id="audit", elem_id="tab-audit"):
        gr.Markdown(
            "The audit reads your saved profile (the **My profile** tab). It lists only what the guides call red flags, "
            "where each should be addressed, and the strengths that offset it, citing the passages. Your profile stays on this machine."
        )
        summary = gr.Markdown(profile_summary(None), elem_id="a-profile")
        go = gr.Button("Audit my profile", variant="primary", elem_id="a-go")
        out = gr.HTML("", elem_id="a-out")
        go.click(h.audit_saved, None, out, api_visibility="private", concurrency_id="answer")
        gr.api(h.audit_api, api_name="audit", concurrency_id="answer")
    return PageLoad(h.summary, [summary])
