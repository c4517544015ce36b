"""The My profile tab: the applicant's one saved profile, and their data (export, delete).

What: the profile form that used to sit in the Audit tab (:mod:`assistant.ui.profile_form`:
exams with their attempt months, gaps, academic and professionalism notes, visa, US clinical
experience, research, letters; a pasted profile JSON replaces the form), saved with
:func:`assistant.workspace.set_profile` for the signed-in user (:func:`~assistant.ui.shared.user_of`). Below it, *Export my data*
(the whole workspace as a JSON file to download) and *Delete my data*
(:func:`assistant.workspace.forget`; the button works once a box is ticked, and the line
says what was removed).

Why one form: the Chat, Draft and Audit tabs all read this saved profile (the answers match
its numbers, drafts start from its facts, the audit audits it), so there is one place to
edit it, and a page reload or a server restart shows it again (the form is filled from the
saved profile on load; details it has no field for go to its JSON box).

The export file is written owner-only (0600) into a folder with a random name under the
upload temp folder (``$ADVISOR_HOME/tmp/uploads``), the only place Gradio serves files
from; the user's previous export is deleted when they export again or delete their data,
and the whole folder is emptied when the server starts and stops.

API endpoints: ``/profile`` (the saved profile or None), ``/save_profile`` (a profile dict ->
the saved profile), ``/export`` (the workspace as JSON), ``/forget`` (what was deleted).
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import threading
from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr

from assistant.errors import AdvisorError, InputError
from assistant.ui.html import error_notice, esc, notice
from assistant.ui.profile_form import FORM_DEFAULTS, FORM_KEYS, exam_values, form_for, profile_form, profile_from_form
from assistant.ui.shared import AUDIENCE_LABELS, SPECIALTY_LABELS, Context, PageLoad, api_error, user_of

def profile_summary(profile: Any) -> str:
    """One line about a saved profile, as the other tabs show it ("non-US citizen IMG · Medical genetics · graduated 2019 · Step 2 CK 232")."""
    if profile is None:
        return "No saved profile yet: fill in the **My profile** tab to have the answers, drafts and audit use it."
    from assistant.ui.html import md_text

    bits = [AUDIENCE_LABELS.get(profile.audience, profile.audience), SPECIALTY_LABELS.get(profile.specialty, profile.specialty),
            f"graduated {profile.graduation_year}"]
    for exam, name in (("step1", "Step 1"), ("step2ck", "Step 2 CK")):
        attempts = [a for a in profile.exams if a.exam == exam]
        if attempts:
            fails, passed, score, _ = exam_values(attempts)
            bits.append(f"{name} " + (str(score) if score is not None else ("passed" if passed else "not passed"))
                        + (f" ({fails} failed attempt{'s' if fails != 1 else ''})" if fails else ""))
    if profile.gaps:
        bits.append(f"{len(profile.gaps)} gap{'s' if len(profile.gaps) != 1 else ''}")
    if profile.visa and profile.visa.needs_sponsorship:
        bits.append("needs a visa")
    return "Your saved profile: **" + md_text(" · ".join(bits)) + "** (edit it in the My profile tab)."


def saved_profile(ctx: Context, user: str) -> Any:
    """The user's saved profile, or None (also when it no longer passes the checks: the caller shows why through load)."""
    from assistant.workspace import get_profile

    try:
        return get_profile(user, settings=ctx.settings)
    except AdvisorError:
        return None


# --------------------------------------------------------------------------- export and delete


class ExportFiles:
    """The export file each user downloaded last: deleted when they export again or delete their data."""

    def __init__(self, root: Path) -> None:
        self.root = root / "exports"
        self.lock = threading.Lock()
        self.by_user: dict[str, Path] = {}

    def new(self, user: str) -> Path:
        """A fresh, private folder for this user's next export (the previous one is deleted)."""
        self.discard(user)
        folder = self.root / secrets.token_hex(16)
        folder.mkdir(parents=True, mode=0o700)
        with self.lock:
            self.by_user[user] = folder
        return folder / "img-advisor-workspace.json"

    def discard(self, user: str) -> None:
        with self.lock:
            folder = self.by_user.pop(user, None)
        if folder is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(folder)


