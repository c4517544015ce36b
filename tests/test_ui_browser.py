"""The web UI in a real browser: Debian's Chromium driven by Playwright against ``advisor serve``.

One ingested ADVISOR_HOME and one server per module; every test opens a fresh
page (a fresh conversation). Every wait has a timeout, and every page records
the hosts it contacts: nothing may leave 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

try:
    from tests.ui_server import CHROMIUM, CHROMIUM_ARGS, HOST, choose_upload, free_port, ingested_home, serve, server_log
except ImportError:  # pytest's rootdir-relative import of tests/
    from ui_server import CHROMIUM, CHROMIUM_ARGS, HOST, choose_upload, free_port, ingested_home, serve, server_log

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

playwright_api = pytest.importorskip("playwright.sync_api")

PROJECT_DIR = Path(__file__).resolve().parent.parent
SCREENSHOT = PROJECT_DIR / "docs" / "screenshot-chat.png"

WAIT = 30_000  # ms, ordinary UI updates
ANSWER_WAIT = 120_000  # ms, the first answer loads the embedding model
INGEST_WAIT = 180_000  # ms, embedding an uploaded guide

ZEBRAFISH = """Zebrafish Fellowship Pathway for IMGs

What is the Zebrafish Fellowship Pathway?
The Zebrafish Fellowship Pathway is a twelve-week research track in which international medical graduates study zebrafish models of inherited disease. Applicants to the Zebrafish Fellowship Pathway submit a one-page research proposal and a letter from a laboratory mentor. The Zebrafish Fellowship Pathway deadline is the first Monday of October.
"""

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=2">'
XSS_GUIDE = f"""Quokka Observership Guide {IMG}

