"""The web UI's API, used the way an API user would: ``gradio_client.Client`` against ``advisor serve``.

Also the ``serve`` command's own checks: a malformed ``--auth`` exits 2 with one
line, a non-loopback ``--host`` without ``--auth`` warns, and a server started
with ``--auth`` refuses a wrong password.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

try:
    from tests.ui_server import PROJECT_DIR, ingested_home, serve, server_env, server_log
except ImportError:  # pytest's rootdir-relative import of tests/
    from ui_server import PROJECT_DIR, ingested_home, serve, server_env, server_log

from assistant.cli.serve import host_warning, parse_auth
from assistant.net import is_loopback
from assistant.errors import InputError

PROFILE = PROJECT_DIR / "evals" / "profiles" / "non-us-genetics-step1-failure-gap.json"


def _serve_cli(tmp_path: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "serve", *args],
        cwd=PROJECT_DIR, env=server_env(tmp_path), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )


# --------------------------------------------------------------------------- fast checks (no server)


@pytest.mark.parametrize("value", ["nocolon", ":password", "user:", "two words:pw", ""])
def test_malformed_auth_is_input_error(value):
    with pytest.raises(InputError):
        parse_auth(value)


def test_auth_parses_user_and_password_with_colons():
    assert parse_auth("alice:s3:cret") == ("alice", "s3:cret")
    assert parse_auth(None) is None


def test_malformed_auth_exits_2_with_one_line(tmp_path):
    r = _serve_cli(tmp_path, "--auth", "nocolon", "--port", "9")
    assert r.returncode == 2, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --auth"), r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("host,loopback", [("127.0.0.1", True), ("127.3.4.5", True), ("localhost", True), ("::1", True), ("[::1]", True), ("0.0.0.0", False), ("::", False), ("192.168.1.10", False), ("example.org", False)])
def test_loopback_detection(host, loopback):
    assert is_loopback(host) is loopback
    assert (host_warning(host, None) is None) is loopback
    assert host_warning(host, ("u", "p")) is None


def test_non_loopback_host_without_auth_warns_on_stderr(tmp_path):
    # A malformed --llm makes serve exit (code 2) after the host check and before binding anything.
    r = _serve_cli(tmp_path, "--host", "0.0.0.0", "--port", "9", "--llm", "nonsense-backend:x")
    assert r.returncode == 2, r.stderr
    assert "warning: serving on 0.0.0.0" in r.stderr and "--auth" in r.stderr
    r = _serve_cli(tmp_path, "--host", "0.0.0.0", "--port", "9", "--auth", "u:p", "--llm", "nonsense-backend:x")
    assert r.returncode == 2 and "warning: serving" not in r.stderr


# --------------------------------------------------------------------------- against a running server


@pytest.fixture(scope="module")
def home(built_home, tmp_path_factory) -> Path:
    return ingested_home(tmp_path_factory.mktemp("ui-client-home"), built_home.cache_dir)


@pytest.fixture(scope="module")
def server(home) -> str:
    with serve(home) as url:
        yield url


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False, analytics_enabled=False, download_files=False)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_api_lists_the_endpoints(client):
    api = client.view_api(print_info=False, return_format="dict")
    names = set(api["named_endpoints"])
    assert {"/ask", "/draft", "/audit", "/library", "/eval_report"} <= names, names


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ask_returns_a_cited_answer(client, home):
    ans = client.predict("I failed Step 1; can I still match into radiology?", "non-us-img", "radiology", api_name="/ask")
    assert isinstance(ans, dict), ans
    assert not ans["abstained"], server_log(home)
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", ans["answer"])}
    assert markers, ans["answer"]
    cited = {c["n"] for c in ans["citations"]}
    assert markers <= cited
    for c in ans["citations"]:
        assert c["title"] and c["section"] and c["text"] and c["source"]
    assert any(c["source"] == "non-us-img-radiology-red-flags" for c in ans["citations"])
    assert ans["note"]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ask_follow_up_uses_history(client):
    ans = client.predict(question="What about radiology?", history=["How should I explain a failed Step 1 in medical genetics?"], api_name="/ask")
    assert "radiology" in ans["question"].lower() and ans["question"] != "What about radiology?", ans["question"]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ask_out_of_scope_abstains(client):
    ans = client.predict(question="What is a good recipe for sourdough bread?", api_name="/ask")
    assert ans["abstained"] and ans["citations"] == []
    assert "don't cover" in ans["answer"]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ask_bad_input_is_one_line_error(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        client.predict(question="   ", api_name="/ask")
    msg = str(info.value)
    assert msg and "\n" not in msg.strip() and "Traceback" not in msg
    with pytest.raises(AppError, match="audience"):
        client.predict(question="How do I explain a gap?", audience="martian", api_name="/ask")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_draft_api(client):
    facts = {"kind": "gap", "specialty": "radiology", "audience": "non-us-img", "what": "I took a year off after graduation to care for my father."}
    res = client.predict(facts, api_name="/draft")
    assert "I took a year off after graduation to care for my father." in res["text"]
    assert res["placeholders"] and all(p in res["text"] for p in res["placeholders"])
    assert res["missing"]
    assert res["advice"] and all(c["text"] for c in res["advice"])
    assert res["checklist"]
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="kind"):
        client.predict({"kind": "nonsense", "specialty": "radiology", "what": "x"}, api_name="/draft")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_audit_api(client):
    data = json.loads(PROFILE.read_text(encoding="utf-8"))
    res = client.predict(data["profile"], api_name="/audit")
    assert sorted(f["id"] for f in res["flags"]) == sorted(data["expected_flags"])
    assert res["citations"]
    numbers = {c["n"] for c in res["citations"]}
    assert all(w["citation"] in numbers for f in res["flags"] for w in f["why"] if w["citation"] is not None)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_library_and_eval_report_api(client):
    docs = client.predict(api_name="/library")
    sources = {d["source"] for d in docs}
    assert "non-us-img-radiology-red-flags" in sources and len(sources) >= 5
    assert all("path" not in d for d in docs)
    assert client.predict(api_name="/eval_report") == {}  # no report in a fresh home


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_auth_is_enforced(home, tmp_path):
    from gradio_client import Client

    with serve(home, "--auth", "alice:s3cret-pw", log_dir=tmp_path) as url:
        with pytest.raises(Exception) as wrong:
            Client(url, auth=("alice", "wrong-password"), verbose=False, analytics_enabled=False, download_files=False)
        assert "login" in str(wrong.value).lower() or "credentials" in str(wrong.value).lower(), wrong.value
        with pytest.raises(Exception):
            Client(url, verbose=False, analytics_enabled=False, download_files=False)  # no credentials at all
        import urllib.error
        import urllib.request

        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(url + "/config", timeout=10)
        assert denied.value.code in (401, 403)
        ok = Client(url, auth=("alice", "s3cret-pw"), verbose=False, analytics_enabled=False, download_files=False)
        assert any(d["source"] == "us-img-medical-genetics-red-flags" for d in ok.predict(api_name="/library"))


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_loopback_server_refuses_foreign_host_headers(server):
    """DNS rebinding: a page on evil.example that resolves to 127.0.0.1 must not reach the UI."""
    import urllib.error
    import urllib.request

    req = urllib.request.Request(server + "/config", headers={"Host": "evil.example:7860"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=10)
    assert refused.value.code == 400
    with urllib.request.urlopen(urllib.request.Request(server + "/config", headers={"Host": "localhost"}), timeout=10) as ok:
        assert ok.status == 200


def test_serve_takes_one_login_per_user_and_refuses_a_name_twice(tmp_path):
    from tests.conftest import one_error_line, run_cli

    proc = run_cli(["serve", "--port", "1", "--auth", "alice:a", "--auth", "alice:b"], env_home=tmp_path)
    one_error_line(proc, "each user name may be given once")
