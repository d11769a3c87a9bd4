# One command sets up and runs the demo; one runs the tests.
#   make demo    create .venv, install cchc with its pinned dependencies, run `cchc demo` (SQLite)
#   make test    the same set-up, then the test suite on every core (also on PostgreSQL when
#                CCHC_TEST_DATABASE_URL is set)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench bench-pg clean messages

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

demo: setup
	$(BIN)/cchc demo

test: setup
	$(BIN)/pytest -n auto --dist loadgroup

# mypy finds the packages by their installed names (cchc.flows is the folder flows/) through links under
# .cache/typecheck/cchc/: it does not run the import hook of the editable install (pyproject.toml, [tool.mypy]).
# lint-imports checks the direction of the imports declared in pyproject.toml ([tool.importlinter]).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@mkdir -p .cache/typecheck/cchc
	@for p in config flows models notifications states; do ln -sfn ../../../$$p .cache/typecheck/cchc/$$p; done
	$(BIN)/mypy
	$(BIN)/lint-imports

# The message catalogue (models/i18n.py): every tr(…) of the code and every _(…) of the dashboard's templates
# (babel.cfg) into models/locale/cchc.pot, then into the Vietnamese PO file (new messages arrive
# untranslated: tests/models/test_i18n.py names them until they are).
messages: setup
	$(BIN)/pybabel extract --width 120 --project cchc -F babel.cfg -k tr -k N_ -k trn:1,2 -o models/locale/cchc.pot \
		config flows models notifications states
	$(BIN)/pybabel update --width 120 -i models/locale/cchc.pot -d models/locale -D cchc -l vi

bench: setup
	$(BIN)/python bench/cycle.py
	$(BIN)/python bench/sweep.py
	$(BIN)/python bench/import.py
	$(BIN)/python bench/dashboard.py

# The same benchmarks on the local PostgreSQL (postgresql+psycopg://postgres@127.0.0.1:5432/, trust
# authentication): each in a fresh database of its own, dropped after it (bench/measure.py).
bench-pg: setup
	$(BIN)/python bench/cycle.py --database-url postgresql
	$(BIN)/python bench/sweep.py --database-url postgresql
	$(BIN)/python bench/import.py --database-url postgresql
	$(BIN)/python bench/dashboard.py --database-url postgresql

clean:
	rm -rf $(VENV) cchc.db cchc-demo.db .pytest_cache .mypy_cache .ruff_cache .cache
