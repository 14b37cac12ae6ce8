# The two commands of the README:
#   make demo   — set up, then run the demo store (managed broker, hub, simulators, store API)
#   make test   — set up, then lint, type-check and run the whole test suite
.PHONY: setup demo test lint typecheck pytest bench clean

VENV := .venv/bin

setup:
	bash .ci/setup.sh

demo: setup
	$(VENV)/storehub demo

lint:
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

typecheck:
	$(VENV)/mypy .

pytest:
	$(VENV)/pytest -q -p no:cacheprovider

test: setup lint typecheck pytest

bench: setup
	$(VENV)/python -m bench.ingest
	$(VENV)/python -m bench.rfid

clean:
	rm -rf .venv var .mypy_cache .ruff_cache .pytest_cache