def removed_line(removed: dict) -> str:
    """What :func:`assistant.workspace.forget` deleted, in words."""
    if not any(removed.get(k) for k in ("profile", "conversations", "drafts")):
        return "Nothing was saved for you, so nothing was deleted."
    parts = ["your profile"] if removed.get("profile") else []
    parts.append(f"{removed.get('conversations', 0)} conversation(s) with {removed.get('turns', 0)} answer(s)")
    parts.append(f"{removed.get('drafts', 0)} draft(s)")
    where = ("the workspace file itself was deleted (no one else had data in it)" if removed.get("files")
             else "the workspace file was compacted so none of the deleted text stays on disk")
    return f"Deleted {', '.join(parts)}; {where}."


# --------------------------------------------------------------------------- handlers


class ProfileHandlers:
    """The My profile tab's events and its API endpoints, bound to the app's :class:`~assistant.ui.shared.Context`."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.exports = ExportFiles(ctx.uploads_root)

    def load(self, request: gr.Request):
        """The form's values for the signed-in user's saved profile (the defaults when there is none) and a status line."""
        from assistant.workspace import get_profile

        try:
            profile = get_profile(user_of(request), settings=self.ctx.settings)
        except AdvisorError as exc:
            return *[FORM_DEFAULTS[k] for k in FORM_KEYS], error_notice(exc, "profile-status")
        if profile is None:
            status = notice("info", "No profile saved yet. Fill in what applies and press <b>Save my profile</b>; the Chat, Draft and Audit tabs will use it.", "profile-status")
            return *[FORM_DEFAULTS[k] for k in FORM_KEYS], status
        values, complete = form_for(profile)
        status = notice("ok", f"Your saved profile ({esc(AUDIENCE_LABELS.get(profile.audience))}, {esc(SPECIALTY_LABELS.get(profile.specialty))}, graduated {profile.graduation_year}).", "profile-status")
        if not complete:
            status += notice("info", "Your profile holds details this form has no field for, so it is shown in the JSON box below; saving uses the JSON while it is filled.", "profile-json-note")
        return *[values[k] for k in FORM_KEYS], status

    def save(self, request: gr.Request, *values):
        """Check and save the form as the user's one profile; the status line says so (or gives the one-line problem)."""
        from assistant.workspace import set_profile

        try:
            profile = set_profile(user_of(request), profile_from_form(dict(zip(FORM_KEYS, values))), settings=self.ctx.settings)
        except Exception as exc:  # noqa: BLE001
            return error_notice(exc, "profile-status")
        return notice("ok", f"Saved your profile ({esc(AUDIENCE_LABELS.get(profile.audience))}, {esc(SPECIALTY_LABELS.get(profile.specialty))}, "
                      f"graduated {profile.graduation_year}). The Chat, Draft and Audit tabs now use it.", "profile-status")

    def clear(self, request: gr.Request):
        from assistant.workspace import clear_profile

        try:
            cleared = clear_profile(user_of(request), settings=self.ctx.settings)
        except Exception as exc:  # noqa: BLE001
            return *[FORM_DEFAULTS[k] for k in FORM_KEYS], error_notice(exc, "profile-status")
        line = "Deleted your saved profile (conversations and drafts stay)." if cleared else "No profile was saved; nothing to delete."
        return *[FORM_DEFAULTS[k] for k in FORM_KEYS], notice("ok", line, "profile-status")

    def on_export(self, request: gr.Request):
        """Write the user's workspace to a private JSON file and offer it for download."""
        from assistant.workspace import export_file

        user = user_of(request)
        try:
            path = self.exports.new(user)
            c = export_file(user, path, settings=self.ctx.settings)
        except Exception as exc:  # noqa: BLE001
            return gr.update(value=None, visible=False), error_notice(exc, "data-status")
        line = (f"Your data is ready: {'your profile, ' if c['profile'] else ''}{c['conversations']} conversation(s) with {c['turns']} answer(s) "
                f"and {c['drafts']} draft(s). Download the file below; it is deleted from the server when you export again or delete your data.")
        return gr.update(value=str(path), visible=True), notice("ok", esc(line), "data-status")

    def on_forget(self, request: gr.Request, confirmed: bool):
        """Delete everything saved for the user (after the tick box), and the export file they made."""
        from assistant.workspace import forget

        if not confirmed:
            return notice("info", "Tick the box first: this deletes your saved profile, conversations and drafts from this machine.", "data-status"), gr.skip(), gr.skip()
        user = user_of(request)
        try:
            removed = forget(user, settings=self.ctx.settings)
        except Exception as exc:  # noqa: BLE001
            return error_notice(exc, "data-status"), gr.skip(), gr.skip()
        self.exports.discard(user)
        return notice("ok", esc(removed_line(removed)), "data-status"), False, gr.update(value=None, visible=False)

    # -- API

    def profile_api(self, request: gr.Request) -> dict | None:
        """The signed-in user's saved applicant profile (the `advisor audit` profile schema), or None."""
        from assistant.workspace import get_profile

        try:
            profile = get_profile(user_of(request), settings=self.ctx.settings)
        except Exception as exc:  # noqa: BLE001
            raise api_error(exc) from None
        return profile.model_dump(mode="json", exclude_none=True) if profile else None

    def save_profile_api(self, profile: dict, request: gr.Request) -> dict:
        """Save an applicant profile (checked as `advisor audit` checks it) as the signed-in user's one profile; returns it."""
        from assistant.workspace import set_profile

        try:
            if not isinstance(profile, dict):
                raise InputError("profile must be a JSON object")
            return set_profile(user_of(request), profile, settings=self.ctx.settings).model_dump(mode="json", exclude_none=True)
        except Exception as exc:  # noqa: BLE001
            raise api_error(exc) from None

    def export_api(self, request: gr.Request) -> dict:
        """The signed-in user's whole workspace (profile, conversations with their answers, drafts) as one JSON document."""
        from assistant.workspace import export

        try:
            return export(user_of(request), settings=self.ctx.settings)
        except Exception as exc:  # noqa: BLE001
            raise api_error(exc) from None

    def forget_api(self, request: gr.Request) -> dict:
        """Delete everything saved for the signed-in user; how many of each kind were deleted."""
        from assistant.workspace import forget

        user = user_of(request)
        try:
            removed = forget(user, settings=self.ctx.settings)
        except Exception as exc:  # noqa: BLE001
            raise api_error(exc) from None
        self.exports.discard(user)
        return removed


