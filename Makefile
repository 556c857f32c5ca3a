# Two commands: `make demo` (install, generate data, execute every notebook, write HTML reports)
# and `make test` (install the dev extra, run the test suite). Both idempotent, both from a fresh clone.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# The CPU build of torch lies on this machine's disk; an unpinned torch would pull a multi-GB CUDA build.
TORCH  := torch==2.13.0
DATA   := datasets/generated
REPORTS := reports
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
PYTEST_ARGS ?=

.PHONY: demo test install install-dev data notebooks lab bench gpu-check clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install --quiet "$(TORCH)"
	$(PIP) install --quiet -e ".[data]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(PIP) install --quiet "$(TORCH)" -e ".[dev]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# the manifest is written last: a directory without one (interrupted, or older) is regenerated
$(DATA)/manifest.json: $(VENV)/.installed
	$(PY) -m toolkit.cli data --out $(DATA) --quiet

data: $(DATA)/manifest.json

notebooks: $(VENV)/.installed data
	$(PY) -m toolkit.cli run $(NOTEBOOKS) --out $(REPORTS) --quiet

demo: notebooks
	@echo "HTML reports written to $(REPORTS)/"

test: $(VENV)/.installed-dev
	$(PY) -m pytest -m "not gpu" $(PYTEST_ARGS)

lab: $(VENV)/.installed
	$(VENV)/bin/jupyter lab notebooks/

bench: $(VENV)/.installed-dev
	$(PY) -m toolkit.cli bench --dir benchmarks

# On a GPU machine: the gpu-marked tests, then the GPU benchmarks. Use PY=python3 where the
# GPU stack is installed outside the venv.
gpu-check:
	@$(PY) -c "from toolkit.backend import gpu_available as g; import sys; sys.exit(0 if g() else 1)" \
	  || { echo "gpu-check: no usable GPU on this machine (NVML count 0 or probe allocation failed)"; exit 1; }
	$(PY) -m pytest -m gpu tests/gpu -v
	@for f in $(wildcard benchmarks/gpu_*.py); do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(REPORTS) $(DATA) .pytest_cache
