"""The index: incremental ingest by content hash, atomic generations, crash safety, corruption detection."""

import json

import pytest

from assistant.errors import IndexMissingError, InputError
from assistant.store.state import IndexState
from assistant.ingestion.pipeline import ingest, library, remove
from assistant.retrieval import Retriever
from tests.conftest import run_cli


def test_ingest_unchanged_corpus_embeds_nothing(fresh_home):
    first = ingest(settings=fresh_home)
    assert first.swapped and first.documents == 5
    again = ingest(settings=fresh_home)
    assert again.embedded == 0 and not again.swapped
    assert sorted(again.unchanged) == sorted(d["source"] for d in library(fresh_home))


def test_changed_guide_is_the_only_one_reembedded_and_removed_guide_disappears(fresh_home):
    first = ingest(settings=fresh_home)
    f = fresh_home.corpus_dir / "us-img-medical-genetics-red-flags.txt"
    f.write_text(f.read_text(encoding="utf-8").replace("SmartPick", "Zebrafish mentorship programs are a brand-new pathway worth asking about.\nSmartPick", 1), encoding="utf-8")
    (fresh_home.corpus_dir / "non-us-img-radiology-red-flags.txt").unlink()
    rep = ingest(settings=fresh_home)
    assert rep.updated == ["us-img-medical-genetics-red-flags"]
    assert rep.removed == ["non-us-img-radiology-red-flags"]
    assert 0 < rep.embedded <= 12  # only the changed passage and its new sentences
    r = Retriever(fresh_home)
    hits = r.search("zebrafish mentorship pathway", k=3)
    assert hits[0].source == "us-img-medical-genetics-red-flags" and "Zebrafish" in hits[0].text
    assert all(h.source != "non-us-img-radiology-red-flags" for h in r.search("radiology red flags for non-US IMGs", k=10))


def test_adding_and_removing_a_user_guide(fresh_home, tmp_path):
    ingest(settings=fresh_home)
    guide = tmp_path / "visa-timeline-tips.md"
    guide.write_text("# Visa Timeline Tips\nStart the DS-2019 paperwork early; the quokka rule says plan ahead.\n")
    rep = ingest([guide], settings=fresh_home)
    assert rep.added == ["visa-timeline-tips"]
    assert Retriever(fresh_home).search("quokka rule paperwork", k=1)[0].source == "visa-timeline-tips"
    remove("visa-timeline-tips", fresh_home)
    assert "visa-timeline-tips" not in {d["source"] for d in library(fresh_home)}
    assert guide.exists(), "removing a guide from the library never deletes the user's file"
    with pytest.raises(InputError):
        remove("no-such-guide", fresh_home)


def test_bad_documents_are_skipped_and_the_rest_ingested(fresh_home):
    (fresh_home.corpus_dir / "binary.txt").write_bytes(b"\x00\x01\x02\x03")
    (fresh_home.corpus_dir / "latin1.txt").write_bytes("r\xe9sum\xe9 advice".encode("latin-1"))
    warnings = []
    rep = ingest(settings=fresh_home, warn=warnings.append)
    assert rep.documents == 5 and sorted(rep.skipped) == ["binary.txt", "latin1.txt"]
    assert len(warnings) == 2


@pytest.mark.parametrize("stage", ["embed", "chroma-batch", "before-swap"])
def test_killed_ingest_leaves_previous_index_usable(fresh_home, stage):
    ingest(settings=fresh_home)
    before = [h.chunk_id for h in Retriever(fresh_home).search("How do I explain a gap after graduation?", k=5)]
    f = fresh_home.corpus_dir / "img-medical-genetics-low-step-scores.txt"
    f.write_text(f.read_text(encoding="utf-8").replace("SmartPick", "A new paragraph about okapi research electives.\nSmartPick", 1), encoding="utf-8")
    env = {"ADVISOR_HOME": str(fresh_home.home), "ADVISOR_CORPUS": str(fresh_home.corpus_dir), "ADVISOR_TEST_CRASH_AFTER": stage}
    proc = run_cli(["ingest"], extra_env=env)
    assert proc.returncode == -9, proc.stderr  # SIGKILL mid-way
    state = IndexState.read(fresh_home)
    assert state.generation == 1
    after = [h.chunk_id for h in Retriever(fresh_home).search("How do I explain a gap after graduation?", k=5)]
    assert after == before
    rep = ingest(settings=fresh_home)
    assert rep.swapped and rep.updated == ["img-medical-genetics-low-step-scores"]
    # the new sentence joined the guide's last passage (too short to stand alone): that passage is found
    found = Retriever(fresh_home).search("okapi research electives", k=3)
    assert any(h.source == "img-medical-genetics-low-step-scores" and "okapi research electives" in h.text for h in found)
    assert sorted(p.name for p in fresh_home.index_dir.glob("gen-*")) == ["gen-1", f"gen-{rep.generation}"]


def test_corrupt_or_missing_index_is_reported_with_the_rebuild_command(fresh_home):
    with pytest.raises(IndexMissingError, match="advisor ingest"):
        Retriever(fresh_home).search("anything at all", k=1)
    ingest(settings=fresh_home)
    state = fresh_home.index_dir / "state.json"
    good = state.read_text()
    state.write_text("{not json")
    with pytest.raises(IndexMissingError, match="advisor ingest --rebuild"):
        Retriever(fresh_home).search("gap year", k=1)
    state.write_text(good)
    gen = IndexState.read(fresh_home).gen_dir(fresh_home)
    for f in (gen / "bm25").iterdir():
        f.write_bytes(b"garbage")
    with pytest.raises(IndexMissingError, match="advisor ingest --rebuild"):
        Retriever(fresh_home).search("gap year", k=1)
    rep = ingest(settings=fresh_home, rebuild=True)
    assert rep.swapped and rep.embedded == 0  # rebuilt from the vector cache, nothing re-embedded
    assert Retriever(fresh_home).search("gap year", k=1)