# --------------------------------------------------------------------------- layout


class ProfileTab(NamedTuple):
    """What :func:`assistant.ui.app.build_app` wires to the other tabs."""

    load: PageLoad  # the form for the saved profile, on page load and after the profile changes elsewhere
    changed: list  # events after which the saved profile (or all the user's data) changed
    forgotten: Any  # the Delete my data event (the other tabs then reset too)


def build(ctx: Context) -> ProfileTab:
    """The My profile tab: the profile form with Save and Delete, then Export my data and Delete my data."""
    h = ProfileHandlers(ctx)
    with gr.Tab("My profile", id="profile", elem_id="tab-profile"):
        gr.Markdown(
            "Your application, saved on this machine for you alone. The **Chat** tab matches answers to it (your Step 2 CK score, "
            "graduation year, gaps, visa), the **Draft** tab starts from its facts, and the **Audit** tab audits it."
        )
        form = profile_form()
        with gr.Row():
            save = gr.Button("Save my profile", variant="primary", elem_id="p-save")
            clear = gr.Button("Delete my profile", elem_id="p-clear", size="sm")
        status = gr.HTML("", elem_id="p-status")
        with gr.Accordion("My data: export or delete", open=False, elem_id="p-data"):
            gr.Markdown("Your profile, conversations and drafts are kept in `ADVISOR_HOME/workspace.sqlite3` (readable by your account only), apart from every other user's.")
            with gr.Row():
                export = gr.Button("Export my data", elem_id="p-export")
                confirm = gr.Checkbox(False, label="Yes, delete my profile, conversations and drafts", elem_id="p-forget-ok")
                forget = gr.Button("Delete my data", variant="stop", elem_id="p-forget", interactive=False)
            download = gr.File(None, label="Your data (JSON)", visible=False, interactive=False, elem_id="p-download")
            data_status = gr.HTML("", elem_id="p-data-status")
        saved = save.click(h.save, form, status, api_visibility="private")
        cleared = clear.click(h.clear, None, [*form, status], api_visibility="private")
        export.click(h.on_export, None, [download, data_status], api_visibility="private")
        # the button works only while the box is ticked, so the page never empties the other tabs for nothing
        confirm.change(lambda ok: gr.update(interactive=bool(ok)), confirm, forget, api_visibility="private", queue=False)
        forgotten = forget.click(h.on_forget, [confirm], [data_status, confirm, download], api_visibility="private")
        gr.api(h.profile_api, api_name="profile")
        gr.api(h.save_profile_api, api_name="save_profile")
        gr.api(h.export_api, api_name="export")
        gr.api(h.forget_api, api_name="forget")
    return ProfileTab(PageLoad(h.load, [*form, status]), [saved, cleared, forgotten], forgotten)