How to apply to the Quokka Observership
The Quokka Observership accepts applications by mail. {SCRIPT} Applicants to the Quokka Observership include a cover letter. {IMG} The Quokka Observership lasts four weeks. ${{window.__xss=3}}
"""


@pytest.fixture(scope="module")
def home(built_home, tmp_path_factory) -> Path:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (make browser installs Debian's chromium)")
    return ingested_home(tmp_path_factory.mktemp("ui-browser-home"), built_home.cache_dir)


@pytest.fixture(scope="module")
def server(home) -> str:
    with serve(home) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield b
        finally:
            b.close()


class Page:
    """A fresh page on the app, recording contacted hosts, dialogs and page errors."""

    def __init__(self, browser, url: str):
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.context.set_default_timeout(WAIT)
        self.page = self.context.new_page()
        self.hosts: set[str] = set()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.hosts.add(re.sub(r"^[a-z]+://([^/]+).*$", r"\1", r.url) if "://" in r.url else r.url.split(":")[0]))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url + "/", timeout=60_000)
        self.page.wait_for_selector("#question textarea", timeout=60_000)

    def close(self) -> None:
        self.context.close()

    def external_hosts(self) -> set[str]:
        allowed = re.compile(rf"^(?:{re.escape(HOST)}(?::\d+)?|data|blob)$")
        return {h for h in self.hosts if not allowed.match(h)}

    # -- chat helpers

    def tab(self, name: str) -> None:
        self.page.get_by_role("tab", name=name, exact=True).click()

    def choose(self, elem_id: str, option: str) -> None:
        self.page.click(f"#{elem_id} input")
        self.page.get_by_role("option", name=option, exact=True).click()

    def ask(self, question: str) -> int:
        """Ask and wait for the finished answer (its sources or the abstention notice); returns the answer number."""
        answered = self.page.locator("#chatbot .answer-note").count()
        self.page.fill("#question textarea", question)
        self.page.click("#send")
        self.page.wait_for_function(
            f"() => document.querySelectorAll('#chatbot .answer-note').length > {answered} || document.querySelector('#chatbot .chat-error')",
            timeout=ANSWER_WAIT,
        )
        err = self.page.locator("#chatbot .chat-error")
        assert err.count() == 0, f"chat error: {err.first.inner_text()}"
        return answered + 1


@pytest.fixture
def page(browser, server, home):
    p = Page(browser, server)
    try:
        yield p
        assert not p.external_hosts(), f"the page contacted hosts off this machine: {p.external_hosts()}"
        assert not p.dialogs, f"a dialog opened: {p.dialogs}"
    finally:
        p.close()


def test_chat_answer_cites_and_opens_source(page, home, tmp_path):
    pg = page.page
    n = page.ask("I failed Step 1; can I still match into radiology?")
    links = pg.locator("#chatbot a.cite")
    assert links.count() >= 1, server_log(home)
    first = links.first
    assert re.fullmatch(r"\[\d+\]", first.inner_text().strip())
    target = first.get_attribute("href")
    assert target == f"#src-{n}-1"
    passage = pg.locator(f"#src-{n}-1 .passage")
    assert not passage.is_visible()  # collapsed until its marker is clicked
    first.click()
    pg.wait_for_function(f"() => document.getElementById('src-{n}-1').open === true", timeout=WAIT)
    assert passage.is_visible()
    text = passage.inner_text().strip()
    assert len(text) > 40
    summary = pg.locator(f"#src-{n}-1 summary").inner_text()
    assert "Guide" in summary or "guide" in summary  # the guide's title
    assert "Section:" in pg.locator(f"#src-{n}-1 .meta").inner_text()
    # the one-line note under the answer
    assert "advice" in pg.locator("#chatbot .answer-note").last.inner_text().lower()
    # the README's screenshot is refreshed only on request (UPDATE_SCREENSHOT=1), so test runs leave the tree clean
    shot = SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") == "1" else tmp_path / "screenshot-chat.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    pg.evaluate("() => window.scrollTo(0, 0)")
    pg.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000


def test_profile_switch_applies_to_next_answers(page):
    pg = page.page
    question = "How should I explain a failed exam attempt?"
    page.choose("audience", "US citizen IMG")
    page.choose("specialty", "Medical genetics")
    pg.wait_for_function("() => document.querySelector('#profile-line').innerText.includes('US citizen IMG')", timeout=WAIT)
    n1 = page.ask(question)
    first1 = pg.locator(f"#src-{n1}-1 summary").inner_text()
    assert "Medical Genetics" in first1, first1
    page.choose("audience", "Non-US citizen IMG")
    page.choose("specialty", "Diagnostic radiology")
    pg.wait_for_function("() => document.querySelector('#profile-line').innerText.includes('Non-US citizen IMG')", timeout=WAIT)
    n2 = page.ask(question)
    assert n2 == n1 + 1
    first2 = pg.locator(f"#src-{n2}-1 summary").inner_text()
    assert "Radiology" in first2, first2
    # earlier answers keep their own sources
    assert pg.locator(f"#src-{n1}-1").count() == 1
    # reset clears the conversation and the sources panel
    pg.click("#reset")
    pg.wait_for_function("() => document.querySelectorAll('#chatbot .answer-note').length === 0", timeout=WAIT)
    assert pg.locator("#sources-box details.src").count() == 0


def test_out_of_scope_question_shows_notice(page):
    pg = page.page
    page.ask("How do I bake sourdough bread at home?")
    assert pg.locator("#chatbot .abstained").first.is_visible()
    assert "don't cover" in pg.locator("#abstain-notice").inner_text()
    assert pg.locator("#chatbot a.cite").count() == 0


def test_example_question_fills_box(page):
    pg = page.page
    pg.locator("#examples").get_by_text("How should I explain a gap after graduation?").click()
    pg.wait_for_function("() => document.querySelector('#question textarea').value.includes('gap after graduation')", timeout=WAIT)


def test_draft_form_gives_draft_with_placeholders(page):
    pg = page.page
    page.tab("Draft")
    assert "extractive" in pg.locator("#backend-info").inner_text()
    assert "nothing you type leaves" in pg.locator("#backend-info").inner_text()
    page.choose("d-specialty", "Diagnostic radiology")
    pg.fill("#d-what textarea", "I failed Step 1 on my first attempt.")
    pg.fill("#d-changes textarea", "I now follow a structured study schedule with weekly practice tests.")
    pg.click("#d-go")
    pg.wait_for_function("() => document.querySelector('#d-text textarea').value.length > 40 || document.querySelector('#draft-error')", timeout=ANSWER_WAIT)
    assert pg.locator("#draft-error").count() == 0, pg.locator("#draft-error").inner_text()
    text = pg.input_value("#d-text textarea")
    assert "I failed Step 1 on my first attempt." in text
    assert "structured study schedule" in text
    placeholders = re.findall(r"\[[^\]]+\]", text)
    assert placeholders, text
    shown = pg.locator("#draft-placeholders").inner_text()
    assert placeholders[0] in shown
    assert pg.locator("#draft-questions li").count() >= 1
    # advice applied, with clickable sources
    assert pg.locator("#draft-advice li").count() >= 1
    link = pg.locator("#draft-advice a.cite").first
    target = link.get_attribute("href").lstrip("#")
    link.click()
    pg.wait_for_function(f"() => document.getElementById('{target}').open === true", timeout=WAIT)
    assert pg.locator(f"#{target} .passage").is_visible()
    # a copy button on the draft
    assert pg.locator("#d-text button").count() >= 1


def _upload(page: Page, path: Path) -> str:
    pg = page.page
    page.tab("Library")
    pg.wait_for_selector("#library-table", timeout=WAIT)
    choose_upload(pg, path, playwright_api.TimeoutError)
    pg.click("#add-guide")
    pg.wait_for_function(
        f"() => {{ const s = document.querySelector('#upload-status'); return s && (s.innerText.includes({path.name!r}) || s.innerText.includes('⚠')); }}",
        timeout=INGEST_WAIT,
    )
    status = pg.locator("#upload-status").inner_text()
    assert "Added" in status and path.name in status, status
    return status


def test_uploaded_guide_is_listed_and_cited(page, tmp_path):
    pg = page.page
    guide = tmp_path / "zebrafish-fellowship-pathway.txt"
    guide.write_text(ZEBRAFISH, encoding="utf-8")
    _upload(page, guide)
    pg.wait_for_function("() => document.querySelector('#library-table').innerText.includes('Zebrafish Fellowship Pathway for IMGs')", timeout=WAIT)
    page.tab("Chat")
    n = page.ask("What is the deadline of the Zebrafish Fellowship Pathway?")
    titles = pg.locator(f"#sources-box details[id^='src-{n}-'] summary").all_inner_texts()
    assert any("Zebrafish Fellowship Pathway" in t for t in titles), titles
    assert "October" in pg.locator("#chatbot").inner_text()
    # remove it again: gone from the table and the remove list
    page.tab("Library")
    page.choose("remove-choice", "Zebrafish Fellowship Pathway for IMGs (zebrafish-fellowship-pathway)")
    pg.click("#remove-guide")
    pg.wait_for_function("() => { const s = document.querySelector('#remove-status'); return s && s.innerText.includes('zebrafish'); }", timeout=INGEST_WAIT)
    assert "Removed zebrafish-fellowship-pathway" in pg.locator("#remove-status").inner_text()
    pg.wait_for_function("() => !document.querySelector('#library-table').innerText.includes('Zebrafish')", timeout=WAIT)


def test_uploaded_markup_is_shown_as_text(page, tmp_path):
    pg = page.page
    guide = tmp_path / "quokka-observership.txt"
    guide.write_text(XSS_GUIDE, encoding="utf-8")
    _upload(page, guide)
    pg.wait_for_function("() => document.querySelector('#library-table').innerText.includes('Quokka Observership Guide')", timeout=WAIT)
    assert IMG in pg.locator("#library-table").inner_text()  # the title, as text
    page.tab("Chat")
    n = page.ask("How do I apply to the Quokka Observership?")
    chat_text = pg.locator("#chatbot").inner_text()
    assert SCRIPT in chat_text, chat_text[-1500:]
    quokka = [i for i, t in enumerate(pg.locator(f"#sources-box details[id^='src-{n}-'] summary").all_inner_texts()) if "Quokka" in t]
    assert quokka
    src = pg.locator(f"#sources-box details[id^='src-{n}-']").nth(quokka[0])
    src.locator("summary").click()
    passage = src.locator(".passage").inner_text()
    assert SCRIPT in passage and IMG in passage and "${window.__xss=3}" in passage
    assert pg.evaluate("() => typeof window.__xss") == "undefined"
    assert pg.locator("img[src='x']").count() == 0
    assert pg.locator("#chatbot script, #sources-box script, #library-table script").count() == 0
    assert not page.errors, page.errors


def test_failed_backend_shows_one_line_error(browser, home, tmp_path):
    closed = free_port()  # nothing listens there: the OpenAI-compatible backend is unreachable
    with serve(home, "--llm", f"openai:test-model@http://{HOST}:{closed}/v1", log_dir=tmp_path) as url:
        p = Page(browser, url)
        try:
            assert "test-model" in p.page.locator("#backend-info").inner_text()
            p.page.fill("#question textarea", "I failed Step 1; can I still match into radiology?")
            p.page.click("#send")
            p.page.wait_for_selector("#chatbot .chat-error", timeout=ANSWER_WAIT)
            msg = p.page.locator("#chatbot .chat-error").inner_text()
            assert "Error" in msg and "Traceback" not in msg and len(msg.splitlines()) <= 2, msg
            assert "Traceback" not in p.page.locator("body").inner_text()
            assert not p.external_hosts()
        finally:
            p.close()


def test_evals_tab_shows_report_and_charts(browser, server, home):
    from assistant.evaluation.report import write_report

    p = Page(browser, server)
    try:
        p.tab("Evals")
        p.page.wait_for_selector("#no-report", timeout=WAIT)
        assert "No eval report yet" in p.page.locator("#no-report").inner_text()
    finally:
        p.close()
    report = {
        "created_at": "2030-01-01 00:00:00", "dataset": "evals/gold.jsonl", "cases": 3, "answerable": 2, "unanswerable": 1,
        "metrics": {"hit@5": 0.9, "mrr": 0.75, "ndcg@5": 0.8, "faithfulness": 1.0},
        "baseline": {"hit@5": 0.5, "mrr": 0.4, "ndcg@5": 0.45},
        "per_guide_hit@5": {"guide-a": 1.0, "guide-b": 0.8}, "per_guide_hit@5_baseline": {"guide-a": 0.5, "guide-b": 0.5},
        "latency_ms": {"retrieve": [10.0, 12.0, 30.0], "answer": [3.0, 4.0, 5.0]},
        "definitions": {"hit@5": "share of questions with the evidence in the top 5 <img src=x onerror=\"window.__xss=5\">"},
        "failing": [{"id": "q1", "question": "<script>window.__xss=6</script>", "problems": ["missing key facts"]}],
    }
    write_report(report, home / "reports")
    p = Page(browser, server)
    try:
        p.tab("Evals")
        p.page.wait_for_selector("#metrics-table", timeout=WAIT)
        table = p.page.locator("#metrics-table").inner_text()
        assert "hit@5" in table and "0.9" in table and "0.5" in table  # advisor vs baseline
        assert "<img src=x" in table  # a definition shown as text
        assert p.page.locator("#eval-report .chart img[src^='data:image/png']").count() >= 1
        p.page.get_by_text("Full report (report.md)").click()
        p.page.wait_for_function("() => (document.querySelector('#eval-md')?.innerText || '').includes('window.__xss=6')", timeout=WAIT)
        assert p.page.evaluate("() => typeof window.__xss") == "undefined"
        assert p.page.locator("img[src='x']").count() == 0
        assert not p.external_hosts()
    finally:
        p.close()


# --------------------------------------------------------------------------- the applicant's workspace (its own home and server)


def _last_answer(pg) -> str:
    """The text of the newest answer in the chat (the bot message that holds the newest note)."""
    return pg.evaluate(
        "() => { const n = [...document.querySelectorAll('#chatbot .answer-note')].pop();"
        " let m = n; while (m && !(m.matches && m.matches('[data-testid=bot], .message.bot, .bot'))) m = m.parentElement;"
        " return (m || n.parentElement).innerText; }"
    )


def _pick(pg, elem_id: str, text: str) -> None:
    """Choose the dropdown option whose label contains ``text`` (labels carry dates)."""
    pg.click(f"#{elem_id} input")
    pg.get_by_role("option").filter(has_text=text).first.click()


def _wait_value(pg, selector: str, needle: str) -> None:
    pg.wait_for_function(f"() => (document.querySelector({selector!r})?.value || '').includes({needle!r})", timeout=WAIT)


def test_workspace_profile_chat_draft_survive_reload_and_restart(browser, built_home, tmp_path):
    """Fill the profile once; after a reload the answers use it and the Draft tab starts from it; a restart keeps everything."""
    home = ingested_home(tmp_path / "ws-home", built_home.cache_dir)
    with serve(home, log_dir=tmp_path) as url:
        p = Page(browser, url)
        try:
            pg = p.page
            p.tab("My profile")
            p.choose("p-audience", "Non-US citizen IMG")
            p.choose("p-specialty", "Medical genetics")
            pg.fill("#p-year input", "2019")
            pg.fill("#p-s2-score input", "232")
            pg.click("#p-save")
            pg.wait_for_function("() => (document.querySelector('#profile-status')?.innerText || '').includes('Saved your profile')", timeout=WAIT)
            pg.reload()
            pg.wait_for_selector("#question textarea", timeout=60_000)
            p.tab("My profile")
            _wait_value(pg, "#p-year input", "2019")  # the reload shows the saved profile
            assert pg.input_value("#p-s2-score input") == "232"
            p.tab("Chat")
            pg.wait_for_function("() => document.querySelector('#profile-line').innerText.includes('Your saved profile')", timeout=WAIT)
            assert "Non-US citizen IMG" in pg.locator("#profile-line").inner_text()
            p.ask("what are my chances?")
            answer = _last_answer(pg)
            assert answer.startswith("Your 232 is in the guide's 220–235 band: "), (answer[:400], server_log(tmp_path))
            assert "Using your profile:" in answer and "Step 2 CK 232" in answer and "graduated 2019" in answer
            p.tab("Draft")
            _wait_value(pg, "#d-evidence textarea", "Step 2 CK with a score of 232")  # the exam facts, pre-filled
            assert pg.input_value("#d-what textarea") == "I graduated from medical school in 2019."
            assert "Pre-filled from your saved profile" in pg.locator("#d-prefill").inner_text()
            assert pg.input_value("#d-insight textarea") == ""  # still the applicant's to write
            pg.click("#d-go")
            pg.wait_for_selector("#draft-saved", timeout=ANSWER_WAIT)
            assert "Step 2 CK with a score of 232" in pg.input_value("#d-text textarea")
            assert not p.external_hosts()
        finally:
            p.close()
    with serve(home, log_dir=tmp_path) as url:  # a server restart
        p = Page(browser, url)
        try:
            pg = p.page
            p.tab("Saved")
            pg.wait_for_function("() => (document.querySelector('#saved-conversations')?.innerText || '').includes('what are my chances?')", timeout=WAIT)
            assert "older-graduation" in pg.locator("#saved-drafts").inner_text()
            # reopen the conversation: the chat shows the saved answer with its linked sources
            _pick(pg, "h-conv", "what are my chances?")
            pg.click("#h-conv-open")
            pg.wait_for_function("() => document.querySelectorAll('#chatbot .saved-note').length === 1", timeout=WAIT)
            assert "Your 232 is in the guide's 220–235 band" in pg.locator("#chatbot").inner_text()
            assert pg.locator("#sources-box details.src").count() >= 1 and pg.locator("#chatbot a.cite").count() >= 1
            # reopen the draft: the Draft tab holds its facts and text again
            p.tab("Saved")
            _pick(pg, "h-draft", "older-graduation")
            pg.click("#h-draft-open")
            _wait_value(pg, "#d-text textarea", "Step 2 CK with a score of 232")
            assert pg.input_value("#d-what textarea") == "I graduated from medical school in 2019."
            # export my data: a JSON file with the conversation and the draft
            p.tab("My profile")
            pg.get_by_text("My data: export or delete").click()
            pg.click("#p-export")
            pg.wait_for_selector("#p-download a", timeout=WAIT)
            with pg.expect_download(timeout=WAIT) as info:
                pg.locator("#p-download a").first.click()
            data = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
            assert data["profile"]["exams"][-1]["score"] == 232
            assert [c["title"] for c in data["conversations"]] == ["what are my chances?"] and len(data["drafts"]) == 1
            # delete my data: the line says what went, and the lists are empty
            assert pg.locator("#p-forget").is_disabled()  # until the box is ticked
            pg.click("#p-forget-ok input")
            pg.wait_for_function("() => !document.querySelector('#p-forget').disabled", timeout=WAIT)
            pg.click("#p-forget")
            pg.wait_for_function("() => (document.querySelector('#data-status')?.innerText || '').includes('Deleted')", timeout=WAIT)
            line = pg.locator("#data-status").inner_text()
            assert "your profile, 1 conversation(s) with 1 answer(s), 1 draft(s)" in line, line
            pg.wait_for_function("() => document.querySelector('#p-year input').value === ''", timeout=WAIT)  # the form is empty again
            pg.wait_for_function("() => document.querySelectorAll('#chatbot .saved-note').length === 0", timeout=WAIT)  # and the chat
            assert pg.input_value("#d-text textarea") == ""  # and the draft
            p.tab("Saved")
            pg.wait_for_function("() => (document.querySelector('#saved-conversations')?.innerText || '').includes('No saved conversations')", timeout=WAIT)
            assert not p.external_hosts() and not p.errors, p.errors
        finally:
            p.close()
