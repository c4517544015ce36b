"""Tests for the writing package's data files: the rule tables equal the Python literals they replaced, bad files
are one-line errors, a specialty added through the data alone can be drafted for and audited, one sentence splitter."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.writing import audit, datafiles, draft
from assistant.writing.compose import compose, tidy_applicant_text
from assistant.writing.draft import rules_for
from assistant.writing.facts import parse_facts
from assistant.writing.factguard import check
from assistant.writing.lexicon import lexicon
from assistant.writing.rules import audit_rules, draft_rules
from assistant.writing.templates import kind_specs, template_vocabulary, templates, theme

WRITING_DIR = Path(__file__).resolve().parents[1] / "assistant" / "writing"


# --------------------------------------------------------------------------- the tables equal the literals they replaced


def canonical(o):
    """A JSON-able form of a table: dataclasses as dicts, regexes as (pattern, flags), sets sorted, tuples as lists."""
    if dataclasses.is_dataclass(o):
        return {f.name: canonical(getattr(o, f.name)) for f in dataclasses.fields(o)}
    if isinstance(o, re.Pattern):
        return {"pattern": o.pattern, "flags": int(o.flags)}
    if isinstance(o, (set, frozenset)):
        return sorted(canonical(x) for x in o)
    if isinstance(o, (list, tuple)):
        return [canonical(x) for x in o]
    if isinstance(o, dict):
        return {str(k): canonical(v) for k, v in o.items()}
    return o


def digest(o) -> str:
    return hashlib.sha256(json.dumps(canonical(o), sort_keys=True).encode("utf-8")).hexdigest()


# These digests were taken from the Python literals of assistant/writing/draft.py, audit.py and factguard.py
# (named here as they were named there) at the move to assistant/data/writing/*.json, before the literals were
# deleted; the JSON was generated from the same literals. A change to a rule, a template or a word list changes
# its digest: update the digest together with the data change, deliberately.
LITERAL_DIGESTS = {
    # draft.py
    "KIND_RULES": "5f1383067180f6b408d5559b0e457329903ddceb0bc5a59aa24ff9bed40ab5cb",
    "FORMAT_RULES": "d71642af24d2d947893ce914bdef26e48fa9269a409aed83c4d77b034d2424a2",
    "WORDING_WARNINGS": "e8729fa3a88b260e5e392895bd0fe6f3f8cacfb2b9d3b1d98ca4cb2248a9385b",
    "RULE_LINK_DR": "75fbc0943bbefc3cfb27d8a5dc571fde087065c7f3ffac05f614c8e2b6f51679",
    "RULE_LINK_MG": "44dd1973248efe3b49ba90d909b18cc12b52fb73cbc88a5c52b06c35532bf86e",
    "RULE_CONSISTENT": "5511048b149a0eb8c8219e26727caadd22fd1f876f7dfdaeebd0077e905cc867",
    "SPECIALTY_THEMES": "96cb176ad79506bf2626b9c8393ac7985d7d80d58d6e238ed49699a60d692c49",
    "KIND_SPECS": "7eacbad7a1e3abe116da942c1d402d3d8031955c5d792bf268d92feec67dbaca",
    "DEFAULT_LEADS": "b84563dcb6c13fcd6e5e41c917681fb55e4a60b064e98c386d6fbf1f3e7e4893",
    "DEFAULT_PLACEHOLDERS": "cb1a9c544352486982d9cc8bb37381787b7d01c975a255e4247b77166d39948f",
    "DEFAULT_QUESTIONS": "570ec6a277e81c18aa2d2cae456f4202bde9cf99f166bd3a48e08f657c96a403",
    "RESPONSIBILITY": "2ee26886b0953ac11897e646424b98fc9a0a82c12802a2f8cc64ff2a57727ba2",
    "DEFAULT_OPENER": "01363a6525f0639c8e9348d38fcd06ce6f9c4bd7dc1e934715c20d1ba052449f",
    "DEFAULT_CLOSER": "d94e387ef2da5231db3f3be07cdf75e8c4854b3893fb498f177486037b11717f",
    "TEMPLATE_VOCABULARY": "deac17374dad3ae2b0255eb32e3f8366ab3d656825f78541b969ea82dad3480b",
    # audit.py
    "WHY": "68ad81091ecb3b6299ed1006822f8c327f77c2712e6d2be9890ebcfa8c823969",
    "STRENGTHS_FOR": "edef2df6cf81ad50e29f8666251d037498182ca850e17561d154281ecf40ed73",
    "PROFILE_STRENGTHS": "2f04e4fecf1a50773d84eca3eff997ab7a5d2fe838788b95603a935da0e4eb4f",
    "BAND_RULES": "1f6b25229c3869036a88e6558dec42c54c0a74c497d76ff8c5a6496e5ca11e86",
    "CONSIDERATION_RULES": "dfe4cebb9657e2a97273df56fee1e2dc9714e33af1bdbc931ce6bb44bc88b57b",
    "DRAFT_KIND": "0a008a18be611c7fb5a5ddbac63cddc805f41a77d60ab826b1f06e960f686b1c",
    "EXAM_ALIASES": "4c3314ca290d73251e0f385e07ecf391c7801fb6c95e52921ab966466a6886e4",
    "EXAM_NAMES": "0db283940d385ae81228fcbb59d071ca514435b8a1d507e0c14409213894c939",
    "FORMAT_LABELS": "8be52d975aeb2ff5898e5268ad95660dafd51a10a536e7180986bb2dae351582",
    "GENETICS_RX": "d5a4acef925a6cc6b46e3d272647094a07cd7f54e81d44c7eb66ad9d52b16e2a",
    "RADIOLOGY_RX": "29f61aa21adf04cc82b3a6953bfc7b1006d70b9f2ed749df06c71d1fdb4f082b",
    "GENETICS_ADJACENT_RX": "9a84bdf2afb80e51871a9da756ba5866eca93146735c6d76a15b42eb63edf849",
    # factguard.py
    "NUMBER_WORDS": "25da1e38109b9386f7dd3ae2fed13b5d1ec1a88b4a8529def781b8b2f5a6359f",
    "_AMBIGUOUS_NUMBER_WORDS": "c631d7f4a75fc5baa4d5e3af1af1cc1ca0d146654bd880534759392849a594bc",
    "MONTHS": "5212d09e8dce9c4ba6caf2f9b7202744eefe809f96b5ba69de07cbae805c24c1",
    "_MONTH_COMMON_WORDS": "8bbf76941dd171e6f1cbef02332f70d82d2dc59fa6c162db4ab40b324156e9d9",
    "WEEKDAYS": "214bea74b9ff5a1a366897b7a2dc2828e617c68ceb58da5ae22961a187cbcecd",
    "SEASONS": "d7789dc8925e42aeb0491826d20ce2bc57829187e3d4f1419a392f8c4229225d",
    "TIME_UNITS": "5cb861ea405f5dc7159e1d77ad780af0abd9d82da0926b4f81cbbaf2556ecd47",
    "QUANTITY_WORDS": "468e127cea9e20d9749711b66bd57f08511179b6fbdd652a6a72bdf162fa0097",
    "EXPERIENCE_TERMS": "b874091bf9f5e847424961da4ac81d02a0a9b23fe13049cabf0bbbed26991119",
    "_EXPERIENCE_RES": "8e9c62d04773ae11583e8f4710f0fd6935d318dc87280ebb798fb9a4f2ebf59d",
    "COMMON_WORDS": "a0d78a35b7766e7e01290a1c8c182debc920aa8ee6ff2628a8f2fc30709a4f1b",
    "_NAME_CONNECTORS": "98648f227db480ce9b48c4f55b07359add06bd89fefa40adc0dea5fdb45b3612",
    "_TITLES": "0bcbb31b64c9aaab3b919c574b84e8e2697040ec60224e811fd208c195b5259a",
    "_INSTITUTION_WORDS": "09cd16d32a1871f2df1cef93b39506abd18589d48716e6ea6944fd76df485264",
    "_STOPWORDS": "6476d3d5af39741d88b0f5b418b589a05e4c3a62c99dd98c8fa5ee493417b40c",
}


def loaded_tables() -> dict:
    """Each old literal's counterpart, as loaded from the data files today."""
    dr, t, ar, lx = draft_rules(), templates(), audit_rules(), lexicon()
    mg, rad = ar.related["medical-genetics"], ar.related["radiology"]
    return {
        "KIND_RULES": dr.kinds, "FORMAT_RULES": dr.formats, "WORDING_WARNINGS": dr.wording_warnings,
        "RULE_LINK_DR": dr.link["radiology"], "RULE_LINK_MG": dr.link["medical-genetics"], "RULE_CONSISTENT": dr.consistency,
        "SPECIALTY_THEMES": t.themes, "KIND_SPECS": kind_specs(), "DEFAULT_LEADS": t.leads, "DEFAULT_PLACEHOLDERS": t.placeholders,
        "DEFAULT_QUESTIONS": t.questions, "RESPONSIBILITY": t.responsibility, "DEFAULT_OPENER": t.opener, "DEFAULT_CLOSER": t.closer,
        "TEMPLATE_VOCABULARY": template_vocabulary(),
        "WHY": ar.why, "STRENGTHS_FOR": ar.strengths, "PROFILE_STRENGTHS": ar.profile_strengths,
        "BAND_RULES": ar.score_bands["medical-genetics"].bands, "CONSIDERATION_RULES": ar.considerations, "DRAFT_KIND": ar.draft_kind,
        "EXAM_ALIASES": ar.exam_aliases, "EXAM_NAMES": ar.exam_names, "FORMAT_LABELS": ar.format_labels,
        "GENETICS_RX": mg[0], "RADIOLOGY_RX": rad[0], "GENETICS_ADJACENT_RX": mg[1],
        "NUMBER_WORDS": lx.number_words, "_AMBIGUOUS_NUMBER_WORDS": lx.ambiguous_number_words, "MONTHS": lx.months,
        "_MONTH_COMMON_WORDS": lx.month_common_words, "WEEKDAYS": lx.weekdays, "SEASONS": lx.seasons, "TIME_UNITS": lx.time_units,
        "QUANTITY_WORDS": lx.quantity_words, "EXPERIENCE_TERMS": lx.experience_terms, "_EXPERIENCE_RES": lx.experience_res,
        "COMMON_WORDS": lx.common_words, "_NAME_CONNECTORS": lx.name_connectors, "_TITLES": lx.titles,
        "_INSTITUTION_WORDS": lx.institution_words, "_STOPWORDS": lx.stopwords,
    }


