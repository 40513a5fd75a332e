# Two commands do all the set-up on a fresh machine:
#   make serve   create .venv, install, build the graph, serve it at http://127.0.0.1:8000/
#   make test    create .venv, install (with test tools), run the tests
VENV   ?= .venv
# The Python the venv is made with: python3 from the PATH, unless it is a plain build with a
# shared libpython (pyenv's default) and the system has an optimised one of the same
# version (tools/fast_python.py: ~11% more cold point lookups a second measured here);
# `make install PYTHON=python3.12` to choose
PYTHON ?=
# DATA, HOST and PORT default to the settings (DIPKG_DATA_DIR, DIPKG_HOST, DIPKG_PORT;
# ./data, 127.0.0.1, 8000): `make serve PORT=8001` and `DIPKG_PORT=8001 make serve` agree
DATA   ?=
HOST   ?=
PORT   ?=
BIN     = $(VENV)/bin

# Python keeps each module it imports compiled (__pycache__), unless the environment says
# not to (PYTHONDONTWRITEBYTECODE, which some machines and container images set): then
# every process compiles every module it imports from source, every time. The test suite
# starts hundreds (servers, builds, the CLI): measured on one machine, importing the server
# and the build took 4.4-4.7 s of CPU without bytecode against 1.2 with it, a CLI build 8.0
# against 4.1, pytest's collection 12-20 against 5 s. So the commands below keep it.
unexport PYTHONDONTWRITEBYTECODE

# The tests run on TEST_WORKERS processes (pytest-xdist), each test file whole on one
# of them (its module fixtures made once, and again in the serial run for a file with a
# serial test), the files holding a slow test first; then the tests marked `serial` (they
# assert timing or CPU shares) alone in one process: about 13-14.5 minutes from a
# fresh clone on 2 slow cores (set-up ~1, the parts 9.5-10.5 and 2.75-3; three
# processes were no faster: the two cores are busy). TEST_WORKERS=0 runs them all in
# one process, in order (for --pdb and the like).
TEST_WORKERS ?= 2

# CKAN + ckanext-dcat for the catalogue harvest test: a venv of its own, because
# ckan registers a pytest plugin that would take over the project's test run.
CKAN_VENV ?= .venv-ckan
CKAN_PACKAGES = ckan==2.12.0 ckanext-dcat==2.4.4 "sqlalchemy>=2.0,<2.1" flask-login flask-babel \
  simplejson msgspec tzlocal dominate markdown nh3 polib file-keeper alembic passlib webassets rq pysolr pyjwt \
  packaging

.PHONY: install ui-vendor build serve test test-setup lint clean
.DEFAULT_GOAL := serve

$(BIN)/python:
	@py="$(PYTHON)"; [ -n "$$py" ] || py=$$(python3 tools/fast_python.py) || py=python3; \
	[ -n "$$py" ] || py=python3; \
	echo "$(VENV): made with $$py"; $$py -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# --no-compile: no bytecode written for every installed module at install time (53
# against 35 s for the project's venv, fresh, on one machine); Python writes it for the
# modules imported, when first imported (see PYTHONDONTWRITEBYTECODE above)
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --no-compile -e '.[test]'
	touch $@

install: $(VENV)/.installed ui-vendor

# The query page's YASGUI (@zazuko/yasgui, pinned in package.json/package-lock.json),
# installed from the npm registry and copied into the app's static folder
# (git-ignored); nothing is loaded from a CDN at run time. Without npm the query
# page falls back to a plain form.
# The same `npm ci` installs axe-core (devDependencies) for tests/pages/test_axe.py.
UI_VENDOR = sparql_api/static/vendor/yasgui
ui-vendor: $(UI_VENDOR)/yasgui.min.js

$(UI_VENDOR)/yasgui.min.js: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --no-audit --no-fund --loglevel=error && mkdir -p $(UI_VENDOR) && \
	  cp node_modules/@zazuko/yasgui/build/yasgui.min.js node_modules/@zazuko/yasgui/build/yasgui.min.css $(UI_VENDOR)/; \
	else echo "make: npm not found: the query page will offer a plain form instead of YASGUI" >&2; fi

build: install
	$(BIN)/dipkg build $(if $(DATA),--out $(DATA))

serve: build
	$(BIN)/dipkg serve $(if $(DATA),--data $(DATA)) $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

$(CKAN_VENV)/.installed:
	$(or $(PYTHON),python3) -m venv $(CKAN_VENV)
	$(CKAN_VENV)/bin/pip install -q --upgrade pip
	$(CKAN_VENV)/bin/pip install -q --no-compile $(CKAN_PACKAGES)
	touch $@

# What the tests need before the first one runs. The project's venv, YASGUI from npm and
# CKAN's venv do not depend on each other: `make -j3 test-setup` makes them side by side
# (.ci/run does: its set-up took 58 against 67 s on a fresh clone)
test-setup: install $(CKAN_VENV)/.installed

# pytest exits 5 when it collects no tests: that is a failure here, not a pass (with
# two runs, when neither collected any).
test: test-setup
	@export DIPKG_CKAN_PYTHON=$(CURDIR)/$(CKAN_VENV)/bin/python; \
	if [ "$(TEST_WORKERS)" = 0 ]; then \
	  $(BIN)/python -m pytest $(PYTEST_ARGS); first=$$?; second=5; \
	else \
	  $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder \
	    -m "not serial" $(PYTEST_ARGS); first=$$?; \
	  $(BIN)/python -m pytest -m serial $(PYTEST_ARGS); second=$$?; \
	fi; \
	for status in $$first $$second; do \
	  if [ $$status -ne 0 ] && [ $$status -ne 5 ]; then exit $$status; fi; \
	done; \
	if [ $$first -eq 5 ] && [ $$second -eq 5 ]; then \
	  echo "make test: pytest collected no tests" >&2; exit 1; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(DATA) test-artifacts .pytest_cache
