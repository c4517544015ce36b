"""The applicant's workspace (assistant.workspace) and its CLI, against a real SQLite file in a temp ADVISOR_HOME.

What is shown: every value comes back as saved (profile, conversations with turns and
citations, drafts, the export); the file and its WAL/shm files are 0600 even under a
permissive umask; two users never see, rename or delete each other's rows; 10 writer
processes and 10 writer threads appending to one conversation lose no turn; ``kill -9``
inside a big transaction, or at random moments of a save loop, leaves the last committed
state readable; ``forget`` leaves no workspace file (or, with another user's data present, no
trace of the forgotten text in the file's bytes); the CLI's ``--json`` output parses and its
bad inputs are one ``error:`` line with exit code 2. No index is needed, so no test here
builds one.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assistant import workspace as ws
from assistant.cli import main
from assistant.errors import InputError, StorageError
from assistant.schemas import Citation
from tests.conftest import ROOT, one_error_line, run_cli

PROFILE_FILE = ROOT / "evals/profiles/us-genetics-clean.json"
VISA_PROFILE_FILE = ROOT / "evals/profiles/non-us-radiology-multiple-failures-visa.json"
WRITERS, TURNS_EACH = 10, 20


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty ADVISOR_HOME for this test (the workspace functions read it from the environment)."""
    h = tmp_path / "home"
    monkeypatch.setenv("ADVISOR_HOME", str(h))
    return h


def profile_data(path: Path = PROFILE_FILE) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))["profile"]


def workspace_names(home: Path) -> list[str]:
    """Every file under ADVISOR_HOME that belongs to the workspace (the database and its side files)."""
    return sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.name.startswith("workspace.sqlite3"))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# -- round trips ----------------------------------------------------------------------------------

def test_profile_round_trip_edit_and_clear(home):
    assert ws.get_profile("local") is None and not home.exists()  # reading creates nothing
    saved = ws.set_profile("local", profile_data())
    assert ws.get_profile("local") == saved and saved.specialty == "medical-genetics"

    edited = ws.edit_profile("local", {"graduation_year": 2021, "exams.1.score": 251, "exams.2": {"exam": "step3", "result": "pass"},
                                       "letters.0.us_based": False, "as_of": None})
    assert ws.get_profile("local") == edited
    assert (edited.graduation_year, edited.exams[1].score, edited.exams[2].exam, edited.letters[0].us_based, edited.as_of) == (2021, 251, "step3", False, None)
    assert edited.research == saved.research  # untouched fields stay

    with pytest.raises(InputError) as bad:  # an impossible result is refused in one line and nothing is saved
        ws.edit_profile("local", {"gaps.0.end": "2020-01"})
    assert "ends (2020-01) before it starts" in str(bad.value) and "\n" not in str(bad.value)
    for change, words in (({"nickname": "x"}, "unknown field 'nickname'"), ({"graduation_year.x": 1}, "is not an object or a list"),
                          ({"exams.9.score": 1}, "list index from 0 to 3"), ({"graduation_year": "soon"}, "graduation_year")):
        with pytest.raises(InputError, match=words):
            ws.edit_profile("local", change)
    assert ws.get_profile("local") == edited

    assert ws.clear_profile("local") is True and ws.get_profile("local") is None and ws.clear_profile("local") is False
    started = ws.edit_profile("local", {"audience": "non-us-img", "specialty": "radiology", "graduation_year": 2016,
                                        "visa.needs_sponsorship": True, "visa.preferred.0": "J-1"})  # an edit can start a profile
    assert started.visa.needs_sponsorship and started.visa.preferred == ["J-1"]