@pytest.mark.parametrize("name", sorted(LITERAL_DIGESTS))
def test_loaded_table_equals_the_literal_it_replaced(name):
    assert digest(loaded_tables()[name]) == LITERAL_DIGESTS[name]


def test_step2_thresholds_equal_the_literal_they_replaced():
    bands = audit_rules().score_bands["medical-genetics"]
    assert (bands.bands[0][1], bands.competitive, bands.lowest) == (245, 235, 220)  # STEP2_BANDS at the move


#: Names the modules had before the split and the move to data, by module: the tables are reached through
#: their accessors (draft_rules(), kind_specs(), templates(), audit_rules(), lexicon()) and the rest where they live now.
OLD_NAMES = {
    "draft": ("KIND_RULES", "FORMAT_RULES", "WORDING_WARNINGS", "RULE_CONSISTENT", "KIND_SPECS", "SPECIALTY_NAMES", "RULE_LINK_DR",
              "RULE_LINK_MG", "LENGTH_BOUNDS", "load_facts", "PLACEHOLDER_RE", "evaluate_draft_file", "_norm_for_match", "_template_strings"),
    "rules": ("KIND_RULES", "FORMAT_RULES", "WORDING_WARNINGS", "RULE_CONSISTENT", "LINK_RULES"),
    "templates": ("KIND_SPECS", "TEMPLATE_VOCABULARY", "SPECIALTY_THEMES", "DEFAULT_LEADS", "DEFAULT_PLACEHOLDERS", "DEFAULT_QUESTIONS",
                  "RESPONSIBILITY", "DEFAULT_OPENER", "DEFAULT_CLOSER"),
    "audit": ("WHY", "STRENGTHS_FOR", "PROFILE_STRENGTHS", "BAND_RULES", "CONSIDERATION_RULES", "DRAFT_KIND", "EXAM_ALIASES",
              "EXAM_NAMES", "FORMAT_LABELS"),
    "factguard": ("NUMBER_WORDS", "MONTHS", "WEEKDAYS", "SEASONS", "TIME_UNITS", "QUANTITY_WORDS", "EXPERIENCE_TERMS",
                  "COMMON_WORDS", "_EXPERIENCE_RES"),
}


