"""The workspace as the UI and the CLI use it: the saved profile in answers and drafts, and per-user privacy over HTTP.

What is shown:

- :func:`assistant.writing.facts_from_profile` writes the profile's exams (attempts, months,
  score), gap (dates, reason) and graduation year as first-person facts, and a draft from
  them passes the fact guard; the guard still refuses a score the facts do not hold;
- the My profile form gives back a saved profile exactly, and a profile it cannot hold goes
  to its JSON box instead (nothing is lost by saving);
- ``advisor ask`` uses the saved profile (the first line names the profile's Step 2 CK band)
  unless ``--no-profile``; ``--user`` picks whose; ``advisor draft`` fills the facts it lacks
  from the profile and says which on stderr;
- with two users signed in to one ``advisor serve`` (the real command, several logins), neither
  can list, read, rename or delete the other's profile, conversations or drafts, through the
  named API routes (``gradio_client``) or the page's own routes (raw HTTP with the login
  cookie: ``/gradio_api/run/predict`` and ``/gradio_api/queue/join``), and the export holds
  only the caller's data.

Every home here is a copy of the session index (tests/conftest.py) or empty, never the
session home itself: a profile saved there would change other test files' drafts.
"""

from __future__ import annotations

import http.cookiejar
import json
import shutil
import urllib.parse
import urllib.request
import uuid

import pytest

try:
    from tests.ui_server import serve, server_log
except ImportError:  # pytest's rootdir-relative import of tests/
    from ui_server import serve, server_log

from assistant.cli import main
from assistant.errors import InputError

PROFILE = {"audience": "non-us-img", "specialty": "medical-genetics", "graduation_year": 2019,
           "exams": [{"exam": "step1", "result": "pass"}, {"exam": "step2ck", "result": "pass", "score": 232}]}
FAILED = {"audience": "non-us-img", "specialty": "radiology", "graduation_year": 2017, "as_of": "2024-09",
          "exams": [{"exam": "step1", "result": "fail", "date": "2018-06"}, {"exam": "step1", "result": "pass", "date": "2019-01"},
                    {"exam": "step2ck", "result": "pass", "score": 241, "date": "2020-03"}],
          "gaps": [{"start": "2021-08", "end": "2022-06", "reason": "Caring for my father after his stroke"}]}
BAND_LINE = "Your 232 is in the guide's 220–235 band: "
ALICE, BOB = ("alice", "alice-pw-1"), ("bob", "bob-pw-2")


@pytest.fixture
def index_copy(built_home, tmp_path, monkeypatch):
    """A private copy of the session index as ADVISOR_HOME (its own, empty workspace)."""
    home = tmp_path / "home"
    shutil.copytree(built_home.home, home, ignore=shutil.ignore_patterns("workspace.sqlite3*", "reports", "tmp"))
    monkeypatch.setenv("ADVISOR_HOME", str(home))
    monkeypatch.delenv("ADVISOR_LLM", raising=False)
    monkeypatch.delenv("ADVISOR_CHROMA_URL", raising=False)
    return home


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- the profile as draft facts (no index)


def test_facts_from_profile_writes_the_exams_gap_and_year():
    from assistant.writing import facts_from_profile, suggested_kind

    assert suggested_kind(FAILED) == "exam-failure"
    exam = facts_from_profile(FAILED)
    assert exam["kind"] == "exam-failure" and exam["specialty"] == "radiology" and exam["audience"] == "non-us-img"
    assert exam["what"] == "I failed USMLE Step 1 on my first attempt (June 2018), and passed it on my second attempt (January 2019)."
    assert exam["evidence"] == "I passed USMLE Step 2 CK with a score of 241 (March 2020)."
    assert "context" not in exam and "insight" not in exam and "changes" not in exam  # the applicant's to write
    gap = facts_from_profile(FAILED, "gap")
    assert gap["what"] == "I was not in clinical training or work from August 2021 to June 2022."
    assert gap["context"] == "The reason: caring for my father after his stroke."
    older = facts_from_profile(PROFILE, "older-graduation")
    assert older["what"] == "I graduated from medical school in 2019."
    assert older["evidence"] == "I passed USMLE Step 1 and USMLE Step 2 CK with a score of 232."
    with pytest.raises(InputError):
        facts_from_profile(PROFILE, "no-such-kind")


