"""How a guide was cut into passages: ``assistant.ingestion.passages``, ``advisor library --passages``, the Library tab's "Show passages".

Real indexes throughout: the session index of the bundled guides (``built_home``), and
a fresh home (``fresh_home``) into which the tests add short pediatrics guides of their own.
"""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

import pytest

from tests.conftest import one_error_line, run_cli

RADIOLOGY = "non-us-img-radiology-red-flags"
HEADER = re.compile(r"^\[(\d+)\] (.+)  \((\d+) words\)$")
SUMMARY = re.compile(r"^(\d+) passages; words min (\d+), median (\d+(?:\.\d+)?), max (\d+); (\d+) under 25 words$")

TITLE = "# Pediatrics Residency Interviews for IMGs"
THANK_YOU = (
    "Send a brief thank-you email within two days to the program director and the residents you met. "
    "Mention one specific thing from the conversation, keep it to a few sentences, and do not ask about rank positions."
)
PEDS_DAY = f"""{TITLE}

Pediatric programs use the interview day to judge how you talk with children, families and a busy ward team. This short guide walks through the day itself and what to do after it.

## Before the Interview

### Research the Program

Read the program's pages on continuity clinic, the children's hospital it rotates through and its community pediatrics track. Note two or three features you can ask a resident about, such as night float or the adolescent medicine elective.

### Prepare Your Stories

Have a short, honest story ready about a sick child you cared for, a family conversation that went badly and what you learned, and one about teamwork with nurses. Keep each story under two minutes & rehearse it <b>aloud</b>.

## On the Interview Day

### Questions Program Directors Ask

Expect questions about why pediatrics, how you handle an anxious parent, and how you would manage a gap or a failed exam. Answer directly, give one example, and end with what you would do the same way in residency.

## After the Interview

### Thank-You Notes

{THANK_YOU}
"""
PEDS_DAY_SECTIONS = [
    "Before the Interview > Research the Program",
    "Before the Interview > Prepare Your Stories",
    "On the Interview Day > Questions Program Directors Ask",
    "After the Interview > Thank-You Notes",
]
# A second guide with the same title and the same closing section: that passage is stored once, for both guides.
PEDS_VIRTUAL = f"""{TITLE}

Many pediatrics programs now interview by video. The advice below covers the set-up and the follow-up for a virtual day.

## Virtual Interviews

### Camera and Room

Test the camera, microphone and lighting the day before, sit in a quiet room with a plain background, and keep a printed copy of your application and your questions for the residents beside the screen.

## After the Interview

### Thank-You Notes

{THANK_YOU}
"""


def _table(settings):
    from assistant.store import IndexState, load_chunk_table

    return load_chunk_table(IndexState.read(settings).gen_dir(settings))


def _parse_listing(stdout: str) -> tuple[list[dict], str]:
    """``advisor library --passages`` text -> ([{n, section, words, text}], the summary line)."""
    lines = stdout.rstrip("\n").split("\n")
    summary = lines.pop()
    out: list[dict] = []
    for line in lines:
        m = HEADER.match(line)
        if m:
            out.append({"n": int(m.group(1)), "section": m.group(2), "words": int(m.group(3)), "lines": []})
        else:
            assert out, f"text before the first header: {line!r}"
            assert line == "" or line.startswith("    "), f"passage text not indented: {line!r}"
            out[-1]["lines"].append(line[4:])
    for p in out:
        while p["lines"] and p["lines"][-1] == "":  # the blank line after each passage
            p["lines"].pop()
        p["text"] = "\n".join(p.pop("lines"))
    return out, summary


def _handlers(app):
    """The Library tab's handler object, found through the "Show passages" button's event on a built app."""
    fns = [bf.fn for bf in app.fns.values() if getattr(bf.fn, "__name__", "") == "show_passages"]
    assert len(fns) == 1, "no single Show passages event in the app"
    return fns[0].__self__


# --------------------------------------------------------------------------- the Python API


def test_api_lists_every_passage_of_every_shipped_guide(built_home):
    from assistant.ingestion import library, passages
    from assistant.store import expand_copies

    flat = expand_copies(_table(built_home))
    total = 0
    for doc in library(built_home):
        ps = passages(doc["source"], built_home)
        rows = sorted((r for r in flat if r["source"] == doc["source"]), key=lambda r: r["ordinal"])
        assert len(ps) == doc["chunks"] == len(rows) > 0, doc["source"]
        assert [p["n"] for p in ps] == list(range(1, len(ps) + 1))
        assert [p["id"] for p in ps] == [r["id"] for r in rows]  # guide order
        for p, r in zip(ps, rows):
            assert set(p) == {"n", "id", "section", "words", "chars", "text"}
            assert p["text"] == r["text"] and p["section"] == r["section"] and p["section"]
            assert p["words"] == len(p["text"].split()) > 0 and p["chars"] == len(p["text"])
        total += len(ps)
    assert total == len(flat)


