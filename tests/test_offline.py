"""No data leaves the machine.

1. ``advisor ingest``, ``ask``, ``draft``, ``audit``, ``eval --dataset`` and a
   served UI session (``advisor serve`` + ``gradio_client`` over loopback) all run
   inside a network namespace that has only a loopback interface (``unshare -n``),
   so any dependency on the network would fail them. Every Python process also
   carries an audit hook (a ``sitecustomize`` on ``PYTHONPATH``) that logs any
   DNS lookup or connection to a non-loopback address, so even an attempt that
   fails quietly (telemetry, update checks) is caught.
   The served UI also refuses to hand out local files (index, vector cache,
   reports, /etc/passwd) through Gradio's file route.
2. Chroma telemetry and Gradio analytics are switched off by the package itself.
3. A remote LLM backend is announced by the CLI and the UI (without connecting).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT

REMOTE = "openai:some-model@http://example-remote:1/v1"
OUT_OF_SCOPE = "What is a good recipe for sourdough bread?"  # abstains before any model is built: nothing is sent

SITECUSTOMIZE = '''
import os, sys
_LOG = os.environ.get("ADVISOR_NET_AUDIT")
if _LOG:
    import ipaddress

    def _local(host):
        if host is None:
            return True
        if isinstance(host, (bytes, bytearray)):
            host = bytes(host).decode("ascii", "replace")
        h = str(host).strip("[]").lower().split("%")[0]
        if h in ("", "localhost", "ip6-localhost") or h.endswith(".localhost"):
            return True
        try:
            a = ipaddress.ip_address(h)
        except ValueError:
            return False
        return a.is_loopback or a.is_unspecified

    def _hook(event, args):
        host = None
        if event in ("socket.connect", "socket.sendto", "socket.sendmsg") and len(args) > 1 and isinstance(args[1], tuple):
            host = args[1][0]
        elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr"):
            host = args[0]
        else:
            return
        if not _local(host):
            with open(_LOG, "a", encoding="utf-8") as f:
                f.write(f"{os.getpid()} {event} {host!r} {sys.argv[:3]!r}\\n")

    sys.addaudithook(_hook)
'''

DRIVER = r'''
import json, os, socket, subprocess, sys, time
sys.path.insert(0, os.environ["ADVISOR_PROJECT"])
from tests.ui_server import serve

home = os.environ["ADVISOR_HOME"]
out = {}
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3).close()
    out["outside"] = "reachable"
except OSError as exc:
    out["outside"] = f"unreachable ({exc.strerror})"
out["interfaces"] = sorted(name for _, name in socket.if_nameindex())

def cli(*args):
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    return {"rc": p.returncode, "stdout": p.stdout, "stderr": p.stderr[-3000:], "seconds": round(time.monotonic() - t0, 1)}

out["ingest"] = cli("ingest", "--json")
out["ask"] = cli("ask", "How should I explain a gap after graduation?", "--json")
out["draft"] = cli("draft", "--kind", "gap", "--specialty", "radiology", "--what", "I took a year off to care for my father.", "--json")
out["audit"] = cli("audit", "--profile", os.environ["ADVISOR_PROFILE"], "--json")
out["eval"] = cli("eval", "--dataset", os.environ["ADVISOR_DATASET"], "--json")
out["remote"] = cli("ask", os.environ["ADVISOR_OUT_OF_SCOPE"], "--llm", os.environ["ADVISOR_REMOTE"])
try:
    with serve(__import__("pathlib").Path(home)) as url:
        from gradio_client import Client
        c = Client(url, verbose=False, analytics_enabled=False, download_files=False)
        out["ui_ask"] = c.predict("I failed Step 1; can I still match into radiology?", "non-us-img", "radiology", api_name="/ask")
        out["ui_draft"] = c.predict({"kind": "gap", "specialty": "radiology", "what": "I took a year off to care for my father."}, api_name="/draft")
        out["ui_library"] = c.predict(api_name="/library")
        import urllib.error, urllib.request

        def status(path):
            try:
                with urllib.request.urlopen(url + path, timeout=10) as r:
                    return r.status
            except urllib.error.HTTPError as exc:
                return exc.code

        secrets = [f"{home}/index/state.json", f"{home}/cache/embcache.sqlite", f"{home}/reports/report.md", "/etc/passwd", os.environ["ADVISOR_PROFILE"]]
        out["file_route"] = {p: status("/gradio_api/file=" + p) for p in secrets}
except Exception as exc:
    out["ui_error"] = f"{type(exc).__name__}: {exc}"
print("RESULT " + json.dumps(out))
'''


def _netns_prefix() -> list[str] | None:
    """``unshare -n`` (as root) or ``unshare -rn`` (user namespace), whichever works here; None if neither."""
    for flags in (["-n"], ["-rn"]):
        cmd = ["unshare", *flags, "sh", "-c", "ip link set lo up"]
        try:
            if subprocess.run(cmd, capture_output=True, timeout=20).returncode == 0:
                return ["unshare", *flags, "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]
        except (OSError, subprocess.TimeoutExpired):
            continue
    return None


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_everything_works_with_only_loopback(tmp_path, built_home):
    prefix = _netns_prefix()
    if prefix is None or not shutil.which("ip"):
        pytest.skip("cannot create a network namespace here (unshare -n / -rn and ip are needed)")
    home = tmp_path / "home"
    (home / "cache").mkdir(parents=True)
    shutil.copy(built_home.cache_dir / "embcache.sqlite", home / "cache" / "embcache.sqlite")  # vectors by content hash
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent(SITECUSTOMIZE), encoding="utf-8")
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    dataset = tmp_path / "three.jsonl"  # the documented format (evals/README.md): two answerable cases, one unanswerable
    gold = {json.loads(l)["id"]: l for l in (ROOT / "evals" / "gold.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()}
    dataset.write_text("\n".join([gold["g001"], gold["g010"], gold["u001"]]) + "\n", encoding="utf-8")
    audit_log = tmp_path / "net-audit.log"
    env = {k: v for k, v in os.environ.items() if k not in ("ADVISOR_LLM", "ADVISOR_CHROMA_URL", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")}
    env.update(
        ADVISOR_HOME=str(home), ADVISOR_PROJECT=str(ROOT), ADVISOR_NET_AUDIT=str(audit_log), ADVISOR_DATASET=str(dataset),
        ADVISOR_PROFILE=str(ROOT / "evals" / "profiles" / "non-us-genetics-step1-failure-gap.json"),
        ADVISOR_REMOTE=REMOTE, ADVISOR_OUT_OF_SCOPE=OUT_OF_SCOPE,
        PYTHONPATH=os.pathsep.join([str(site), str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])),
    )
    proc = subprocess.run([*prefix, sys.executable, str(driver)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=540)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line, (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])
    out = json.loads(line[len("RESULT "):])

    assert out["outside"].startswith("unreachable") and out["interfaces"] == ["lo"], out["outside"]
    for step in ("ingest", "ask", "draft", "audit", "eval", "remote"):
        assert out[step]["rc"] == 0, (step, out[step]["stderr"])
        assert "Traceback" not in out[step]["stderr"], (step, out[step]["stderr"])
    assert json.loads(out["ingest"]["stdout"])["documents"] == 5
    ans = json.loads(out["ask"]["stdout"])
    assert not ans["abstained"] and ans["citations"]
    assert "I took a year off to care for my father." in json.loads(out["draft"]["stdout"])["text"]
    assert json.loads(out["audit"]["stdout"])["flags"]
    metrics = json.loads(out["eval"]["stdout"].strip().splitlines()[-1])
    assert metrics["hit@5"] > 0 and "baseline" in metrics
    assert (home / "reports" / "report.md").exists()
    assert "warning: remote LLM backend" in out["remote"]["stderr"] and "example-remote" in out["remote"]["stderr"]
    assert "ui_error" not in out, out.get("ui_error")
    assert not out["ui_ask"]["abstained"] and out["ui_ask"]["citations"]
    assert "I took a year off to care for my father." in out["ui_draft"]["text"]
    assert len(out["ui_library"]) == 5
    assert all(code in (403, 404) for code in out["file_route"].values()), out["file_route"]  # the server hands out no local file
    attempts = audit_log.read_text(encoding="utf-8").splitlines() if audit_log.exists() else []
    probe = [a for a in attempts if "'1.1.1.1'" in a and "driver.py" in a]
    assert probe, "the audit hook did not see the driver's own deliberate probe: it is not active"
    others = [a for a in attempts if a not in probe]
    assert not others, "non-loopback network use:\n" + "\n".join(others[:20])


# --------------------------------------------------------------------------- telemetry and analytics


def test_privacy_switches_are_forced_on(monkeypatch):
    import assistant  # noqa: F401 - importing the package sets them
    from assistant.config import OFFLINE_ENV, offline_env

    for key, value in OFFLINE_ENV.items():
        assert os.environ.get(key) == value, key
    assert OFFLINE_ENV["ANONYMIZED_TELEMETRY"] == "False" and OFFLINE_ENV["GRADIO_ANALYTICS_ENABLED"] == "False" and OFFLINE_ENV["HF_HUB_OFFLINE"] == "1"
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "True")  # a user (or a library) turning it back on
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "True")
    offline_env()
    assert os.environ["ANONYMIZED_TELEMETRY"] == "False" and os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"


def test_chroma_telemetry_is_off(tmp_path):
    from assistant.config import get_settings
    from assistant.store.chroma import chroma_client

    client = chroma_client(get_settings(home=tmp_path / "home"))
    assert client.get_settings().anonymized_telemetry is False


def test_gradio_analytics_are_off(built_home):
    from assistant.ui.app import build_app

    app = build_app(settings=built_home, llm="extractive")
    assert app.analytics_enabled is False
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"


# --------------------------------------------------------------------------- a remote backend is announced


@pytest.fixture()
def no_outbound(monkeypatch):
    """Fail the test if anything tries to open a non-loopback connection (we must never contact the remote)."""
    real = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        assert isinstance(host, str) and (host.startswith("127.") or host in ("::1", "localhost")), f"tried to connect to {address}"
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


def test_cli_ask_says_when_the_backend_is_remote(built_home, capsys, monkeypatch, no_outbound):
    from assistant.cli import main

    monkeypatch.setenv("ADVISOR_HOME", str(built_home.home))
    monkeypatch.delenv("ADVISOR_CHROMA_URL", raising=False)
    assert main(["ask", OUT_OF_SCOPE, "--llm", REMOTE]) == 0
    err = capsys.readouterr().err
    assert "remote" in err.lower() and "example-remote" in err and len(err.strip().splitlines()) == 1
    assert main(["ask", OUT_OF_SCOPE, "--llm", "extractive"]) == 0
    assert "remote" not in capsys.readouterr().err.lower()
    assert main(["ask", "", "--llm", REMOTE]) == 2  # bad input: still exactly one line
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_ui_says_when_the_backend_is_remote(built_home, capsys, monkeypatch, no_outbound):
    from assistant.llm import describe_backend
    from assistant.ui.app import header_html

    assert describe_backend(REMOTE)["local"] is False
    assert describe_backend("openai:m@http://127.0.0.1:8080/v1")["local"] is True
    remote, local = header_html(REMOTE), header_html("extractive")
    assert "remote language model is configured" in remote and "example-remote" in remote
    assert "remote" not in local.lower() and "nothing you type leaves it" in local
    # `advisor serve --llm REMOTE` warns on stderr before it starts (launch stubbed: nothing is served or sent)
    import assistant.ui

    launched = {}
    monkeypatch.setattr(assistant.ui, "launch", lambda app, **kw: launched.update(kw))
    monkeypatch.setattr(assistant.ui, "warm_up", lambda settings=None: None)
    monkeypatch.setenv("ADVISOR_HOME", str(built_home.home))
    from assistant.cli import main

    assert main(["serve", "--llm", REMOTE, "--port", "9"]) == 0
    err = capsys.readouterr().err
    assert "warning: a remote LLM is configured" in err and "example-remote" in err
    assert launched.get("host") == "127.0.0.1"
