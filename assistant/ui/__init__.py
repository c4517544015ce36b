"""The local web UI (Gradio Blocks), served by ``advisor serve``.

Seven tabs over the same Python API the CLI uses, one module each:

- **Chat** (:mod:`assistant.ui.chat`): streaming answers with every ``[n]`` marker
  linked to its cited passage, matched to the saved profile; follow-ups; every
  answer saved as it arrives.
- **Draft** (:mod:`assistant.ui.draft`): the facts form of ``advisor draft``, pre-filled
  from the saved profile; the draft, the placeholders still to fill, the guide advice
  applied with sources; every draft saved.
- **Audit** (:mod:`assistant.ui.audit`): the saved profile in, the audit with
  citations out.
- **My profile** (:mod:`assistant.ui.profile`): the one saved applicant profile the
  three tabs above read; export or delete all of one's data.
- **Saved** (:mod:`assistant.ui.history`): the saved conversations and drafts, to
  reopen, rename or delete.
- **Library** (:mod:`assistant.ui.library`): the indexed guides; upload and remove.
- **Evals** (:mod:`assistant.ui.evals`): the latest eval report and a button that
  runs the suite.

Whose data: every handler that touches the workspace (:mod:`assistant.workspace`)
takes the user from the request (:func:`~assistant.ui.shared.user_of`: the name
signed in to ``advisor serve --auth``, else ``local``), never from the page or an
API argument, so one signed-in user cannot read or change another's.

Around them: :mod:`assistant.ui.app` builds the Blocks (header and tabs) and wires
the tabs that show the saved profile to each other, :mod:`assistant.ui.profile_form`
holds the profile form (its values to a profile and back),
:mod:`assistant.ui.html` holds the escaping and HTML helpers, the stylesheet and
the click script, :mod:`assistant.ui.shared` what the tabs share (the context
dataclass, the profile vocabulary, error lines), and :mod:`assistant.ui.server`
serves the app (``launch``, Host and Origin checks, upload temp folder, warm-up).

Safety rules kept everywhere in this package:

- every piece of guide text and user text that goes into HTML or Markdown passes
  through :func:`~assistant.ui.html.esc` / :func:`~assistant.ui.html.md_text`
  (HTML-escaped; Markdown punctuation escaped), so a guide containing
  ``<script>`` shows as text;
- handlers catch every exception: an :class:`~assistant.errors.AdvisorError`
  shows its one-line message, anything else a one-line "something went wrong"
  (the traceback goes to the server log only);
- the page loads nothing from outside the machine (local fonts, no analytics,
  no share link); it says which answer backend is in use and whether text leaves
  the machine;
- the server refuses a state-changing request sent by another site's page
  (:class:`~assistant.ui.server.SameOriginWrites`, 403) and, on a loopback bind,
  any foreign Host header (:func:`~assistant.ui.server.host_check`).

API endpoints (for ``gradio_client``): ``/ask`` (answer JSON), ``/draft`` (facts
dict -> draft JSON), ``/audit`` (profile dict -> audit JSON), ``/library``,
``/passages``, ``/eval_report``; the signed-in user's workspace: ``/profile``,
``/save_profile``, ``/conversations``, ``/conversation``, ``/rename_conversation``,
``/delete_conversation``, ``/drafts``, ``/saved_draft``, ``/rename_draft``,
``/delete_draft``, ``/export``, ``/forget``.

``advisor serve`` looks :func:`launch` and :func:`warm_up` up on this package
when it runs (tests replace them here).
"""

from assistant.ui.app import build_app
from assistant.ui.server import clear_upload_temp_dir, launch, warm_up

__all__ = ["build_app", "clear_upload_temp_dir", "launch", "warm_up"]