def test_summary_counts(built_home):
    from assistant.ingestion import passage_summary, passages

    ps = passages(RADIOLOGY, built_home)
    words = [p["words"] for p in ps]
    s = passage_summary(ps)
    assert s["count"] == len(ps)
    assert (s["min_words"], s["median_words"], s["max_words"]) == (min(words), statistics.median(words), max(words))
    assert s["short"] == sum(w < 25 for w in words) and s["short_under_words"] == 25
    assert s["short"] == 0  # passages that stand on their own: none of the radiology guide's is a fragment
    assert passage_summary([])["count"] == 0


def test_api_unknown_source_and_missing_index(built_home, tmp_path):
    from assistant.config import get_settings
    from assistant.errors import IndexMissingError, InputError
    from assistant.ingestion import passages

    with pytest.raises(InputError, match=r"'radiology-nonsense'.*`advisor library`"):
        passages("radiology-nonsense", built_home)
    with pytest.raises(IndexMissingError, match="advisor ingest"):
        passages(RADIOLOGY, get_settings(home=tmp_path / "empty-home"))


# --------------------------------------------------------------------------- the CLI


def test_cli_lists_each_passage_whole_then_the_summary(built_home):
    from assistant.ingestion import passage_summary, passages

    proc = run_cli(["library", "--passages", RADIOLOGY], env_home=built_home.home)
    assert proc.returncode == 0, proc.stderr
    shown, summary = _parse_listing(proc.stdout)
    ps = passages(RADIOLOGY, built_home)
    assert [(p["n"], p["section"], p["words"]) for p in shown] == [(p["n"], p["section"], p["words"]) for p in ps]
    assert [p["text"] for p in shown] == [p["text"] for p in ps]  # whole, long ones too
    assert max(p["chars"] for p in ps) > 600  # longer than `advisor retrieve` shows
    s = passage_summary(ps)
    m = SUMMARY.match(summary)
    assert m, summary
    assert [int(m.group(1)), int(m.group(2)), float(m.group(3)), int(m.group(4)), int(m.group(5))] == [
        s["count"], s["min_words"], s["median_words"], s["max_words"], s["short"]
    ]


def test_cli_json(built_home):
    from assistant.ingestion import passage_summary, passages

    proc = run_cli(["library", "--passages", RADIOLOGY, "--json"], env_home=built_home.home)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"source", "passages", "summary"} and out["source"] == RADIOLOGY
    ps = passages(RADIOLOGY, built_home)
    assert out["passages"] == ps
    assert out["summary"] == passage_summary(ps)


def test_plain_library_is_unchanged(built_home):
    from assistant.ingestion import library

    proc = run_cli(["library", "--json"], env_home=built_home.home)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == json.loads(json.dumps(library(built_home)))
    proc = run_cli(["library"], env_home=built_home.home)
    assert proc.returncode == 0, proc.stderr
    assert "source" in proc.stdout and "passages" in proc.stdout and "ingested" in proc.stdout
    assert not any(HEADER.match(l) for l in proc.stdout.splitlines()) and "words min" not in proc.stdout


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_cli_unknown_source_one_line_exit_2(built_home, extra):
    line = one_error_line(run_cli(["library", "--passages", "no-such-guide", *extra], env_home=built_home.home))
    assert "'no-such-guide'" in line and "advisor library" in line


def test_cli_without_an_index_one_line_exit_2(tmp_path):
    line = one_error_line(run_cli(["library", "--passages", RADIOLOGY], env_home=tmp_path / "empty-home"))
    assert "no index" in line and "advisor ingest" in line


# --------------------------------------------------------------------------- a guide the test writes


