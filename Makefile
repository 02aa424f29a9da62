# Sparse Workbench: two commands on a fresh machine.
#   make demo      create .venv, install, run every module's headline experiment
#   make test      create .venv, install with test extras, run the CI test suite
#   make test-all  the same plus tests marked slow
#   make bench     run the benchmarks (ours vs peers), write benchmarks/results/
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PIP    := $(PY) -m pip --disable-pip-version-check
# Test workers: one per core, at most 4 (each compiles its own Numba kernels on a cold cache);
# files are kept together on one worker so a module's kernels compile once.
JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)
PYTEST_ARGS ?= -n $(JOBS) --dist loadfile
# Notebooks run through nbmake with papermill-sized defaults.
TEST_PATHS := tests workbench hw notebooks

.PHONY: demo test test-all bench sysdeps venv clean help

help:
	@sed -n '2,6p' Makefile

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

venv: $(PY)

# One stamp per set of extras; re-installs when pyproject.toml changes.
$(VENV)/.stamp-core: pyproject.toml Makefile | $(PY)
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.stamp-test: pyproject.toml Makefile | $(PY)
	$(PIP) install --quiet -e ".[test,torch,dask,mujoco,chem]"
	touch $@

# test-all adds the extras only slow tests use (abess/skglm peers).
$(VENV)/.stamp-test-all: $(VENV)/.stamp-test
	$(PIP) install --quiet -e ".[test,torch,dask,mujoco,chem,bench]"
	touch $@

$(VENV)/.stamp-bench: pyproject.toml Makefile | $(PY)
	$(PIP) install --quiet -e ".[test,torch,bench,dask,mujoco,chem]"
	touch $@

# System packages some modules use (branch tracer: qemu-user, valgrind). Installed only where
# missing and only when we are root with apt-get (CI runs as root on Debian); elsewhere the
# tests that need them skip with a reason.
SYSTEM_PACKAGES := qemu-user valgrind gcc
sysdeps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing system packages:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null \
	      || echo "warning: could not install$$missing; tests that need them will skip"; \
	  else echo "note: missing system packages$$missing (not root); tests that need them will skip"; fi; \
	fi

demo: $(VENV)/.stamp-core
	$(BIN)/workbench demo

test: $(VENV)/.stamp-test sysdeps
	$(PY) -m pytest -m "not slow" --nbmake --nbmake-timeout=600 $(PYTEST_ARGS) $(TEST_PATHS)

test-all: $(VENV)/.stamp-test-all sysdeps
	$(PY) -m pytest --nbmake --nbmake-timeout=1800 $(PYTEST_ARGS) $(TEST_PATHS)

bench: $(VENV)/.stamp-bench sysdeps
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) reports results .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