def test_conversation_round_trip(home):
    question = "I failed Step 1 on my first attempt; can I still match into diagnostic radiology as a non-US IMG?"
    conv = ws.create_conversation("local", question)
    assert conv.title == "I failed Step 1 on my first attempt; can I still match into…" and conv.turns == []
    cite = Citation(n=1, source="radiology-img-guide", title="Radiology", section="Red flags", text="A failed attempt ...")
    ws.append_turn("local", conv.id, question, "Yes, with a strong Step 2 CK [1].", [cite])
    ws.append_turn("local", conv.id, "And research?", "The guides don't cover this.", [])
    ws.append_turn("local", conv.id, "Letters?", "Two US letters [1].", [{"n": 1, "source": "s", "section": "Letters", "text": "t"}])

    got = ws.get_conversation("local", conv.id)
    assert [t.question for t in got.turns] == [question, "And research?", "Letters?"]
    assert got.turns[0].citations == [cite.to_json()] and got.turns[1].citations == [] and got.turns[0].created_at
    assert [(c.id, c.title, c.n_turns) for c in ws.list_conversations("local")] == [(conv.id, conv.title, 3)]

    second = ws.create_conversation("local", "")
    assert second.title == "New conversation"
    ws.rename_conversation("local", conv.id, "  Step 1   failure ")
    assert ws.get_conversation("local", conv.id).title == "Step 1 failure"
    assert {c.id for c in ws.list_conversations("local")} == {conv.id, second.id}

    ws.delete_conversation("local", conv.id)
    assert ws.get_conversation("local", conv.id) is None and [c.id for c in ws.list_conversations("local")] == [second.id]
    with pytest.raises(ws.NotFound):
        ws.delete_conversation("local", conv.id)
    for bad in ({"citations": "not a list"}, {"citations": [1, 2]}, {"citations": [{"x": object()}]}, {"answer": 42}):
        kwargs = {"citations": None, "answer": "a", **bad}
        with pytest.raises(InputError):
            ws.append_turn("local", second.id, "q", kwargs["answer"], kwargs["citations"])
    with pytest.raises(InputError):
        ws.rename_conversation("local", second.id, "   ")
    assert ws.get_conversation("local", second.id).turns == []  # refused turns left nothing behind


def test_draft_round_trip(home):
    facts = {"kind": "exam-failure", "what": "I failed Step 1 in March 2021.", "specialty": "radiology"}
    draft = ws.save_draft("local", "exam-failure", facts, "I failed USMLE Step 1 on my first attempt in March 2021. ...")
    flagged = ws.save_draft("local", "low-score:step2ck", {}, "My Step 2 CK score ...", title="Step 2 CK")
    assert ws.get_draft("local", draft.id) == draft and draft.facts == facts and draft.title == "exam-failure"
    assert {d.id: d.kind for d in ws.list_drafts("local")} == {draft.id: "exam-failure", flagged.id: "low-score:step2ck"}
    ws.rename_draft("local", draft.id, "Step 1, ERAS")
    assert ws.get_draft("local", draft.id).title == "Step 1, ERAS"
    ws.delete_draft("local", flagged.id)
    assert ws.get_draft("local", flagged.id) is None and [d.id for d in ws.list_drafts("local")] == [draft.id]
    with pytest.raises(ws.NotFound):
        ws.rename_draft("local", flagged.id, "gone")
    with pytest.raises(InputError):
        ws.save_draft("local", "gap", ["not", "a", "dict"], "text")


def test_export_holds_the_whole_workspace(home):
    ws.set_profile("local", profile_data())
    conv = ws.create_conversation("local", "How many programs?")
    ws.append_turn("local", conv.id, "How many programs?", "About 20 [1].", [{"n": 1, "source": "g"}])
    ws.save_draft("local", "gap", {"what": "a gap"}, "From July 2020 ...")
    data = ws.export("local")
    assert json.loads(json.dumps(data)) == data  # plain JSON
    assert data["format"] == "img-advisor-workspace" and data["user"] == "local"
    assert data["profile"]["graduation_year"] == 2023
    assert data["conversations"][0]["turns"][0]["answer"] == "About 20 [1]." and data["drafts"][0]["text"] == "From July 2020 ..."
    assert ws.counts(data) == {"profile": 1, "conversations": 1, "turns": 1, "drafts": 1}
    assert ws.export("nobody")["conversations"] == []


