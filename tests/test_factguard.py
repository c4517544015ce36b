"""Tests for assistant.writing.factguard: every invented number, date, name or institution is caught; real facts pass."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.errors import AdvisorError
from assistant.writing.factguard import FactGuardError, check, content_recall, enforce, key_facts, lost_facts

FACTS = [
    "I failed Step 1 on my first attempt in June 2021.",
    "I was working night shifts at Mercy Hospital in Lagos.",
    "I scored 245 on Step 2 CK after working with a tutor.",
    "I am willing to accept J-1 sponsorship.",
]
GOOD = (
    "I failed Step 1 on my first attempt in June 2021. At the time, I was working night shifts at Mercy Hospital in Lagos. "
    "Since then, I scored 245 on Step 2 CK after working with a tutor."
)


def kinds(text: str, facts=FACTS, vocabulary=()) -> dict[str, str]:
    return {v.token: v.kind for v in check(text, facts, vocabulary).violations}


def test_the_applicants_own_facts_pass():
    report = check(GOOD, FACTS)
    assert report.ok, report.summary()
    assert report.to_json() == []


def test_planted_invented_score_is_caught():
    report = check(GOOD.replace("245", "252"), FACTS)
    assert not report.ok
    assert [(v.kind, v.token) for v in report.violations] == [("number", "252")]
    assert "252" in report.violations[0].message and "252" in report.violations[0].context


def test_an_added_score_sentence_is_caught():
    assert kinds(GOOD + " My Step 1 score was 230.") == {"230": "number"}


@pytest.mark.parametrize(
    "text, token, kind",
    [
        ("I then rotated at Johns Hopkins Hospital.", "Johns", "proper-noun"),
        ("Dr. Patel supervised me.", "Dr", "name"),
        ("My mentor, Dr. Patel, supervised me.", "Patel", "name"),
        ("I studied with a UWorld subscription.", "UWorld", "acronym"),
        ("I completed the NBME forms.", "NBME", "acronym"),
        ("I moved to Boston.", "Boston", "proper-noun"),
    ],
)
def test_invented_names_and_institutions_are_caught(text, token, kind):
    found = kinds(text)
    assert found.get(token) == kind, found


def test_an_invented_institution_made_of_real_words_is_caught():
    facts = ["I trained at Mercy Hospital.", "I studied at Lagos University."]
    found = kinds("I trained at Mercy University.", facts)
    assert found == {"Mercy University": "institution"}
    assert check("I trained at Mercy Hospital and studied at Lagos University.", facts).ok


def test_invented_dates_are_caught():
    found = kinds("I failed Step 1 on my first attempt in March 2021.")
    assert found["March"] == "date"
    assert kinds("In the summer I took a break.") == {"summer": "date"}
    assert kinds("On Monday I started again.")["Monday"] == "date"


def test_invented_durations_and_counts_are_caught():
    assert kinds("I spent a year preparing.") == {"year": "duration"}
    assert kinds("I took six months off.") == {"six": "number", "months": "duration"}
    assert kinds("After multiple attempts I passed.")["multiple"] == "quantity"
    assert kinds("I failed Step 1 twice.") == {"twice": "number"}


def test_a_real_number_moved_into_another_claim_is_caught():
    # "2" is real (Step 2 CK) but "second attempt" is a claim the facts never make.
    found = kinds("I passed Step 1 on my second attempt.")
    assert found["second"] == "number"
    # ... while the same number in its own claim passes.
    assert check("My score on Step 2 CK was 245.", FACTS).ok


def test_visa_types_must_match_exactly():
    assert check("I am willing to accept J-1 sponsorship.", FACTS).ok
    assert kinds("I am willing to accept H-1B sponsorship.") == {"H-1B": "number"}


def test_invented_experiences_and_outcomes_are_caught():
    found = kinds("I passed an observership and published a paper.")
    assert {found.get("passed"), found.get("observership"), found.get("published"), found.get("paper")} == {"experience"}
    # The caller's vocabulary (its own connecting words) may license ordinary experience words, never numbers.
    assert check("I will bring this to residency.", FACTS, vocabulary={"residency"}).ok
    assert not check("I will bring this to residency in 2025.", FACTS, vocabulary={"residency", "2025"}).ok


def test_placeholders_are_not_facts():
    assert check("I failed Step 1. [your Step 2 CK score, e.g. 250, and the date] [what you learned]", FACTS).ok


def test_ordinary_sentence_starts_and_lowercase_names_in_facts_pass():
    assert check("Looking back, the night shifts were hard. Since then, I scored 245 on Step 2 CK.", FACTS).ok
    assert check("Lagos taught me a lot.", ["I lived in lagos."]).ok
    assert not check("Harvard taught me a lot.", FACTS).ok


def test_enforce_raises_one_line_advisor_error():
    assert enforce(GOOD, FACTS) == GOOD
    with pytest.raises(FactGuardError) as err:
        enforce(GOOD.replace("245", "999") + " Dr. Smith agreed.", FACTS)
    assert isinstance(err.value, AdvisorError)
    msg = str(err.value)
    assert "\n" not in msg and "999" in msg and "Smith" in msg


def test_lost_facts_and_recall_detect_a_polish_that_drops_the_story():
    assert key_facts(GOOD) >= {"245", "2021", "june", "mercy", "hospital", "lagos", "step", "ck"}
    assert lost_facts(GOOD, GOOD) == []
    shorter = "I failed Step 1 in June 2021 while working nights in Lagos."
    assert set(lost_facts(shorter, GOOD)) == {"245", "2", "ck", "hospital", "mercy"}
    assert content_recall(GOOD, [GOOD]) == 1.0
    assert content_recall("I did my best.", [GOOD]) < 0.2


WORDS = st.sampled_from(
    ["I", "failed", "Step", "1", "in", "2021", "at", "Mercy", "Hospital", "of", "Lagos", "twice", "second", "year", "months",
     "June", "scored", "245", "J-1", "my", "the", "and", "passed", "Dr.", "Okafor", "USMLE", "three", "summer", "multiple"]
)
SENTENCES = st.lists(st.lists(WORDS, min_size=1, max_size=12).map(" ".join), min_size=1, max_size=4).map(lambda xs: ". ".join(xs) + ".")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SENTENCES)
def test_any_text_passes_against_itself(text):
    """Property: the guard never rejects facts the applicant gave verbatim (no false positives on copying)."""
    report = check(text, [text])
    assert report.ok, report.summary()


@settings(max_examples=100, deadline=None)
@given(SENTENCES, st.integers(min_value=100, max_value=299))
def test_any_new_three_digit_score_is_caught(text, score):
    """Property: appending an unseen score to a copied text always fails the guard."""
    if str(score) in text:
        return
    report = check(text + f" I scored {score}.", [text])
    assert any(v.kind == "number" and v.token == str(score) for v in report.violations)