def test_cli_reports_corrupt_index_in_one_line(fresh_home):
    ingest(settings=fresh_home)
    (fresh_home.index_dir / "state.json").write_text("\x00\x01")
    proc = run_cli(["retrieve", "How do I explain a gap?"], env_home=fresh_home.home)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "advisor ingest --rebuild" in proc.stderr and "Traceback" not in proc.stderr


def test_a_passage_copied_into_several_guides_is_stored_once_and_reported_for_the_best_fitting_guide(fresh_home, tmp_path):
    """Identical passages (boilerplate, a reused section) are stored once; each guide keeps its copy."""
    ingest(settings=fresh_home)
    lib = tmp_path / "copies"
    lib.mkdir()
    text = "# Quokka Visa Notes\nThe quokka rule: start the DS-2019 paperwork four months before the contract date.\n"
    for name in ("quokka-us", "quokka-intl", "quokka-any"):
        (lib / f"{name}.md").write_text(text, encoding="utf-8")
    (lib / "manifest.json").write_text(json.dumps({"documents": {
        "quokka-us": {"title": "Quokka Visa Notes", "audience": "us-img"},
        "quokka-intl": {"title": "Quokka Visa Notes", "audience": "non-us-img"},
        "quokka-any": {"title": "Quokka Visa Notes", "audience": "any"},
    }}), encoding="utf-8")
    rep = ingest([lib], settings=fresh_home)
    assert sorted(rep.added) == ["quokka-any", "quokka-intl", "quokka-us"]
    assert rep.distinct == rep.chunks - 2, "the two extra copies are not stored again"
    r = Retriever(fresh_home)
    hits = r.search("quokka rule DS-2019 paperwork", k=5)
    assert len(r.rows) == r.collection.count() == rep.distinct, "the index stores each distinct passage once"
    assert sum("quokka rule" in h.text for h in hits) == 1, "one copy in the results, not three"
    intl = r.search("quokka rule DS-2019 paperwork", k=1, audience="non-us-img")[0]
    assert intl.source == "quokka-intl" and intl.audience == "non-us-img"
    us = r.search("quokka rule DS-2019 paperwork", k=1, audience="us-img", strict=True)[0]
    assert us.source == "quokka-us"
    # unchanged re-ingest reuses every copy (nothing embedded, no new generation)
    again = ingest(settings=fresh_home)
    assert again.embedded == 0 and not again.swapped and again.chunks == rep.chunks
    # removing the guide whose copy is stored leaves the others searchable
    remove("quokka-any", fresh_home)
    remove("quokka-intl", fresh_home)
    left = Retriever(fresh_home).search("quokka rule DS-2019 paperwork", k=1)[0]
    assert left.source == "quokka-us" and "quokka rule" in left.text


def test_plain_ingest_repairs_a_damaged_live_index_from_the_vector_cache(fresh_home):
    """Each step runs in a fresh process (as a user would), so no open Chroma client hides the damage."""
    home = fresh_home.home

    def cli_ingest(*extra):
        proc = run_cli(["ingest", "--json", *extra], env_home=home)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    def retrieves():
        proc = run_cli(["retrieve", "gap year", "-k", "1", "--json"], env_home=home)
        return proc.returncode == 0 and json.loads(proc.stdout)["results"]

    cli_ingest()
    (fresh_home.index_dir / "chroma" / "chroma.sqlite3").unlink()  # the dense store is gone
    rep = cli_ingest()
    assert rep["swapped"] and rep["embedded"] == 0 and any("rebuilding" in w for w in rep["warnings"])
    assert retrieves()
    (IndexState.read(fresh_home).gen_dir(fresh_home) / "units.npy").unlink()
    assert cli_ingest()["swapped"] and retrieves()
    again = cli_ingest()  # healthy now: a no-op
    assert not again["swapped"] and again["embedded"] == 0
    (fresh_home.index_dir / "chroma" / "chroma.sqlite3").write_bytes(b"not a database at all" * 100)
    proc = run_cli(["ingest"], env_home=home)
    assert proc.returncode == 2 and "advisor ingest --rebuild" in proc.stderr and "Traceback" not in proc.stderr
    assert cli_ingest("--rebuild")["swapped"] and retrieves()


def test_a_moved_project_folder_still_indexes_its_own_bundled_guides(fresh_home):
    """The data directory remembers the corpus path of the checkout that built it; after a move
    (or a second checkout using the same data directory) ingest still finds this install's guides."""
    ingest(settings=fresh_home)
    state_file = fresh_home.index_dir / "state.json"
    state = json.loads(state_file.read_text())
    state["roots"] = ["/nonexistent/old-checkout/corpus"]
    state_file.write_text(json.dumps(state))
    warnings = []
    rep = ingest(settings=fresh_home, warn=warnings.append)
    assert rep.documents == 5 and rep.embedded == 0
    assert any("/nonexistent/old-checkout/corpus" in w for w in warnings)
    assert IndexState.read(fresh_home).roots == [str(fresh_home.corpus_dir.resolve())]
    assert Retriever(fresh_home).search("gap year", k=1)