# -- privacy ------------------------------------------------------------------------------------------

def test_files_are_0600_even_under_a_permissive_umask(home, tmp_path):
    old = os.umask(0)
    try:
        conv = ws.create_conversation("local", "q")
        reader = sqlite3.connect(ws.workspace_file())  # an open connection keeps the -wal and -shm files on disk
        try:
            reader.execute("SELECT COUNT(*) FROM turns").fetchone()
            ws.append_turn("local", conv.id, "q", "a")
            files = [home / n for n in workspace_names(home)]
            assert [f.name for f in files] == ["workspace.sqlite3", "workspace.sqlite3-shm", "workspace.sqlite3-wal"]
            assert {f.name: oct(mode(f)) for f in files} == {f.name: "0o600" for f in files}
        finally:
            reader.close()
        out = tmp_path / "export.json"
        ws.export_file("local", out)
        assert oct(mode(out)) == "0o600" and json.loads(out.read_text())["conversations"][0]["turns"][0]["answer"] == "a"
    finally:
        os.umask(old)
    os.chmod(ws.workspace_file(), 0o644)  # widened by hand: narrowed again when next opened
    ws.list_conversations("local")
    assert oct(mode(ws.workspace_file())) == "0o600"


def test_two_users_cannot_see_or_touch_each_others_rows(home):
    ids = {}
    for user, data in (("alice", profile_data()), ("bob", profile_data(VISA_PROFILE_FILE))):
        ws.set_profile(user, data)
        conv = ws.create_conversation(user, f"{user}'s question")
        ws.append_turn(user, conv.id, f"{user}'s question", f"{user}'s answer")
        ids[user] = (conv.id, ws.save_draft(user, "gap", {"what": f"{user}'s gap"}, f"{user}'s draft").id)
    assert ws.get_profile("alice").audience == "us-img" and ws.get_profile("bob").audience == "non-us-img"
    assert ws.get_profile("carol") is None and ws.list_conversations("carol") == [] and ws.list_drafts("carol") == []

    for me, other in (("alice", "bob"), ("bob", "alice")):
        conv_id, draft_id = ids[other]
        assert [c.id for c in ws.list_conversations(me)] == [ids[me][0]]
        assert [d.id for d in ws.list_drafts(me)] == [ids[me][1]]
        assert ws.get_conversation(me, conv_id) is None and ws.get_draft(me, draft_id) is None
        for change in (lambda: ws.append_turn(me, conv_id, "q", "a"), lambda: ws.rename_conversation(me, conv_id, "mine"),
                       lambda: ws.delete_conversation(me, conv_id), lambda: ws.rename_draft(me, draft_id, "mine"),
                       lambda: ws.delete_draft(me, draft_id)):
            with pytest.raises(ws.NotFound):
                change()
        assert other not in json.dumps(ws.export(me))

    for user in ("alice", "bob"):  # nothing the other tried changed anything
        conv = ws.get_conversation(user, ids[user][0])
        assert conv.title == f"{user}'s question" and [t.answer for t in conv.turns] == [f"{user}'s answer"]
        assert ws.get_draft(user, ids[user][1]).title == "gap"

    removed = ws.forget("bob")
    assert removed == {"profile": 1, "conversations": 1, "turns": 1, "drafts": 1, "files": 0}
    assert ws.get_profile("alice") is not None and len(ws.get_conversation("alice", ids["alice"][0]).turns) == 1
    with pytest.raises(InputError):
        ws.list_conversations("")


# -- concurrency and crashes --------------------------------------------------------------------------

