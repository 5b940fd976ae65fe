# riskmc: `make run` for the base-case report, `make test` for the whole suite.
# `make help` lists every target.

SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RISKMC := $(VENV)/bin/riskmc
SOURCES := $(shell find riskmc -name '*.py' -o -name '*.j2' -o -name '*.md' 2>/dev/null)

.DEFAULT_GOAL := help
.PHONY: help run test fuzz validate bench lint clean distclean setup model-doc record
# Keep reports when a later step fails; never keep a half-made one.
.DELETE_ON_ERROR:

help: ## List the targets
	@grep -hE '^[a-zA-Z_%/.-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  make %-28s %s\n", $$1, $$2}'
	@printf "  make %-28s %s\n" reports/NAME/report.html "Run priors/NAME.toml (rebuilt only when it, what it extends, riskmc or the folder's run changes)"

$(PY):
	@py="$$(scripts/find-python)" || exit 1; \
	echo "creating $(VENV) with $$py"; \
	"$$py" -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

setup: $(STAMP) ## Create .venv (Python >= 3.12) and install riskmc with its test tools

run: reports/base/report.html ## Run the base case; prints its headline, claims and report
# make reports/NAME/report.html  builds from priors/NAME.toml (see below). The headline
# and claims come from the run's summary.json, as `riskmc run` prints them.
	@$(PY) -c 'from riskmc.cli import show; from riskmc.store.io import read_summary; \
	  show.run(read_summary("reports/base"), "reports/base/report.html")'

# Pipelines: `make reports/bull/report.html` builds from priors/bull.toml and is rebuilt
# only when that file, a file it extends, or riskmc itself changes (deps.mk files record
# each run's priors files, as compilers' -MD files do), or when the folder holds a run
# make did not make: one of another priors file, a scratch run (--draws 1000 by hand, say)
# or a scenario overlay, or a run without its deps.mk.
# deps.mk files are read before secondary expansion starts: a path with a '$' in them stays
# as riskmc escaped it.
-include $(wildcard reports/*/deps.mk)

made_by_make = $(and $(wildcard reports/$(1)/deps.mk),$(shell $(PY) -c 'import json, sys; \
  s = json.load(open(sys.argv[1])); \
  sys.exit(not (s["priors_files"][0]["path"] == sys.argv[2] and not s["scenario"] and s.get("role") != "scratch"))' \
  reports/$(1)/summary.json priors/$(1).toml 2>/dev/null && echo yes))
.SECONDEXPANSION:
reports/%/report.html: priors/%.toml $(STAMP) $(SOURCES) $$(if $$(call made_by_make,$$*),,FORCE)
	$(RISKMC) run $< --out reports/$* --quiet --depfile reports/$*/deps.mk

.PHONY: FORCE
FORCE:

# The ledger (docs/ledger.md): each report's claims are recorded once per change of its
# summary.json; the stamps live outside the run folders, which riskmc alone writes.
RECORDED := $(patsubst reports/%/summary.json,reports/.recorded/%,$(wildcard reports/*/summary.json))

record: $(RECORDED) ## Record the forecasts among the reports that changed in priors/ledger.sqlite

# Forecasts only: a scenario or a scratch run in reports/ is skipped, and said so.
reports/.recorded/%: reports/%/summary.json $(STAMP)
	@mkdir -p $(@D)
	$(RISKMC) ledger record reports/$* --ledger priors/ledger.sqlite --forecasts-only
	@touch $@

test: $(STAMP) ## Run the whole test suite
	$(PY) -m pytest -q

validate: $(STAMP) ## Check the error bars' coverage over many seeds on known answers (about half an hour)
	$(PY) scripts/validate.py

fuzz: $(STAMP) ## Attack every verb with many random cases (the suite runs a few of each)
	RISKMC_FUZZ=1 $(PY) -m pytest -q tests/test_surface.py tests/test_fuzz.py tests/test_priors_fuzz.py

bench: $(STAMP) ## Measure speed and memory against the targets (prints figures and ratios)
	$(PY) benchmarks/bench.py

model-doc: $(STAMP) ## Regenerate the inputs table in docs/model.md and docs/base-case.md from priors/base.toml
	$(PY) scripts/model_doc.py

lint: $(STAMP) ## Lint with ruff
	$(VENV)/bin/ruff check riskmc tests benchmarks scripts models examples

clean: ## Remove generated reports and caches (keeps .venv)
	find reports -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache .hypothesis test-artifacts
	find . -name __pycache__ -not -path './$(VENV)/*' -exec rm -rf {} +

distclean: clean ## Also remove .venv
	rm -rf $(VENV)