def test_own_guides_are_listed_with_their_section_paths_and_shared_passages(fresh_home, tmp_path):
    from assistant.ingestion import ingest, library, passages
    from assistant.store import expand_copies

    guides = tmp_path / "guides"
    guides.mkdir()
    (guides / "peds-interview-day.md").write_text(PEDS_DAY, encoding="utf-8")
    (guides / "peds-virtual-interviews.md").write_text(PEDS_VIRTUAL, encoding="utf-8")
    ingest([guides], settings=fresh_home)

    day = passages("peds-interview-day", fresh_home)
    assert day[0]["section"].endswith(TITLE.lstrip("# "))  # the lead paragraph sits under the guide's title
    assert [p["section"] for p in day[1:]] == PEDS_DAY_SECTIONS
    assert day[-1]["text"] == THANK_YOU and day[-1]["words"] == len(THANK_YOU.split())
    assert any("rehearse it <b>aloud</b>" in p["text"] for p in day)

    # the shared closing section is stored once, and still listed for both guides
    table = _table(fresh_home)
    shared = [r for r in table if r["text"] == THANK_YOU]
    assert len(shared) == 1 and [c["source"] for c in shared[0].get("copies", [])], shared
    virtual = passages("peds-virtual-interviews", fresh_home)
    # its 22-word introduction is shorter than a section may stand: it joins the section it introduces
    assert [p["section"] for p in virtual] == ["Virtual Interviews > Camera and Room", "After the Interview > Thank-You Notes"]
    assert virtual[0]["text"].startswith("Many pediatrics programs now interview by video.") and "Test the camera" in virtual[0]["text"]
    assert virtual[-1]["text"] == THANK_YOU and virtual[-1]["id"] != day[-1]["id"]
    counts = [len(passages(d["source"], fresh_home)) for d in library(fresh_home)]
    assert sum(counts) == len(expand_copies(table)) > len(table)

    proc = run_cli(["library", "--passages", "peds-virtual-interviews"], env_home=fresh_home.home)
    assert proc.returncode == 0, proc.stderr
    shown, summary = _parse_listing(proc.stdout)
    assert [p["section"] for p in shown] == [p["section"] for p in virtual]
    assert shown[-1]["text"] == THANK_YOU
    assert summary.startswith(f"{len(virtual)} passages; ")


# --------------------------------------------------------------------------- the Library tab


def test_ui_shows_a_guides_passages(built_home):
    from assistant.ingestion import passage_summary, passages
    from assistant.ui.app import build_app
    from assistant.ui.html import esc

    app = build_app(settings=built_home, llm="extractive")
    h = _handlers(app)
    html = h.show_passages(RADIOLOGY)
    ps = passages(RADIOLOGY, built_home)
    assert 'id="passages-view"' in html and "Overcoming Red Flags in Radiology" in html
    assert html.count("<li>") == len(ps)
    for p in ps:
        block = f'id="psg-{p["n"]}"'
        assert block in html
        after = html.split(block, 1)[1]
        assert after.index(esc(p["section"])) < after.index(f'({p["words"]} words)') < after.index(esc(p["text"]))
    s = passage_summary(ps)
    assert f"{s['count']} passages; words min {s['min_words']}, median {s['median_words']:g}, max {s['max_words']}; {s['short']} under 25 words" in html
    # nothing chosen, or a guide that is not there: a notice, no traceback
    assert "Pick a guide" in h.show_passages(None)
    bad = h.show_passages("no-such-<guide>")
    assert 'class="notice error"' in bad and "&lt;guide&gt;" in bad and "<guide>" not in bad and "advisor library" in bad
    # the same as JSON for API users
    assert h.passages_api(RADIOLOGY) == {"source": RADIOLOGY, "passages": ps, "summary": s}
    assert any(bf.api_name == "passages" and bf.fn == h.passages_api for bf in app.fns.values())


def test_ui_offers_an_uploaded_guides_passages(fresh_home, tmp_path):
    from assistant.ui.app import build_app

    h = _handlers(build_app(settings=fresh_home, llm="extractive"))
    guide = tmp_path / "Peds Interview Day.md"
    guide.write_text(PEDS_DAY, encoding="utf-8")
    status, table, rm_choice, ps_choice, upload = h.add_guides([{"path": str(guide)}], progress=lambda *a, **k: None)
    assert "Added" in status, status
    assert ps_choice["value"] == "Peds-Interview-Day" and rm_choice["value"] is None
    assert "Peds-Interview-Day" in {v for _, v in ps_choice["choices"]}
    html = h.show_passages(ps_choice["value"])
    for section in PEDS_DAY_SECTIONS:
        assert section.replace(">", "&gt;") in html
    assert "rehearse it &lt;b&gt;aloud&lt;/b&gt;" in html and "<b>aloud</b>" not in html  # guide text is shown as text
    assert "5 passages; " in html
    assert Path(guide).exists()  # the user's own file is left alone
