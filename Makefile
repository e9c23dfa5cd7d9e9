# `make run` — the portal on embedded defaults; `make test` — every test on PostgreSQL + Redis.
PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test lint format bench bench-import bench-pages bench-near-duplicates install install-dev migrate demo check-deploy clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 && $(PYTHON) --version >/dev/null 2>&1 || \
	  { echo "ERROR: $(PYTHON) not found; Python 3.12 is required (set PYTHON=/path/to/python3.12)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: $(BIN)/python requirements.txt
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

migrate: install
	@mkdir -p var/outbox
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo

# Web server, Celery worker and beat together; Ctrl-C stops all three.
run: demo
	DEBUG=true $(BIN)/honcho -f Procfile.dev start

test: install-dev
	bash scripts/ensure-services.sh
	bash scripts/ensure-chromium.sh
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
	  CACHE_URL=locmemcache:// $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DATABASE_URL=sqlite:///:memory: $(BIN)/python manage.py makemigrations --check --dry-run

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# `make bench`: both benchmarks. The 1M-bulletin database is seeded once (≈ 20 min) and
# reused while it holds a million rows; figures go into BENCHMARKS.md by hand.
BENCH_DB_URL ?= postgres://postgres@127.0.0.1:5432/portal_bench1m

bench: bench-import bench-near-duplicates bench-pages

bench-near-duplicates: install-dev
	$(BIN)/python bench/near_duplicates_eval.py --originals 2000

bench-import: install-dev
	bash scripts/ensure-services.sh
	$(BIN)/python bench/import_bench.py

bench-pages: install-dev
	bash scripts/ensure-services.sh
	bash scripts/ensure-wrk.sh
	@rows=$$(psql "$(BENCH_DB_URL)" -tAc "SELECT count(*) FROM news_bulletin" 2>/dev/null); \
	if [ "$${rows:-0}" -lt 1000000 ]; then \
	  $(BIN)/python bench/seed_bulletins.py 1000000 --fresh --database-url "$(BENCH_DB_URL)"; fi
	$(BIN)/python bench/pages_bench.py --database-url "$(BENCH_DB_URL)"
	$(BIN)/python bench/search_mix.py --database-url "$(BENCH_DB_URL)"

# .env.example's SECRET_KEY is a placeholder the check refuses (portal.E001), as the web
# server and the worker do: a throwaway key stands in for the operator's own.
check-deploy: install
	set -a && . ./.env.example && set +a && \
	  SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))') \
	  $(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf var staticfiles
