# The public face of the project: every target is a thin call into tools/ (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The pinned cdktf CLI (tools/cdktf_cli.py writes this stamp after `npm ci`).
CDKTF_CLI := tools/cdktf-cli/node_modules/.trading-lock.sha256
# The workspace follows TF_WORKSPACE like plain Terraform; WORKSPACE=x overrides it.
WORKSPACE ?= $(TF_WORKSPACE)
TARGET ?= local
export TARGET

.PHONY: help setup synth validate test test-fast test-e2e test-modules lint package deploy destroy destroy-data outputs smoke \
	emulator-stop preflight bench hcl-export provider6-check diagram state-bootstrap state-env check module-docs clean \
	cdktf-cli tf-env

help: ## List the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt handlers/requirements.txt tools/bootstrap.sh
	@bash tools/bootstrap.sh
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "setup: installing Python packages into $(VENV) (first run takes about a minute)"
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

setup: $(STAMP) $(CDKTF_CLI) ## Install everything the project needs (idempotent)

$(CDKTF_CLI): tools/cdktf-cli/package-lock.json | $(STAMP)
	@$(PY) -m tools.cdktf_cli --install

cdktf-cli: $(STAMP) ## Install the pinned cdktf CLI; run it as tools/cdktf-cli/cdktf (README: "The standard CDKTF CLI")
	@$(PY) -m tools.cdktf_cli --install

tf-env: $(STAMP) ## Print the exports that point any terraform or cdktf run at the tooling's CLI configuration (eval them)
	@$(PY) -c 'from tools.tf import shell_exports; print(shell_exports(), end="")'

synth: package ## Synthesize all workspaces, or WORKSPACE=x
	@$(PY) -m tools.synth $(WORKSPACE)

validate: synth ## Synthesize, then terraform init + validate every stack with the real provider
	@$(PY) -m tools.validate $(WORKSPACE)

lint: $(STAMP) ## Style and types: ruff check, ruff format --check, mypy strict on python_stacks/, handlers/ and local_cloud/ (docs/decisions/0021)
	@$(PY) -m ruff check --quiet .
	@$(PY) -m ruff format --check --quiet .
	@$(PY) -m mypy python_stacks handlers local_cloud

test-modules: $(STAMP) ## fmt, validate and terraform test for every module in tf_modules/
	@$(PY) -m tools.modules

test-fast: $(STAMP) ## Unit, handler and module-contract tests (no emulator deploys)
	@$(PY) -m pytest -m "not e2e"

test-e2e: $(STAMP) ## End-to-end lifecycle tests against the local emulator (slow)
	@$(PY) -m pytest -m e2e --durations=15

test: $(STAMP) ## Everything: the lint gate (first: it fails in seconds), module tests, fast tests, the policy gate, e2e
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory test-modules
	@$(MAKE) --no-print-directory test-fast
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory test-e2e

check: package ## Policy gate: module READMEs, checkov over modules, synthesized JSON and real plans (docs/policy.md)
	@$(PY) -m tools.policy

module-docs: $(STAMP) ## Regenerate the inputs/outputs tables of every module README
	@$(PY) -m tools.module_docs

package: $(STAMP) ## Build the shared Lambda ZIP (dist/lambda.zip)
	@$(PY) -m tools.package

deploy: package ## Deploy WORKSPACE (default dev) to TARGET (default local emulator) and print the endpoints
	@$(PY) -m tools.deploy deploy --workspace $(or $(WORKSPACE),dev)

preflight: $(STAMP) ## Check a real AWS account before deploying WORKSPACE: credentials, zone delegation, quotas, state
	@$(PY) -m tools.preflight --workspace $(or $(WORKSPACE),dev)

destroy: package ## Destroy WORKSPACE (prod keeps its data-protection stack: see destroy-data)
	@$(PY) -m tools.deploy destroy --workspace $(or $(WORKSPACE),dev)

destroy-data: package ## Destroy WORKSPACE including its KMS key (prod's final snapshots become unrestorable)
	@$(PY) -m tools.deploy destroy --with-data --workspace $(or $(WORKSPACE),dev)

outputs: package ## Print the endpoints of a deployed WORKSPACE
	@$(PY) -m tools.deploy outputs --workspace $(or $(WORKSPACE),dev)

smoke: $(STAMP) ## Send a signed trade through the deployed API of WORKSPACE and read it back (status, ids, timings)
	@$(PY) -m tools.smoke --workspace $(or $(WORKSPACE),dev)

emulator-stop: $(STAMP) ## Stop the local moto server started by deploy
	@$(PY) -m tools.emulator stop

bench: package ## Benchmarks -> bench/results.md (synth stock vs fast, terraform, handlers, deploy, api); BENCH=synth,handlers
	@$(PY) -m bench.report --run $(if $(BENCH),--only $(BENCH))

hcl-export: package ## The exit from CDKTF: cdktf synth --hcl (pinned CLI) per workspace, then terraform validate
	@$(PY) -m tools.hcl_export $(WORKSPACE)

provider6-check: package ## Synthesize with the aws 6.x bindings (.venv-aws6) and scan for names aws 6.x removed
	@$(PY) -m tools.provider6_check

diagram: package ## Regenerate docs/architecture.png (+ .dot) from the synthesized prod stacks (needs graphviz)
	@$(PY) -m tools.diagram

state-bootstrap: $(STAMP) ## Create the shared Terraform state bucket (once per account; CREATE_LOCK_TABLE=true for TF < 1.10)
	@$(PY) -m tools.tf -chdir=bootstrap/state-backend init -input=false
	@$(PY) -m tools.tf -chdir=bootstrap/state-backend apply $(if $(filter true,$(CREATE_LOCK_TABLE)),-var create_lock_table=true)

state-env: $(STAMP) ## Print the exports that point the stacks at the shared state bucket
	@$(PY) -m tools.tf -chdir=bootstrap/state-backend output -json backend_env | \
		$(PY) -c 'import json,sys; [print(f"export {k}={v}") for k, v in json.load(sys.stdin).items()]'

clean: ## Remove build output (keeps .state/ and the venv)
	rm -rf cdktf.out dist .cache/tmp .cache/plans .cache/policy .pytest_cache
