"""Matching an applicant's own numbers to the guide statement whose band, range or condition fits.

Three parts, each with cases that must fail when the code is wrong:
- reading an applicant's numbers from a question as typed (and from a profile);
- reading the numeric conditions of guide sentences: every band/condition in the
  shipped guides (read from corpus/), and guide text this file writes itself;
- matching, with the reader-facing phrase.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assistant.answering import ApplicantNumbers, Condition, applicant_numbers, conditions, from_profile, matching, merged

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 3, 1)


def nums(question: str) -> dict:
    """The stated facts only (None fields dropped), for short asserts."""
    n = applicant_numbers(question, today=TODAY)
    return {k: v for k, v in n.__dict__.items() if v is not None}


# ----------------------------------------------------------------------------- the applicant's numbers


@pytest.mark.parametrize("question, expected", [
    ("238 on step 2", {"step2_score": 238}),
    ("step2 ck 232", {"step2_score": 232}),
    ("my ck was 241", {"step2_score": 241}),
    ("scored 229 on step 2 ck", {"step2_score": 229}),
    ("stpe 2 ck 250 is it enough??", {"step2_score": 250}),
    ("my step 2 score is 219", {"step2_score": 219}),
    ("failed step 1 twice", {"step1_failures": 2, "step1_attempts": 2}),
    ("2 attempts at step 1", {"step1_attempts": 2}),
    ("took step 1 three times", {"step1_attempts": 3}),
    ("passed step 1 on my third attempt", {"step1_passed": True, "step1_attempts": 3, "step1_failures": 2}),
    ("step 1 pass", {"step1_passed": True}),
    ("i have 2 step 1 attempts", {"step1_attempts": 2}),
    ("step 1 first attempt pass", {"step1_passed": True, "step1_attempts": 1, "step1_failures": 0}),
    ("step 2: 240. step 1: fail x2 then pass", {"step2_score": 240, "step1_passed": True, "step1_attempts": 3, "step1_failures": 2}),
    ("graduated 2019", {"graduation_year": 2019, "years_since_graduation": 7}),
    ("yog 2018", {"graduation_year": 2018, "years_since_graduation": 8}),
    ("class of 2017", {"graduation_year": 2017, "years_since_graduation": 9}),
    ("i graduated in 2016 from a school in india", {"graduation_year": 2016, "years_since_graduation": 10}),
    ("graduated 5 years ago", {"years_since_graduation": 5}),
    ("its been five years since graduation", {"years_since_graduation": 5}),
    ("i have a 2 year gap", {"gap_months": 24}),
    ("18 month gap after med school", {"gap_months": 18}),
    ("gap of 3 years", {"gap_months": 36}),
    ("a gap of 1 year and 6 months", {"gap_months": 18}),
    ("i need a visa", {"needs_visa": True}),
    ("need h1b", {"needs_visa": True}),
    ("is j-1 ok for genetics", {"needs_visa": True}),
    ("us citizen here", {"needs_visa": False}),
    ("i don't need a visa, i have a green card", {"needs_visa": False}),
])
def test_question_numbers(question, expected):
    assert nums(question) == expected


def test_long_story_with_typos():
    q = ("hi, so i graduated in 2019 from a med school in egypt, i failed step 1 once but passed on the second attempt, "
         "then got 245 on ck. i had an 18-month gap bc of family stuff and i need a visa (j1 probably). "
         "is 245 enough for medical genetics??")
    n = applicant_numbers(q, today=TODAY)
    assert n == ApplicantNumbers(step2_score=245, step1_passed=True, step1_attempts=2, step1_failures=1,
                                 graduation_year=2019, years_since_graduation=7, gap_months=18, needs_visa=True)


@pytest.mark.parametrize("question", [
    "graduated 2019, what score do i need on step 2?",  # a year is not a score
    "i took step 2 ck in 2021",  # nor is the year of the exam
    "step 1 is pass/fail now so does step 2 matter more",  # Step 1 pass/fail text gives no CK score
    "step 1 230 and i have not taken step 2 yet",  # a Step 1 score is not a CK score
    "i scored 238, is that good?",  # a number with no Step mention
    "step 2 ck 310",  # outside 1-300
    "step 2 ck in 3 weeks and 240 hours of research",  # durations and counts are not scores
    "a 2 year gap before step 2",
])
def test_no_ck_score(question):
    assert applicant_numbers(question, today=TODAY).step2_score is None


def test_score_is_not_a_year_and_step1_score_is_not_ck():
    n = applicant_numbers("step 1 230, step 2 ck 245, yog 2018", today=TODAY)
    assert (n.step2_score, n.graduation_year) == (245, 2018)
    assert applicant_numbers("238 on step 2", today=TODAY).graduation_year is None


def test_pass_fail_format_is_not_a_result_and_failures_are_not_a_pass():
    assert nums("step 1 is pass/fail now") == {}
    assert applicant_numbers("failed step 1 twice", today=TODAY).step1_passed is None
    n = applicant_numbers("i failed step 1 and passed step 2 ck with 240", today=TODAY)
    assert (n.step1_failures, n.step1_passed, n.step2_score) == (1, None, 240)


@pytest.mark.parametrize("question", ["how do i pass step 1", "what if i fail step 1", "i haven't passed step 1 yet",
                                      "never failed step 1"])
def test_no_step1_result_from_questions_and_negations(question):
    n = applicant_numbers(question, today=TODAY)
    assert (n.step1_passed, n.step1_failures, n.step1_attempts) == (None, None, None)


def test_years_since_graduation_counts_from_today():
    assert applicant_numbers("graduated 2019", today=date(2030, 1, 1)).years_since_graduation == 11
    assert applicant_numbers("graduated 2019").years_since_graduation == date.today().year - 2019


def test_visa_negatives():
    assert applicant_numbers("do programs prefer us citizens?").needs_visa is None
    assert applicant_numbers("non-us citizen img, green card holder").needs_visa is False
    assert applicant_numbers("as a non-us citizen img what score do i need").needs_visa is None


def _profile(**over):
    from assistant.writing.profile import parse_profile

    data = {
        "audience": "non-us-img", "specialty": "medical-genetics", "graduation_year": 2015, "as_of": "2024-09",
        "exams": [{"exam": "step1", "result": "fail"}, {"exam": "step1", "result": "pass"},
                  {"exam": "step2ck", "result": "pass", "score": 212}],
        "gaps": [{"start": "2016-03", "end": "2018-06"}, {"start": "2024-01"}],
        "visa": {"needs_sponsorship": True},
    }
    data.update(over)
    return parse_profile(data)


def test_from_profile():
    n = from_profile(_profile())
    assert n == ApplicantNumbers(step2_score=212, step2_attempts=1, step1_passed=True, step1_attempts=2, step1_failures=1,
                                 graduation_year=2015, years_since_graduation=9, gap_months=27, needs_visa=True)
    us = from_profile(_profile(audience="us-img", visa=None, exams=[], gaps=[]))
    assert (us.needs_visa, us.step2_score, us.step1_attempts, us.gap_months) == (False, None, None, None)


def test_merged_question_wins_whole_fact():
    profile = from_profile(_profile())
    q = applicant_numbers("i got 238 on step 2 and graduated 3 years ago", today=TODAY)
    m = merged(q, profile)
    assert m.step2_score == 238  # the question's own fact wins
    assert (m.graduation_year, m.years_since_graduation) == (None, 3)  # year and years-since travel together
    assert (m.step1_attempts, m.gap_months, m.needs_visa) == (2, 27, True)  # the rest from the profile
    assert merged(ApplicantNumbers(), profile) == profile


# ----------------------------------------------------------------------------- the guides' conditions


def _corpus_line(name: str, needle: str) -> tuple[str, str]:
    """The list item or sentence of a shipped guide containing ``needle``, and its list lead-in."""
    lead = ""
    for raw in (ROOT / "corpus" / name).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        item = line[:1] in "-•*"
        if needle in line:
            return line.lstrip("-•* "), (lead if item else "")
        if not item:
            lead = line if line.endswith(":") else ""
    raise AssertionError(f"{needle!r} is no longer in corpus/{name}")


SCORES = "non-us-img-medical-genetics-step-scores.txt"
LOW = "img-medical-genetics-low-step-scores.txt"
RAD = "non-us-img-radiology-red-flags.txt"
USRF = "us-img-medical-genetics-red-flags.txt"

# Every band or condition on the applicant's numbers in the shipped guides: (guide, line, quantity, band).
SHIPPED = [
    (SCORES, "assign a minimum score (for example, 230)", "step2_score", "≥230"),
    (SCORES, "Very competitive IMGs for medical genetics: Step 2 CK ≥ 245–250+", "step2_score", "≥245"),
    (SCORES, "Solidly competitive IMGs: Step 2 CK ~235–245", "step2_score", "~235–245"),
    (SCORES, "especially with visa needs: Step 2 CK ~220–235", "step2_score", "~220–235"),
    (SCORES, "Below 220: You will benefit from:", "step2_score", "<220"),
    (SCORES, "≥245: Strongly competitive for many programs", "step2_score", "≥245"),
    (SCORES, "235–245: Realistic chance at many programs", "step2_score", "235–245"),
    (SCORES, "220–235: Still possible", "step2_score", "220–235"),
    (RAD, "How should I explain a 1–2 year gap after graduation", "gap_months", "1–2 years"),
    (USRF, "Gaps > 3 months", "gap_months", ">3 months"),
]


@pytest.mark.parametrize("guide, needle, quantity, band", SHIPPED, ids=[s[1][:40] for s in SHIPPED])
def test_every_shipped_band_is_parsed(guide, needle, quantity, band):
    text, lead = _corpus_line(guide, needle)
    found = [(c.quantity, c.band) for c in conditions(text, lead)]
    assert (quantity, band) in found, found


def test_band_item_under_a_lead_in_about_scores_is_a_score():
    text, lead = _corpus_line(SCORES, "235–245: Realistic chance")
    assert lead == "Aim for as high as possible, but as a general guide:"
    (c,) = conditions(text, lead)
    assert (c.quantity, c.low, c.high) == ("step2_score", 235, 245)


@pytest.mark.parametrize("guide, needle", [
    (RAD, "arriving 15–20 minutes early"),  # minutes
    (RAD, "often 80–120+ radiology programs"),  # a count of programs
    (RAD, "Highlight recent (last 1–2 years)"),  # under "How to Address an Older YOG:", but about experience
    ("us-img-medical-genetics-program-research.txt", "2–3 years pediatrics followed by 2–3 years genetics"),  # training length
    (SCORES, "NBME practice exams (2–3 forms minimum)"),
    (SCORES, "A candidate with a 235 Step 2 CK and strong genetics research"),  # "a 235 Step 2 CK" is a fact
])
def test_shipped_numbers_that_are_not_about_the_applicant(guide, needle):
    text, lead = _corpus_line(guide, needle)
    assert [c for c in conditions(text, lead) if c.quantity in ("step2_score", "years_since_graduation", "gap_months")
            and c.band != "≥250"] == []


def test_no_condition_from_step_names_years_or_bare_numbers():
    assert conditions("After graduating in 2019, I spent 18 months focused on USMLE preparation.") == []
    assert conditions("Step 1 (Pass/Fail, attempts) and Step 2 CK (numeric score, attempts)") == []
    assert conditions("These changes led to a 240 on Step 2 CK.") == []
    assert conditions("You may need a J-1 or H-1B visa.") == []


def one(sentence: str, lead_in: str = "") -> Condition:
    (c,) = conditions(sentence, lead_in)
    return c


@pytest.mark.parametrize("sentence, lead_in, quantity, low, high", [
    ("Step 2 CK 250+ is competitive for pediatrics.", "", "step2_score", 250, None),
    ("If you graduated more than 7 years ago, expect questions.", "", "years_since_graduation", 7, None),
    ("Below 215: consider a preliminary year.", "", "step2_score", None, 215),
    ("Many programs want applicants within 3–5 years of graduation.", "", "years_since_graduation", None, 5),
    ("Most programs prefer a YOG 2015 or later.", "", "graduation_year", 2015, None),
    ("A Step 2 CK of 240 or higher opens most doors.", "", "step2_score", 240, None),
    ("Applicants scoring under 210 on Step 2 CK rarely interview.", "", "step2_score", None, 210),
    ("Explain any gap longer than 6 months.", "", "gap_months", 6, None),
    ("Programs screen out applicants with more than two attempts at Step 2 CK.", "", "step2_attempts", 2, None),
    ("Older guidance asked for a Step 1 score of 230 or above.", "", "step1_score", 230, None),
    ("250 to 260: top academic programs", "Typical internal medicine Step 2 CK ranges:", "step2_score", 250, 260),
    ("235-245 is a solid range for family medicine.", "", "step2_score", 235, 245),
    (">=255 puts you in the top tier", "", "step2_score", 255, None),
    ("Within 2 years: most programs", "Year of graduation filters vary:", "years_since_graduation", None, 2),
    ("5+ years since graduation: you need recent USCE.", "", "years_since_graduation", 5, None),
    ("More than 12 months: explain it in your personal statement.", "If you have a gap:", "gap_months", 12, None),
    ("Graduates of 10 or more years are filtered by many programs.", "", "years_since_graduation", 10, None),
    ("A Step 2 CK between 230 and 240 is average for internal medicine.", "", "step2_score", 230, 240),
    ("Applicants who graduated before 2010 are rarely interviewed.", "", "graduation_year", None, 2010),
])
def test_own_guide_text(sentence, lead_in, quantity, low, high):
    c = one(sentence, lead_in)
    assert (c.quantity, c.low, c.high) == (quantity, low, high)


def test_strictness_and_units():
    below = one("below 215")
    assert below.contains(214) and not below.contains(215)
    at_least = one("≥245")
    assert at_least.contains(245) and not at_least.contains(244)
    gap = one("a 1–2 year gap after graduation")
    assert gap.quantity == "gap_months" and gap.contains(18) and not gap.contains(30)  # bounds in years, values in months
    assert one("within 6 months of graduation").contains(0) and not one("within 6 months of graduation").contains(1)


def test_and_is_a_range_only_after_between():
    assert conditions("230 and 240 are both fine scores") == []
    assert conditions("Do 2 and 3 more question banks") == []


def test_long_text_stays_fast():
    import time

    text = "Step 2 CK ≥ 245–250+ and within 3-5 years of graduation, gaps > 3 months. " * 2000
    start = time.perf_counter()
    assert len(conditions(text)) == 6000
    assert applicant_numbers("i got 238 on step 2 and a story " * 2000, today=TODAY).step2_score == 238
    assert time.perf_counter() - start < 5


def test_a_lone_band_item_is_a_score_by_magnitude_only():
    assert one("235–245: Realistic chance at many programs if the rest of your application is solid.").quantity == "step2_score"
    assert one("80–120: apply broadly").quantity is None
    assert one("2–3 years: a long but common path").quantity is None  # years of what? the text does not say


# ----------------------------------------------------------------------------- matching


BANDS = [
    {"text": "≥245: Strongly competitive for many programs.", "lead_in": "As a general guide:", "source": "a"},
    {"text": "235–245: Realistic chance at many programs if the rest of your application is solid.", "lead_in": "As a general guide:", "source": "a"},
    {"text": "220–235: Still possible, but apply broadly.", "lead_in": "As a general guide:", "source": "a"},
]


def test_238_is_in_235_245_and_not_in_220_235():
    ms = matching(ApplicantNumbers(step2_score=238), BANDS)
    assert [m.condition.band for m in ms] == ["235–245"]
    assert ms[0].phrase() == "Your 238 is in the guide's 235–245 band"
    assert ms[0].source == "a" and ms[0].lead_in == "As a general guide:"


def test_misses_on_request():
    ms = matching(ApplicantNumbers(step2_score=238), BANDS, include_misses=True)
    assert [(m.condition.band, m.fits) for m in ms] == [("≥245", False), ("235–245", True), ("220–235", False)]
    assert ms[2].phrase() == "Your 238 is outside the guide's 220–235 band"


def test_graduation_phrase():
    n = applicant_numbers("graduated 2019", today=TODAY)
    (m,) = matching(n, ["Programs often prefer applicants within 5 years of graduation."], include_misses=True)
    assert not m.fits
    assert m.phrase() == "Graduating in 2019 puts you 7 years out; the guide's condition: within 5 years of graduation"
    (m,) = matching(n, ["If you graduated more than 5 years ago, show recent clinical work."])
    assert m.phrase() == "Graduating in 2019 puts you 7 years out; the guide's condition: more than 5 years ago"


def test_guides_that_disagree_both_match():
    guides = [{"text": "Most programs want graduates within 2 years of graduation.", "source": "one"},
              {"text": "Many programs accept applicants within 4 years of graduation.", "source": "two"}]
    ms = matching(ApplicantNumbers(years_since_graduation=1), guides)
    assert [m.source for m in ms] == ["one", "two"]
    ms = matching(ApplicantNumbers(years_since_graduation=3), guides)
    assert [m.source for m in ms] == ["two"]


def test_numbers_not_known_or_other_quantity_never_match():
    assert matching(ApplicantNumbers(), BANDS) == []
    assert matching(ApplicantNumbers(step2_score=238), ["Older guidance asked for a Step 1 score of 230 or above."]) == []
    assert matching(ApplicantNumbers(step2_score=238), ["Explain any gap longer than 6 months."]) == []
    assert matching(ApplicantNumbers(graduation_year=2019, years_since_graduation=7), ["Apply to 2–3 years of programs."]) == []


def test_gap_attempts_and_year_phrases():
    n = ApplicantNumbers(gap_months=18, step1_attempts=3, graduation_year=2017)
    (gap,) = matching(n, ["Gaps > 3 months need an explanation."])
    assert gap.phrase() == "Your gap of 18 months; the guide's condition: > 3 months"
    (att,) = matching(n, ["Programs screen out more than two attempts at Step 1."])
    assert att.phrase() == "Your 3 attempts at Step 1; the guide's condition: more than two attempts"
    (yog,) = matching(n, ["Most programs prefer a YOG 2015 or later."])
    assert yog.phrase() == "Your graduation year is 2017; the guide's condition: 2015 or later"


def test_phrase_claims_no_more_than_number_and_range():
    for m in matching(ApplicantNumbers(step2_score=250), BANDS, include_misses=True):
        words = m.phrase().lower()
        assert "250" in words and m.condition.band in m.phrase()
        assert not any(w in words for w in ("competitive", "chance", "likely", "match", "should"))


def test_a_passage_string_keeps_list_lead_ins():
    passage = ("Target ranges for pediatrics:\n- 245–255: strong for most programs\n- 230–245: realistic\n"
               "How to explain gaps:\n- Keep it short.")
    (m,) = matching(ApplicantNumbers(step2_score=238), passage)
    assert (m.condition.band, m.lead_in, m.text) == ("230–245", "Target ranges for pediatrics:", "230–245: realistic")


def test_real_guide_units_from_chunking():
    """The shipped step-scores guide, split the way the index splits it, answers a typed question."""
    from assistant.ingestion.chunking import chunk_document, split_units
    from assistant.ingestion.corpus import load_document
    from assistant.schemas import Hit

    doc = load_document(ROOT / "corpus" / SCORES)
    hits = [Hit(c.chunk_id, c.source, c.title, c.section, c.text, 1.0, units=split_units(c.text, c.section))
            for c in chunk_document(doc)]
    ms = matching(applicant_numbers("got 238 on step 2 ck, need a visa", today=TODAY), hits)
    bands = sorted({m.condition.band for m in ms})
    assert bands == ["235–245", "~235–245", "≥230"], bands
    assert {m.source for m in ms} == {hits[0].source}
    assert "Your 238 is in the guide's 235–245 band" in [m.phrase() for m in ms]
    assert "Your 238 meets the guide's minimum of 230" in [m.phrase() for m in ms]


@pytest.mark.parametrize("question, score", [
    ("A program says 'no prior failures' and a 245 Step 2 minimum, and I don't meet that. Should I apply?", None),
    ("the average step 2 ck score is 245 for matched applicants, is that right?", None),
    ("my step 2 ck is 231, the average is 245", 231),
    ("the minimum is 230 and my step 2 ck is 228", 228),
])
def test_a_programs_or_the_guides_number_is_not_the_applicants(question, score):
    assert applicant_numbers(question).step2_score == score


def test_a_quoted_number_is_someones_words_not_the_guides_band():
    # a program's filter named as an example, and an example applicant's sentence
    assert conditions("Skip programs with explicit filters you do not meet (e.g., “no prior failures,” “Step 2 CK minimum 245”).") == []
    assert conditions('The guide\'s example: "I scored 221 on Step 2 CK and then did 12 months of research."') == []
    text, lead = _corpus_line(LOW, "“Step 2 CK minimum 245”")  # the shipped sentence of that shape
    assert [c for c in conditions(text, lead) if c.quantity == "step2_score"] == [], text
    # the same figures unquoted are conditions
    [c] = conditions("Some programs set a Step 2 CK minimum of 245.")
    assert (c.quantity, c.low, c.high) == ("step2_score", 245.0, None)
    [c] = conditions("235–249: Realistic at many community programs.", "Step 2 CK score bands:")
    assert (c.low, c.high) == (235.0, 249.0)
