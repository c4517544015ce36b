"""Tests for `advisor draft` and `advisor audit`: JSON and text output, flags, and one-line errors with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main

PROJECT_DIR = Path(__file__).resolve().parents[1]
EVAL_PS = PROJECT_DIR / "evals/drafts/exam-failure-step1-radiology-ps.json"
EVAL_PROFILE = PROJECT_DIR / "evals/profiles/non-us-radiology-multiple-failures-visa.json"


@pytest.fixture(scope="session")
def index_home(built_home):
    """The session's real index of the bundled guides (tests/conftest.py), used through ADVISOR_HOME."""
    return built_home.home


@pytest.fixture
def env(index_home, monkeypatch):
    monkeypatch.setenv("ADVISOR_HOME", str(index_home))
    monkeypatch.delenv("ADVISOR_LLM", raising=False)
    return index_home


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_draft_json_from_a_facts_file(env, capsys):
    code, out, err = run(capsys, "draft", "--facts", str(EVAL_PS), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) >= {"text", "missing", "advice", "checklist"}
    assert data["text"].startswith("I failed USMLE Step 1 on my first attempt in March 2021.")
    assert data["missing"] == [] and data["polished"] is False and data["length"]["ok"]
    assert data["advice"] and data["advice"][0]["n"] == 1 and {"source", "section", "text"} <= set(data["advice"][0])
    assert all(item["source"] and item["quote"] and item["citation"] for item in data["checklist"])


def test_draft_from_flags_only_with_placeholders(env, capsys):
    code, out, err = run(capsys, "draft", "--kind", "gap", "--specialty", "diagnostic radiology", "--audience", "non-us-img",
                         "--what", "From July 2020 to December 2021 I was not in clinical training.", "--format", "interview", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["format"] == "interview" and data["specialty"] == "radiology"
    assert "From July 2020 to December 2021 I was not in clinical training." in data["text"]
    assert data["missing_fields"] == ["context", "insight", "changes", "evidence"]
    assert len(data["missing"]) >= 4 and all(p in data["text"] for p in data["placeholders"])


def test_flags_override_the_facts_file(env, capsys):
    code, out, err = run(capsys, "draft", "--facts", str(EVAL_PS), "--format", "eras-additional-info",
                         "--evidence", "I passed Step 1 in November 2021.", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["format"] == "eras-additional-info" and "I passed Step 1 in November 2021." in data["text"]
    assert "247" not in data["text"]


def test_draft_text_output(env, capsys):
    code, out, err = run(capsys, "draft", "--facts", str(PROJECT_DIR / "evals/drafts/exam-failure-missing-changes-eras.json"))
    assert code == 0, err
    assert "I failed Step 1 once before passing it on my second attempt." in out
    assert "[what you changed since: study methods, schedule, support, habits]" in out  # placeholders survive (no markup)
    assert "To complete it, answer:" in out and "Checklist from the guides:" in out and "Sources" in out
    assert "[1] " in out


def test_audit_json_and_text(env, capsys):
    code, out, err = run(capsys, "audit", "--profile", str(EVAL_PROFILE), "--json")
    assert code == 0, err
    data = json.loads(out)
    expected = json.loads(EVAL_PROFILE.read_text(encoding="utf-8"))["expected_flags"]
    assert sorted(f["id"] for f in data["flags"]) == sorted(expected)
    assert data["citations"] and all(f["why"][0]["citation"] for f in data["flags"])
    code, out, err = run(capsys, "audit", "--profile", str(EVAL_PROFILE))
    assert code == 0, err
    assert "Red flags the guides would see" in out and "Visa history" in out and "Sources" in out


@pytest.mark.parametrize(
    "args, needle",
    [
        (["draft", "--kind", "gap", "--specialty", "radiology"], "missing required field 'what'"),
        (["draft", "--kind", "gapz", "--specialty", "radiology", "--what", "x"], "'kind' must be"),
        (["draft", "--kind", "gap", "--specialty", "radiology", "--what", ""], "field 'what' is empty"),
        (["draft", "--kind", "low-score", "--specialty", "radiology", "--what", "I scored 900 on Step 2 CK."], "USMLE score of 900"),
        (["draft", "--kind", "gap", "--specialty", "radiology", "--what", "x", "--format", "poem"], "'format' must be"),
        (["draft", "--kind", "gap", "--specialty", "radiology", "--what", "x", "--llm", "nonsense:x"], "unknown LLM backend"),
        (["draft", "--facts", "/nonexistent/facts.json"], "not found"),
        (["audit", "--profile", "/nonexistent/profile.json"], "not found"),
    ],
)
def test_bad_input_prints_one_line_and_exits_2(env, capsys, args, needle):
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], err


@pytest.mark.parametrize(
    "content, needle",
    [
        ('{"kind": "gap", "specialty": "radiology", "what": "x",', "not valid JSON"),
        ('{"kind": "gap", "specialty": "radiology", "what": "x", "colour": "red"}', "unknown field 'colour'"),
        ('{"kind": "gap", "specialty": "radiology", "what": 7}', "field 'what' must be text"),
        ('{"kind": "gap", "specialty": "radiology"}', "missing required field 'what'"),
        ('["gap"]', "JSON object"),
    ],
)
def test_bad_facts_files_exit_2(env, capsys, tmp_path, content, needle):
    f = tmp_path / "facts.json"
    f.write_text(content, encoding="utf-8")
    code, out, err = run(capsys, "draft", "--facts", str(f), "--json")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err


@pytest.mark.parametrize(
    "profile, needle",
    [
        ({"audience": "non-us-img", "specialty": "radiology", "graduation_year": 2020,
          "exams": [{"exam": "step2ck", "result": "pass", "score": 900}]}, "at most 300"),
        ({"audience": "non-us-img", "specialty": "radiology", "graduation_year": 2020, "pets": 2}, "unknown field 'pets'"),
        ({"audience": "non-us-img", "specialty": "radiology", "graduation_year": "2020"}, "whole number"),
    ],
)
def test_bad_profiles_exit_2(env, capsys, tmp_path, profile, needle):
    f = tmp_path / "profile.json"
    f.write_text(json.dumps(profile), encoding="utf-8")
    code, out, err = run(capsys, "audit", "--profile", str(f))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err


def test_cli_module_imports_light():
    import subprocess
    import sys

    code = "import sys, assistant.cli.draft; print(any(m in sys.modules for m in ('pydantic', 'rich', 'langchain_core', 'torch')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_DIR, check=True).stdout.strip()
    assert out == "False"


def test_remote_llm_is_announced_before_anything_is_sent(env, capsys):
    """Like `advisor ask`, a draft polished by a non-local model says so on stderr first."""
    code, out, err = run(capsys, "draft", "--facts", str(EVAL_PS), "--llm", "openai:some-model@http://example-remote.invalid:9/v1")
    lines = err.strip().splitlines()
    assert lines[0].startswith("warning: remote LLM backend") and "example-remote.invalid" in lines[0], err
    assert code == 2 and len(lines) == 2 and lines[1].startswith("error:") and "Traceback" not in err
    code, out, err = run(capsys, "draft", "--facts", str(EVAL_PS), "--json")
    assert code == 0 and "remote" not in err
