# Every target creates the virtual environments it needs; nothing has to be installed by hand.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
TASKCAT_VENV := .venv-taskcat
TASKCAT_STAMP := $(TASKCAT_VENV)/.installed
PARAMS ?= default

.PHONY: help venv templates test lint demo configure bench report publish taskcat format clean

help:
	@echo "make demo       build, deploy into a local AWS emulator, configure Metaflow, run a flow"
	@echo "make test       the whole test suite (what CI runs)"
	@echo "make bench      time make demo (after the first install)"
	@echo "make templates  regenerate generated/ from templates_src/"
	@echo "make lint       cfn-lint and checkov over every template and parameter file"
	@echo "make report     what each configuration costs at idle and per 1,000 vCPU-hours"
	@echo "make configure  point Metaflow at a deployed stack (interactive)"
	@echo "make publish    publish the stack to AWS Service Catalog (ARGS='--bucket ...')"
	@echo "make taskcat    deploy every configuration for real in AWS (needs credentials)"

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# checkov pins old libraries (boto3 among them); it lives apart so it never constrains .venv.
$(CHECKOV_STAMP): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

# taskcat pins old libraries too (jsonschema 3, urllib3 1); same arrangement.
$(TASKCAT_STAMP): requirements-taskcat.txt
	test -x $(TASKCAT_VENV)/bin/python || $(PYTHON) -m venv $(TASKCAT_VENV)
	$(TASKCAT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-taskcat.txt
	touch $@

venv: $(STAMP)

templates: $(STAMP)
	$(PY) build.py

# The whole stack in a local emulator: deploy, configure, run flows. PARAMS=<file in generated/params>.
demo: templates
	$(PY) -m demo.run --params $(PARAMS)

# Times `make demo` (after the install) and prints the figure the README quotes.
bench: $(STAMP)
	$(PY) tools/bench.py

# make configure ARGS='--stack metaflow --profile prod'
configure: $(STAMP)
	$(PY) -m wizard $(ARGS)

# Idle cost and size per parameter file, and docs/idle-cost.svg (prices: tools/prices.json).
report: $(STAMP)
	$(PY) -m tools.report

# Service Catalog, e.g. ARGS='--bucket B --portfolio P --product N --version 1.0.0 --principal ARN
# --region us-east-1' (see README, "Service Catalog").
publish: $(STAMP)
	$(PY) -m wizard.publish $(ARGS)

test: $(STAMP) $(CHECKOV_STAMP) $(TASKCAT_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -n 2 --dist loadfile

lint: $(STAMP) $(CHECKOV_STAMP)
	$(PY) -m tools.lint

# The .taskcat.yml matrix in real AWS accounts; e.g. TASKCAT_ARGS='--regions us-east-1 -t default'.
taskcat: $(TASKCAT_STAMP)
	@$(TASKCAT_VENV)/bin/python tools/taskcat_run.py run $(TASKCAT_ARGS)

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(TASKCAT_VENV) .pytest_cache .ruff_cache