def test_profile_facts_are_the_facts_the_guard_checks():
    from assistant.writing import draft, facts_from_profile, parse_facts, with_profile_facts
    from assistant.writing.compose import compose
    from assistant.writing.factguard import check

    facts = facts_from_profile(FAILED)
    res = draft(facts, with_advice=False)
    assert "January 2019" in res.text and "241" in res.text  # the profile's facts, verbatim
    parsed = parse_facts(facts)
    allowed = compose(parsed).vocabulary
    assert check(res.text, parsed.texts(), allowed).ok
    assert not check(res.text.replace("241", "251"), parsed.texts(), allowed).ok  # a score the profile does not hold is refused
    mine = with_profile_facts({"kind": "exam-failure", "what": "I failed Step 1 once.", "specialty": "medical-genetics"}, FAILED)
    assert mine["what"] == "I failed Step 1 once." and mine["specialty"] == "medical-genetics"  # the applicant's own fields win
    assert mine["evidence"] == facts["evidence"]  # the missing field comes from the profile
    assert with_profile_facts({"kind": "gap"}, None) == {"kind": "gap"}


def test_profile_form_gives_the_saved_profile_back():
    from assistant.ui.profile_form import FORM_DEFAULTS, form_for, profile_from_form
    from assistant.writing import parse_profile

    for data in (PROFILE, FAILED):
        saved = parse_profile(data)
        values, complete = form_for(saved)
        assert complete and values["profile_json"] == ""
        assert parse_profile(profile_from_form(values)) == saved
    values, _ = form_for(parse_profile(FAILED))
    assert values["s1_fails"] == 1 and values["s1_dates"] == "2018-06, 2019-01" and values["s2_score"] == 241
    # details the form has no field for: the whole profile goes to the JSON box, which saving uses
    rich = parse_profile({**FAILED, "exams": [*FAILED["exams"], {"exam": "step3", "result": "pass"}]})
    values, complete = form_for(rich)
    assert not complete and json.loads(values["profile_json"])["exams"][-1]["exam"] == "step3"
    assert parse_profile(profile_from_form(values)) == rich
    with pytest.raises(InputError, match="Step 1 dates"):
        profile_from_form({**FORM_DEFAULTS, "graduation_year": 2019, "s1_dates": "2018-06, 2019-01"})  # two months, one attempt


# --------------------------------------------------------------------------- the CLI reads the saved profile


def test_cli_ask_uses_the_saved_profile_unless_told_not_to(index_copy, capsys, tmp_path):
    (tmp_path / "p.json").write_text(json.dumps(PROFILE), encoding="utf-8")
    assert run(capsys, "profile", "set", str(tmp_path / "p.json"))[0] == 0
    code, out, err = run(capsys, "ask", "what are my chances?")
    assert code == 0, err
    assert out.startswith(BAND_LINE), out[:300]
    assert "Using your profile: non-US IMG, Step 2 CK 232, graduated 2019." in out
    code, out, err = run(capsys, "ask", "what are my chances?", "--no-profile", "--json")
    assert code == 0, err
    assert not json.loads(out)["answer"].startswith("Your 232") and "Using your profile" not in out
    code, out, err = run(capsys, "ask", "what are my chances?", "--user", "someone-else")
    assert code == 0 and "Using your profile" not in out  # another user's (empty) workspace
    code, out, err = run(capsys, "ask", "what are my chances?", "--user", "")
    assert code == 2 and err.startswith("error:") and "--no-profile" in err and len(err.strip().splitlines()) == 1