def _append_many(conversation_id: str, writer: int, start) -> None:
    """One writer: 20 turns, and between them edits of the shared profile (a read, then a write, in one transaction)."""
    start.wait()
    for j in range(TURNS_EACH):
        ws.append_turn("local", conversation_id, f"w{writer}-t{j}", f"answer {writer}.{j}", [{"n": 1, "writer": writer}])
        if j % 4 == 0:
            ws.edit_profile("local", {"research.0.outputs": writer * 10 + j // 4, "letters.0.writer_specialty": f"writer {writer}"})


def _assert_every_turn_landed_once_in_order(conversation_id: str) -> None:
    turns = ws.get_conversation("local", conversation_id).turns
    assert len(turns) == WRITERS * TURNS_EACH
    assert sorted(t.question for t in turns) == sorted(f"w{i}-t{j}" for i in range(WRITERS) for j in range(TURNS_EACH))
    for i in range(WRITERS):  # each writer's turns in the order it wrote them
        assert [t.question for t in turns if t.question.startswith(f"w{i}-")] == [f"w{i}-t{j}" for j in range(TURNS_EACH)]
    assert all(t.answer == "answer " + t.question[1:].replace("-t", ".") for t in turns)
    last = ws.get_profile("local")  # the edits did not fail, and the profile is one writer's last edit, whole
    assert last.letters[0].writer_specialty == f"writer {last.research[0].outputs // 10}"


def test_ten_writer_processes_lose_no_turn(home):
    ws.set_profile("local", profile_data())
    conv = ws.create_conversation("local", "shared")
    ctx = multiprocessing.get_context("fork")  # the children inherit ADVISOR_HOME and the imported package
    start = ctx.Event()
    procs = [ctx.Process(target=_append_many, args=(conv.id, i, start)) for i in range(WRITERS)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * WRITERS  # no "database is locked" in any writer
    _assert_every_turn_landed_once_in_order(conv.id)
    assert ws.list_conversations("local")[0].n_turns == WRITERS * TURNS_EACH


def test_ten_writer_threads_lose_no_turn(home):
    ws.set_profile("local", profile_data())
    conv = ws.create_conversation("local", "shared")
    start, errors = threading.Event(), []

    def writer(i: int) -> None:
        try:
            _append_many(conv.id, i, start)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join(120)
    assert errors == []
    _assert_every_turn_landed_once_in_order(conv.id)


BIG_TRANSACTION = r"""
import sys
from assistant.workspace.db import writing
conversation_id = sys.argv[1]
with writing() as db:
    for i in range(100000):
        db.execute("INSERT INTO turns (conversation_id, user, question, answer, citations, created_at) VALUES (?, 'local', ?, ?, '[]', '')",
                   (conversation_id, f"uncommitted {i}", "x" * 100000))
        if i == 200:  # about 20 MB written into the open transaction: far more than SQLite's page cache holds
            print("inside", flush=True)
"""

SAVE_LOOP = r"""
import sys
from assistant import workspace as ws
conversation_id = sys.argv[1]
n = int(sys.argv[2])
while True:
    ws.append_turn("local", conversation_id, f"q{n}", f"{n}:" + "x" * 150000, [{"n": n}])
    print(n, flush=True)
    n += 1
"""


def _start(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT, env=dict(os.environ))


def _check_readable(conversation_id: str) -> list:
    with sqlite3.connect(ws.workspace_file()) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return ws.get_conversation("local", conversation_id).turns


def test_kill_9_inside_a_big_transaction_leaves_the_previous_state(home):
    conv = ws.create_conversation("local", "before the crash")
    ws.append_turn("local", conv.id, "committed", "kept")
    proc = _start(BIG_TRANSACTION, conv.id)
    line = proc.stdout.readline()
    assert line.strip() == "inside", proc.stderr.read()
    wal = ws.workspace_file().with_name("workspace.sqlite3-wal")
    assert wal.stat().st_size > 5_000_000  # the uncommitted rows really reached the disk
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    turns = _check_readable(conv.id)
    assert [(t.question, t.answer) for t in turns] == [("committed", "kept")]
    ws.append_turn("local", conv.id, "after", "works")  # and it is writable again
    assert len(ws.get_conversation("local", conv.id).turns) == 2


def test_kill_9_at_random_moments_of_a_save_loop_keeps_every_commit(home):
    conv = ws.create_conversation("local", "save loop")
    rng, committed = random.Random(16), 0
    for trial in range(3):
        proc = _start(SAVE_LOOP, conv.id, str(committed))
        for _ in range(3):  # a few commits first, then a kill at a random moment of the loop
            line = proc.stdout.readline()
            assert line.strip(), proc.stderr.read()
            printed = int(line)
        time.sleep(rng.uniform(0, 0.2))
        proc.send_signal(signal.SIGKILL)
        out = proc.communicate(timeout=30)[0]
        printed = max([printed, *(int(x) for x in out.split())])
        turns = _check_readable(conv.id)
        # every commit that was reported is there, intact; at most the one in flight committed unreported
        assert printed + 1 <= len(turns) <= printed + 2, (trial, printed, len(turns))
        assert [t.question for t in turns] == [f"q{i}" for i in range(len(turns))]
        assert all(t.answer == f"{i}:" + "x" * 150000 and t.citations == [{"n": i}] for i, t in enumerate(turns))
        committed = len(turns)


# -- forget ------------------------------------------------------------------------------------------

def test_forget_the_only_user_leaves_no_workspace_file(home):
    ws.set_profile("local", profile_data())
    conv = ws.create_conversation("local", "q")
    ws.append_turn("local", conv.id, "q", "a")
    ws.append_turn("local", conv.id, "q2", "a2")
    ws.save_draft("local", "gap", {}, "text")
    (home / "index").mkdir()  # other things under ADVISOR_HOME are not the workspace's to delete
    assert workspace_names(home) == ["workspace.sqlite3"]

    removed = ws.forget("local")
    assert removed == {"profile": 1, "conversations": 1, "turns": 2, "drafts": 1, "files": 1}
    assert workspace_names(home) == [] and sorted(p.name for p in home.iterdir()) == ["index"]
    assert ws.list_conversations("local") == [] and ws.get_profile("local") is None and workspace_names(home) == []
    assert ws.forget("local") == {"profile": 0, "conversations": 0, "turns": 0, "drafts": 0, "files": 0}


def test_forget_one_user_leaves_no_trace_of_their_text_in_the_file(home):
    secret = "QUOKKA-" + "7" * 40
    ws.set_profile("alice", profile_data())
    kept = ws.create_conversation("alice", "alice keeps this")
    ws.append_turn("alice", kept.id, "alice keeps this", "ALICE-KEEPS-" + "5" * 40)
    conv = ws.create_conversation("bob", secret)
    for i in range(50):
        ws.append_turn("bob", conv.id, f"{secret} {i}", f"{secret} answer {i} " * 20)
    ws.save_draft("bob", "gap", {"what": secret}, secret)

    def raw_bytes() -> bytes:
        return b"".join((home / n).read_bytes() for n in workspace_names(home))

    assert secret.encode() in raw_bytes()
    ws.forget("bob")
    assert workspace_names(home) == ["workspace.sqlite3"]
    data = raw_bytes()
    assert secret.encode() not in data and b"ALICE-KEEPS-" in data  # the search does see text that is there
    assert len(ws.get_conversation("alice", kept.id).turns) == 1


def test_a_damaged_workspace_is_one_line_and_left_in_place(home, capsys):
    ws.create_conversation("local", "q")
    damaged = b"this is not a database" * 100
    ws.workspace_file().write_bytes(damaged)
    with pytest.raises(StorageError, match="cannot be read .* left as it is") as exc:
        ws.list_conversations("local")
    assert "\n" not in str(exc.value)
    code, out, err = run(capsys, "profile", "show")
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: the workspace ") and "unexpected" not in err
    assert ws.workspace_file().read_bytes() == damaged  # never deleted or rewritten: it is the only copy


# -- CLI -----------------------------------------------------------------------------------------------

def test_cli_profile_commands_json(home, tmp_path, capsys):
    code, out, err = run(capsys, "profile", "show", "--json")
    assert code == 0, err
    assert json.loads(out) == {"user": "local", "profile": None}

    code, out, err = run(capsys, "profile", "set", str(PROFILE_FILE), "--json")
    assert code == 0, err
    assert json.loads(out)["profile"]["graduation_year"] == 2023

    code, out, err = run(capsys, "profile", "edit", "graduation_year=2019", "previous_specialty=pathology", "exams.1.score=230", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["changed"] == ["exams.1.score", "graduation_year", "previous_specialty"]
    assert (data["profile"]["graduation_year"], data["profile"]["previous_specialty"], data["profile"]["exams"][1]["score"]) == (2019, "pathology", 230)

    code, out, err = run(capsys, "profile", "show", "--json")
    assert code == 0 and json.loads(out)["profile"] == data["profile"]
    code, out, err = run(capsys, "profile", "show")
    assert code == 0 and json.loads(out) == data["profile"]  # the text view is the profile, indented

    code, out, err = run(capsys, "profile", "show", "--user", "bob", "--json")
    assert code == 0 and json.loads(out) == {"user": "bob", "profile": None}

    code, out, err = run(capsys, "profile", "clear", "--json")
    assert code == 0 and json.loads(out) == {"user": "local", "cleared": True}
    code, out, err = run(capsys, "profile", "clear")
    assert code == 0 and "nothing to delete" in out


@pytest.mark.parametrize("args", [["profile", "edit", "graduation_year"], ["profile", "edit", "graduation_year=2099"],
                                  ["profile", "edit", "nickname=x"], ["forget"], ["export", "/no/such/folder/x.json"]],
                         ids=["no-equals", "impossible", "unknown-field", "forget-unconfirmed", "export-no-folder"])
def test_cli_bad_input_is_one_line_exit_2(home, capsys, args):
    ws.set_profile("local", profile_data())
    code, out, err = run(capsys, *args)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("error: "), (code, out, err)
    assert ws.get_profile("local").graduation_year == 2023  # nothing changed


def test_cli_profile_set_bad_files_exit_2_with_one_line(home, tmp_path):
    """Run the way a user does (a real `advisor` process): a malformed file and an impossible profile."""
    malformed = tmp_path / "malformed.json"
    malformed.write_text('{"audience": "us-img", "specialty": ', encoding="utf-8")
    impossible = tmp_path / "impossible.json"
    impossible.write_text(json.dumps({**profile_data(), "gaps": [{"start": "2023-06", "end": "2022-01"}]}), encoding="utf-8")
    one_error_line(run_cli(["profile", "set", str(malformed)], env_home=home), "not valid JSON", str(malformed))
    one_error_line(run_cli(["profile", "set", str(impossible), "--json"], env_home=home), "ends (2022-01) before it starts (2023-06)")
    assert workspace_names(home) == []  # a refused profile wrote nothing


def test_cli_export_and_forget_json(home, tmp_path, capsys):
    ws.set_profile("local", profile_data())
    conv = ws.create_conversation("local", "q")
    ws.append_turn("local", conv.id, "q", "a", [{"n": 1}])
    out_file = tmp_path / "copy.json"
    out_file.write_text("old", encoding="utf-8")
    os.chmod(out_file, 0o644)

    code, out, err = run(capsys, "export", str(out_file), "--json")
    assert code == 0, err
    assert json.loads(out) == {"user": "local", "file": str(out_file), "profile": 1, "conversations": 1, "turns": 1, "drafts": 0}
    assert oct(mode(out_file)) == "0o600" and json.loads(out_file.read_text(encoding="utf-8"))["conversations"][0]["turns"][0]["citations"] == [{"n": 1}]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("copy")) == ["copy.json"]  # no temporary file left

    code, out, err = run(capsys, "export", str(out_file))
    assert code == 0 and "1 profile, 1 conversation(s) with 1 turn(s), 0 draft(s)" in out

    code, out, err = run(capsys, "forget", "--yes", "--json")
    assert code == 0, err
    assert json.loads(out) == {"user": "local", "profile": 1, "conversations": 1, "turns": 1, "drafts": 0, "files": 1}
    assert workspace_names(home) == []
    code, out, err = run(capsys, "forget", "--yes")
    assert code == 0 and "nothing deleted" in out
