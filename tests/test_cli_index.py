"""`advisor ingest` / `retrieve` / `library` from the command line, including every bad input."""

import json

import pytest

from tests.conftest import one_error_line, run_cli


def test_retrieve_json(built_home):
    proc = run_cli(["retrieve", "How many radiology programs should a non-US IMG apply to?", "-k", "3", "--audience", "non-us-img", "--json"], env_home=built_home.home)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert len(out["results"]) == 3
    assert set(out["results"][0]) == {"source", "section", "text", "score"}
    assert out["results"][0]["source"] == "non-us-img-radiology-red-flags"


def test_retrieve_batch_keeps_input_order(built_home, tmp_path):
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        '{"id": "b", "question": "How do I explain a gap year?", "audience": "us-img"}\n'
        "\n"
        '{"id": "a", "question": "What Step 2 CK score should I aim for?", "specialty": "medical-genetics"}\n'
        '{"id": 3, "question": "Do letters of recommendation matter?"}\n'
    )
    proc = run_cli(["retrieve", "--batch", str(batch), "--json", "-k", "2"], env_home=built_home.home)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(l) for l in proc.stdout.splitlines()]
    assert [l["id"] for l in lines] == ["b", "a", 3]
    assert all(len(l["results"]) == 2 for l in lines)


@pytest.mark.parametrize(
    "args, needle",
    [
        (["retrieve", ""], "empty"),
        (["retrieve", "   \t  "], "empty"),
        (["retrieve", "x" * 2001], "2000"),
        (["retrieve", "gap", "--audience", "alien"], "audience"),
        (["retrieve"], "QUESTION"),
        (["retrieve", "gap", "-k", "0"], "k"),
        (["ingest", "/no/such/guide.txt"], "no such file"),
    ],
)
def test_bad_input_one_line_exit_2(built_home, args, needle):
    line = one_error_line(run_cli(args, env_home=built_home.home))
    assert needle.lower() in line.lower()


@pytest.mark.parametrize(
    "content, needle",
    [
        ('{"id": 1, "question": "ok question"}\n{"id": 2, "question": \n', "line 2"),
        ('{"id": 1, "question": ""}\n', "line 1"),
        ('[1, 2]\n', "line 1"),
        ('{"id": 1, "question": "fine", "colour": "red"}\n', "unknown field"),
        ('{"id": 1, "question": 5}\n', "line 1"),
    ],
)
def test_malformed_batch_names_the_line(built_home, tmp_path, content, needle):
    f = tmp_path / "bad.jsonl"
    f.write_text(content)
    line = one_error_line(run_cli(["retrieve", "--batch", str(f), "--json"], env_home=built_home.home))
    assert needle in line


def test_non_utf8_batch(built_home, tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_bytes(b'{"question": "caf\xe9"}\n')
    assert "UTF-8" in one_error_line(run_cli(["retrieve", "--batch", str(f)], env_home=built_home.home))


def test_missing_index_names_the_command(tmp_path):
    line = one_error_line(run_cli(["retrieve", "How do I explain a gap?"], env_home=tmp_path / "empty"))
    assert "advisor ingest" in line


def test_ingest_json_and_library(fresh_home, tmp_path):
    env = {"ADVISOR_CORPUS": str(fresh_home.corpus_dir)}
    (fresh_home.corpus_dir / "broken.txt").write_bytes(b"\x00\x00binary")
    proc = run_cli(["ingest", "--json"], env_home=fresh_home.home, extra_env=env)
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout)
    assert rep["documents"] == 5 and rep["skipped"] == ["broken.txt"] and rep["swapped"]
    assert any("broken.txt" in w for w in rep["warnings"])
    lib = json.loads(run_cli(["library", "--json"], env_home=fresh_home.home, extra_env=env).stdout)
    assert {d["source"] for d in lib} == {p.stem for p in fresh_home.corpus_dir.glob("*.txt")} - {"broken"}
    assert all(d["chunks"] > 10 for d in lib)


def test_help_is_helpful():
    proc = run_cli(["--help"])
    assert proc.returncode == 0
    for cmd in ("ingest", "retrieve", "ask", "eval"):
        assert cmd in proc.stdout