def test_cli_draft_starts_from_the_saved_profile(index_copy, capsys, tmp_path):
    (tmp_path / "p.json").write_text(json.dumps(FAILED), encoding="utf-8")
    assert run(capsys, "profile", "set", str(tmp_path / "p.json"))[0] == 0
    code, out, err = run(capsys, "draft", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["kind"] == "exam-failure" and data["specialty"] == "radiology"
    assert data["text"].startswith("I failed USMLE Step 1 on my first attempt (June 2018), and passed it on my second attempt (January 2019).")
    assert "241" in data["text"] and "evidence" not in data["missing_fields"]
    assert "from your saved profile: what, evidence" in err
    code, out, err = run(capsys, "draft", "--kind", "gap", "--changes", "I studied for Step 2 CK.", "--json")
    data = json.loads(out)
    assert code == 0 and "August 2021 to June 2022" in data["text"] and "I studied for Step 2 CK." in data["text"]
    code, out, err = run(capsys, "draft", "--kind", "gap", "--no-profile")
    assert code == 2 and "missing required field" in err  # nothing from the profile: the facts are the flags alone


# --------------------------------------------------------------------------- two users over HTTP


class Browserless:
    """One signed-in user over raw HTTP: the login cookie, and the page's own routes (``run/predict``, ``queue/join``)."""

    def __init__(self, url: str, user: str, password: str) -> None:
        self.url = url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        form = urllib.parse.urlencode({"username": user, "password": password}).encode()
        self.opener.open(urllib.request.Request(url + "/login", data=form, method="POST"), timeout=20)
        self.config = json.load(self.opener.open(url + "/config", timeout=20))

    def fn(self, name: str) -> int:
        return next(d["id"] for d in self.config["dependencies"] if d.get("api_name") == name)

    def predict(self, name: str, data: list) -> dict:
        """A page event that runs without the queue (the Saved tab's lists)."""
        body = json.dumps({"data": data, "fn_index": self.fn(name), "session_hash": uuid.uuid4().hex[:12]}).encode()
        req = urllib.request.Request(self.url + "/gradio_api/run/predict", data=body, headers={"Content-Type": "application/json"})
        return json.load(self.opener.open(req, timeout=30))

    def queued(self, name: str, data: list) -> dict:
        """A queued page event (joined, then read from the event stream until it completes)."""
        session = uuid.uuid4().hex[:12]
        body = json.dumps({"data": data, "fn_index": self.fn(name), "session_hash": session, "event_data": None, "trigger_id": None}).encode()
        self.opener.open(urllib.request.Request(self.url + "/gradio_api/queue/join", data=body, headers={"Content-Type": "application/json"}), timeout=30)
        with self.opener.open(self.url + f"/gradio_api/queue/data?session_hash={session}", timeout=120) as stream:
            for line in stream:
                if line.startswith(b"data:"):
                    msg = json.loads(line[5:])
                    if msg.get("msg") == "process_completed":
                        return msg
        raise AssertionError(f"no result for {name}")

    def get(self, url: str) -> bytes:
        return self.opener.open(url, timeout=30).read()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_signed_in_users_never_see_each_others_data(built_home, tmp_path):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    home = tmp_path / "home"
    shutil.copytree(built_home.home, home, ignore=shutil.ignore_patterns("workspace.sqlite3*", "reports", "tmp"))
    with serve(home, users=[ALICE, BOB], log_dir=tmp_path) as url:
        a = Client(url, auth=ALICE, verbose=False, analytics_enabled=False, download_files=False)
        b = Client(url, auth=BOB, verbose=False, analytics_enabled=False, download_files=False)
        # alice: a profile, a saved conversation (the answer uses her profile) and a saved draft
        assert a.predict(PROFILE, api_name="/save_profile")["graduation_year"] == 2019
        ans = a.predict("what are my chances?", conversation_id="new", api_name="/ask")
        assert ans["answer"].startswith(BAND_LINE), (ans["answer"][:300], server_log(tmp_path))
        cid = ans["conversation_id"]
        dft = a.predict({"kind": "low-score"}, save=True, api_name="/draft")
        did = dft["draft_id"]
        assert "232" in dft["text"]  # the draft started from her profile
        assert [c["id"] for c in a.predict(api_name="/conversations")] == [cid]
        assert [d["id"] for d in a.predict(api_name="/drafts")] == [did]

        # bob, through the named API routes: nothing of alice's to list, read, rename or delete
        assert b.predict(api_name="/profile") is None
        assert b.predict(api_name="/conversations") == [] and b.predict(api_name="/drafts") == []
        for args, route in (((cid,), "/conversation"), ((did,), "/saved_draft"), ((cid, "mine"), "/rename_conversation"),
                            ((did, "mine"), "/rename_draft"), ((cid,), "/delete_conversation"), ((did,), "/delete_draft")):
            with pytest.raises(AppError, match="no (conversation|draft)"):
                b.predict(*args, api_name=route)
        with pytest.raises(AppError, match="no conversation"):
            b.predict("and radiology?", conversation_id=cid, api_name="/ask")  # cannot append to it either
        plain = b.predict("what are my chances?", api_name="/ask")
        assert not plain["answer"].startswith("Your 232"), "bob's answer used alice's profile"
        bob_export = b.predict(api_name="/export")
        assert bob_export["user"] == "bob" and bob_export["profile"] is None and bob_export["conversations"] == [] and bob_export["drafts"] == []
        assert b.predict(api_name="/forget") == {"profile": 0, "conversations": 0, "turns": 0, "drafts": 0, "files": 0}

        # bob, through the page's own routes with his login cookie
        raw_b, raw_a = Browserless(url, *BOB), Browserless(url, *ALICE)
        lists = raw_b.predict("refresh", [])["data"]
        assert "No saved conversations yet" in lists[0] and lists[1]["choices"] == [] and lists[3]["choices"] == []
        assert cid in json.dumps(raw_a.predict("refresh", [])["data"])  # the same route shows alice her own
        profile_form = raw_b.predict("load", [])["data"]
        assert "No profile saved yet" in profile_form[-1] and 2019 not in profile_form
        done = raw_b.queued("on_export", [])
        assert done["success"], done
        exported = json.loads(raw_b.get(done["output"]["data"][0]["value"]["url"]))
        assert exported["user"] == "bob" and exported["conversations"] == [] and exported["profile"] is None
        refused = raw_b.queued("open_conversation", [cid])  # alice's id is not even a choice of bob's page
        assert not refused["success"] or "not in your saved conversations" in json.dumps(refused)

        # alice still has everything
        kept = a.predict(cid, api_name="/conversation")
        assert [t["question"] for t in kept["turns"]] == ["what are my chances?"] and kept["title"] == "what are my chances?"
        assert kept["turns"][0]["citations"] and a.predict(did, api_name="/saved_draft")["kind"] == "low-score"
        assert a.predict(api_name="/profile")["exams"][1]["score"] == 232
        mine = a.predict(api_name="/export")
        assert len(mine["conversations"]) == 1 and len(mine["drafts"]) == 1
        # and her own rename and delete work
        a.predict(cid, "My chances", api_name="/rename_conversation")
        assert a.predict(api_name="/conversations")[0]["title"] == "My chances"
        a.predict(did, api_name="/delete_draft")
        assert a.predict(api_name="/drafts") == []


# --------------------------------------------------------------------------- the tabs' handlers on a built app (no server)


def test_tabs_share_the_one_saved_profile_and_keep_what_the_user_typed(index_copy):
    """The Chat dropdowns edit the saved profile; the Draft pre-fill never overwrites typed text; Save my edits replaces the saved text."""
    from types import SimpleNamespace

    from assistant import workspace
    from assistant.config import get_settings
    from assistant.ui.app import build_app
    from assistant.ui.draft import new_state

    settings = get_settings(home=index_copy)
    app = build_app(settings=settings, llm="extractive")
    handler = {getattr(bf.fn, "__name__", ""): bf.fn.__self__ for bf in app.fns.values() if hasattr(bf.fn, "__self__")}
    chat, drafts = handler["on_profile_input"], handler["draft_form"]
    carol, dave = SimpleNamespace(username="carol"), SimpleNamespace(username="dave")
    workspace.set_profile("carol", FAILED, settings=settings)
    # Chat: the dropdowns show the saved profile; picking a specialty changes it (for carol only)
    audience, specialty, line = chat.load(carol)
    assert audience["value"] == "non-us-img" and specialty["value"] == "radiology" and "Your saved profile" in line
    assert ("Not set", "not set") not in audience["choices"]
    chat.on_profile_input("non-us-img", "medical-genetics", carol)
    assert workspace.get_profile("carol", settings=settings).specialty == "medical-genetics"
    assert chat.on_profile_input("us-img", "radiology", dave).startswith("Profile for this conversation")  # no profile: not saved
    assert workspace.get_profile("dave", settings=settings) is None
    # Draft: pre-filled from the profile's first red flag; a field the user typed survives a change of kind
    state = new_state()
    out = drafts.prefill(carol, "exam-failure", "radiology", "not set", "", "", "", "", "", "", state)
    kind, spec, aud, what, context, insight, changes, evidence, goals, line, state = out
    assert kind == "exam-failure" and spec == "medical-genetics" and what.startswith("I failed USMLE Step 1 on my first attempt (June 2018)")
    out = drafts.on_kind(carol, "gap", spec, aud, "My own words about the gap.", context, "I learned to ask for help.", changes, evidence, goals, state)
    assert out[3] is not None and not isinstance(out[3], str)  # "what" (typed by the user) is skipped, not overwritten
    assert out[4] == "The reason: caring for my father after his stroke." and out[-1]["prefilled"]["context"] == out[4]
    # Draft, then Save my edits: one saved draft, with the edited text
    text, todo, advice, state = drafts.draft_form("gap", "default", spec, aud, "My own words about the gap.", out[4], "", "", "", "", out[-1], carol)
    assert 'id="draft-saved"' in todo and state["draft_id"]
    status, state2 = drafts.save_edits(text + " Edited.", state, carol)
    assert "Saved your edits" in status
    (only,) = workspace.list_drafts("carol", settings=settings)
    assert only.id == state2["draft_id"] != state["draft_id"]
    assert workspace.get_draft("carol", only.id, settings=settings).text.endswith(" Edited.")
    assert "there is no saved draft" in drafts.save_edits("x", state2, dave)[0]  # dave cannot edit carol's draft
    assert workspace.list_drafts("dave", settings=settings) == []


def test_saved_tab_renames_and_deletes_only_the_users_own(index_copy):
    """The Saved tab's Rename and Delete buttons: they change the signed-in user's item and refresh the lists;
    another user's id, or nothing picked, is a notice and changes nothing."""
    from types import SimpleNamespace

    from assistant import workspace
    from assistant.config import get_settings
    from assistant.ui.app import build_app

    settings = get_settings(home=index_copy)
    app = build_app(settings=settings, llm="extractive")
    handler = {getattr(bf.fn, "__name__", ""): bf.fn.__self__ for bf in app.fns.values() if hasattr(bf.fn, "__self__")}
    saved = handler["on_rename_conversation"]
    erin, fay = SimpleNamespace(username="erin"), SimpleNamespace(username="fay")
    conv = workspace.create_conversation("erin", "how do i explain a gap?", settings=settings)
    draft = workspace.save_draft("erin", "gap", {"what": "a gap"}, "My gap paragraph.", settings=settings)
    out = saved.on_rename_conversation(conv.id, "  My   gap  ", erin)
    assert "Renamed the conversation to “My gap”" in out[0]
    assert workspace.get_conversation("erin", conv.id, settings=settings).title == "My gap"
    out = saved.on_rename_conversation(conv.id, "stolen", fay)
    assert "Renamed" not in out[0] and workspace.get_conversation("erin", conv.id, settings=settings).title == "My gap"
    assert "pick a conversation first" in saved.on_delete_conversation("", erin)[0]
    assert "Deleted the draft" not in saved.on_delete_draft(draft.id, fay)[0]
    assert workspace.get_draft("erin", draft.id, settings=settings) is not None
    out = saved.on_rename_draft(draft.id, "Gap v2", erin)
    assert "Renamed the draft to “Gap v2”" in out[0]
    assert "Deleted the draft" in saved.on_delete_draft(draft.id, erin)[0]
    assert "Deleted the conversation" in saved.on_delete_conversation(conv.id, erin)[0]
    assert workspace.list_drafts("erin", settings=settings) == [] and workspace.list_conversations("erin", settings=settings) == []
