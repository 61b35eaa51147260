# Two commands a newcomer needs: `make demo` and `make test`. Each builds .venv when needed.
PY := .venv/bin/python
PIP := .venv/bin/pip
STAMP := .venv/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 90
export RAY_USAGE_STATS_ENABLED := 0
export DO_NOT_TRACK := 1

.PHONY: install demo test lint clamav bench web chromium stack stack-down

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv .venv
	$(PIP) install -q --upgrade pip==25.3
	# torch first, alone: the CPU wheel on this machine; anything unpinned would pull CUDA builds.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -c constraints.txt -e ".[dev]"
	# open_clip ships the real CLIP BPE vocabulary the tiny model's tokenizer is built from.
	$(PIP) install -q --no-deps open-clip-torch==3.3.0
	touch $(STAMP)

install: $(STAMP)
	@mkdir -p $(HOME) && test -f $(HOME)/ray_bootstrap_config.yaml || cp deployments/ray_bootstrap_config.yaml $(HOME)/ray_bootstrap_config.yaml

demo: install
	$(PY) -m headpix.app.cli demo

web: install
	$(PY) -m web

# Debian's chromium drives the browser tests (never `playwright install`).
chromium:
	command -v chromium || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

clamav:
	bash scripts/install_clamav.sh .cache/clamav

test: install clamav chromium
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .
	.venv/bin/lint-imports
	$(PY) -m pytest -q -p no:cacheprovider

bench: install
	$(PY) bench/overhead.py
	$(PY) bench/web.py

# The production shape on loopback: PostgreSQL, Prefect server + 2 workers, 3-node Ray, S3, mail.
stack: install chromium
	$(PY) -m headpix.app.cli stack up

stack-down:
	$(PY) -m headpix.app.cli stack down