def test_old_names_no_longer_resolve():
    import importlib

    for module, names in OLD_NAMES.items():
        m = importlib.import_module(f"assistant.writing.{module}")
        assert not hasattr(m, "__getattr__"), module  # no module-level fallback for old names
        for name in names:
            with pytest.raises(AttributeError):
                getattr(m, name)
    D = importlib.import_module("assistant.writing.draft")
    with pytest.raises(AttributeError):
        D.NO_SUCH_NAME
    # The accessors hand out the one loaded table (callers and tests may rely on its identity).
    assert draft_rules() is draft_rules() and kind_specs() is kind_specs() and audit_rules() is audit_rules() and lexicon() is lexicon()


# --------------------------------------------------------------------------- a bad data file is a one-line error


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A copy of assistant/data/writing that the test may break; the real tables are reloaded afterwards."""
    folder = tmp_path / "writing"
    shutil.copytree(datafiles.DATA_DIR, folder)
    monkeypatch.setattr(datafiles, "DATA_DIR", folder)
    datafiles.reset()
    yield folder
    datafiles.reset()


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize("name, breaks, load", [
    ("draft_rules.json", lambda p: p.write_text("{", encoding="utf-8"), draft_rules),
    ("draft_rules.json", lambda p: _edit(p, lambda d: d["kinds"]["gap"].append("no-such-rule")), draft_rules),
    ("templates.json", lambda p: _edit(p, lambda d: d["kinds"].pop("visa")), templates),
    ("templates.json", lambda p: _edit(p, lambda d: d["kinds"]["gap"].update(link="residency in {specialty}")), templates),
    ("audit_rules.json", lambda p: p.unlink(), audit_rules),
    ("audit_rules.json", lambda p: _edit(p, lambda d: d["why"]["gap"][0].pop("quote")), audit_rules),
    ("lexicon.json", lambda p: _edit(p, lambda d: d["experience_terms"].update(bad="(unclosed")), lexicon),
    ("lexicon.json", lambda p: p.write_bytes(b"\xff\xfe\x00"), lexicon),
])
def test_a_bad_data_file_is_a_one_line_error_naming_it(data_copy, name, breaks, load):
    breaks(data_copy / name)
    with pytest.raises(InputError) as err:
        load()
    message = str(err.value)
    assert name in message and "\n" not in message and len(message) < 400


def test_a_bad_data_file_stops_a_draft_with_that_one_line(data_copy):
    (data_copy / "templates.json").write_text("[]", encoding="utf-8")
    with pytest.raises(InputError, match="templates.json"):
        draft({"kind": "gap", "specialty": "radiology", "what": "I was away from medicine."}, with_advice=False, llm="extractive")


# --------------------------------------------------------------------------- a third specialty, through the data files alone


@pytest.fixture
def with_pediatrics(tmp_path, monkeypatch):
    """The packaged vocabulary plus a pediatrics entry, through ADVISOR_DOMAIN_FILE (no code change, no writing rules)."""
    from assistant import domain

    data = json.loads((domain.DATA_DIR / "domain.json").read_text(encoding="utf-8"))
    data["specialties"]["pediatrics"] = {
        "name": "Pediatrics", "aliases": ["paediatrics", "peds"], "question_words": ["pediatrics", "pediatric", "pediatrician"],
        "pattern": "p(?:a)?ediatrics?", "guide_keys": ["pediatrics"],
    }
    data["other_specialties"].pop("pediatrics", None)
    path = tmp_path / "domain.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setenv("ADVISOR_DOMAIN_FILE", str(path))
    domain.load.cache_clear()
    yield
    domain.load.cache_clear()


GAP_FACTS = {
    "kind": "gap", "specialty": "Paediatrics", "audience": "non-us-img", "format": "personal-statement",
    "what": "I was away from clinical medicine from 2019 to 2021 to care for my father.",
    "changes": "During that time I completed an online course in child development and volunteered at a community clinic.",
    "evidence": "I now work as a research assistant in a children's hospital.",
}


def test_a_third_specialty_from_the_data_alone_can_be_drafted_for(with_pediatrics):
    result = draft(GAP_FACTS, with_advice=False, llm="extractive")
    assert result.specialty == "pediatrics"  # the alias was accepted
    assert f"residency in pediatrics, {theme('pediatrics')}" in result.text and theme("pediatrics") == templates().general_theme
    assert result.checklist and all(item["source"] and item["quote"] for item in result.checklist)
    rules = rules_for(parse_facts(GAP_FACTS))
    assert rules and all(r.specialty is None for r in rules)  # the general rules only
    for kind in kind_specs():
        facts = parse_facts({"kind": kind, "specialty": "pediatrics", "what": "I want to explain one part of my record plainly."})
        comp = compose(facts)
        assert check(comp.text, facts.texts(), comp.vocabulary).ok
        if facts.effective_format != "eras-additional-info":
            assert "pediatrics" in comp.text


def test_a_third_specialty_from_the_data_alone_can_be_audited(with_pediatrics):
    profile = {
        "audience": "non-us-img", "specialty": "pediatrics", "graduation_year": 2015, "as_of": "2024-09",
        "exams": [{"exam": "step1", "result": "fail"}, {"exam": "step1", "result": "pass"}, {"exam": "step2ck", "result": "pass", "score": 210}],
        "us_clinical_experience": [{"type": "observership", "specialty": "internal medicine", "months": 2, "letter": True}],
    }
    result = audit(profile, with_citations=False)
    assert result.specialty == "pediatrics"
    ids = result.flag_ids
    assert {"exam-failure:step1", "older-graduation", "limited-exposure"} <= set(ids)
    assert "low-score:step2ck" not in ids  # the guides give no Step 2 CK bands for pediatrics
    assert any(f.title == "No documented pediatrics exposure" for f in result.flags)
    assert all(r.specialty is None for f in result.flags for r in f.why + f.strengths)
    assert result.score_bands["bands"] == [] and "pediatrics" in result.score_bands["note"]
    from rich.console import Console

    out = io.StringIO()
    from assistant.writing import render

    render(result, Console(file=out, width=160, color_system=None))
    assert "Application audit: pediatrics, non-us-img" in out.getvalue()
    profile["us_clinical_experience"][0]["specialty"] = "pediatric hospital medicine"
    assert "limited-exposure" not in audit(profile, with_citations=False).flag_ids


def test_an_unknown_specialty_error_lists_the_vocabulary(with_pediatrics):
    with pytest.raises(InputError) as err:
        parse_facts({"kind": "gap", "specialty": "cardiology", "what": "I was away."})
    assert str(err.value) == "invalid facts: 'specialty' must be 'medical-genetics', 'radiology' or 'pediatrics', got 'cardiology'"


# --------------------------------------------------------------------------- one sentence splitter, one normalizer


def test_writing_has_no_sentence_splitter_or_normalizer_of_its_own():
    import assistant.text as T
    from assistant.writing import compose as C
    from assistant.writing import factguard as G

    assert C.split_sentences is T.split_sentences and C.normalize is T.normalize and G.normalize is T.normalize
    for path in WRITING_DIR.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*def (split_sentences|normalize)\b", source, re.M), path.name


def test_drafting_keeps_an_abbreviation_inside_its_sentence():
    sentence = "I trained as a U.S. MD graduate."
    from assistant.text import split_sentences

    assert split_sentences(tidy_applicant_text(sentence)) == [sentence]
    assert split_sentences(tidy_applicant_text("i trained as a U.S. MD graduate")) == [sentence]
    facts = {"kind": "study-abroad", "specialty": "radiology", "format": "personal-statement",
             "what": f"{sentence} I then chose to study medicine abroad because it let me start early.",
             "context": "My family had moved overseas when I was in high school."}
    result = draft(facts, with_advice=False, llm="extractive")
    assert sentence in result.text and not result.trimmed
