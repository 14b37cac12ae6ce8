# The two commands of the README:
#   make demo   — set up, then run the demo store (managed broker, hub, simulators, store API)
#   make test   — set up, then lint, type-check and run the whole test suite
.PHONY: setup demo test lint typecheck pytest bench clean

VENV := .venv/bin

setup:
	bash .ci/setup.sh

# `make demo MODEL=grab_and_go` (or rfid_box, exit_gate): the unmanned store instead.
demo: setup
ifdef MODEL
	$(VENV)/storehub unmanned demo $(MODEL)
else
	$(VENV)/storehub demo
endif

lint:
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

typecheck:
	$(VENV)/mypy .

# zxing-cpp's bindings print a harmless reference-leak report at interpreter exit, after
# pytest's summary; it is filtered so the summary stays the last line.
pytest:
	bash -o pipefail -c '$(VENV)/pytest -q -p no:cacheprovider 2>&1 \
	    | grep -v -e "^nanobind: " -e "^ - leaked " -e "^See https://nanobind"'

test: setup lint typecheck pytest

bench: setup
	$(VENV)/python -m bench.ingest
	$(VENV)/python -m bench.rfid
	$(VENV)/python -m bench.checkout

clean:
	rm -rf .venv var .mypy_cache .ruff_cache .pytest_cache
