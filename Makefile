# llmops.claude_gateway: `make test` is the single test entry (.ci/run calls it); `make demo` the main job.
SHELL := /bin/bash
ROOT := $(CURDIR)
VENV ?= $(ROOT)/.venv
BIN := $(VENV)/bin
COLLECTIONS := $(ROOT)/.cache/collections
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS):$(VENV)/lib/python3.11/site-packages
export PATH := $(BIN):$(PATH)
export PYTHONPATH := $(COLLECTIONS)
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider

.PHONY: deps test unit integration sanity lint docs package ee-context molecule image clean litellm-venv

deps:
	@bash tests/bootstrap.sh

## Everything CI runs, in order of cost.
test: deps unit integration docs package lint sanity molecule demo-test
# Under `make test` a missing server or tool (OpenBao, moto, drongo, LiteLLM) fails its tests instead of
# skipping them (tests/integration/conftest.py); CI=true does the same.
test: export CLAUDE_GATEWAY_TESTS_REQUIRE_SERVERS := 1

unit: deps
	$(PYTEST) -q tests/unit

# A LiteLLM venv on the host for the gateway's integration test, installed from the wheelhouse.
LITELLM_VENV := $(ROOT)/.cache/litellm-venv
litellm-venv: wheelhouse
	@if ! cmp -s $(LITELLM_WHEELHOUSE)/.key $(LITELLM_VENV)/.wheelhouse-key; then \
	  rm -rf $(LITELLM_VENV) && /usr/bin/python3 -m venv $(LITELLM_VENV) && \
	  $(LITELLM_VENV)/bin/pip install -q --no-index --find-links $(LITELLM_WHEELHOUSE) -c $(LITELLM_CONSTRAINTS) $(foreach r,$(LITELLM_REQUIREMENTS),'$(r)') && \
	  cp $(LITELLM_WHEELHOUSE)/.key $(LITELLM_VENV)/.wheelhouse-key; fi

# ansible-core 2.16, the oldest meta/runtime.yml supports, in a venv beside the test venv: the lookup's
# return type is checked on it too (tests/integration/test_interop_vault.py). Built once (~20 s), cached.
ANSIBLE_OLDEST := 2.16.19
ANSIBLE_OLDEST_VENV := $(ROOT)/.cache/ansible-core-2.16
$(ANSIBLE_OLDEST_VENV)/.ok:
	rm -rf $(ANSIBLE_OLDEST_VENV) && /usr/bin/python3 -m venv $(ANSIBLE_OLDEST_VENV) && \
	  $(ANSIBLE_OLDEST_VENV)/bin/pip install -q ansible-core==$(ANSIBLE_OLDEST) hvac==2.4.0 && touch $@

integration: deps litellm-venv $(ANSIBLE_OLDEST_VENV)/.ok
	LITELLM_BIN=$(LITELLM_VENV)/bin/litellm $(PYTEST) -q tests/integration

docs: deps
	bash tests/check-docs.sh

# The collection as users get it (tests/check-package.py): the built tarball's file list; installed into an
# empty path and used from outside this repo (ansible-doc on every plugin and role, every playbook by FQCN);
# the collections it names declared; a plain clone's collection path; the Execution Environment's context.
package: deps
	$(BIN)/python tests/check-package.py

# The same, leaving the EE build context in .cache/ee-context (docs/execution-environment.md).
ee-context: deps
	$(BIN)/python tests/check-package.py --ee-context $(ROOT)/.cache/ee-context

# As in a fresh clone, an editor or pre-commit: without this Makefile's collection path, so the collection
# resolves through ansible.cfg (tests/check-package.py checks the link it uses is in git).
lint: deps
	env -u ANSIBLE_COLLECTIONS_PATH -u PYTHONPATH $(BIN)/ansible-lint --profile production --offline

sanity: deps
	bash tests/sanity.sh

clean:
	rm -rf .cache tests/output

## Container tests: a systemd Debian image built locally (no registry), podman + runc.
## tests/containers/README.md explains the image, the platform block and how containers reach the host.
export CONTAINERS_CONF := $(ROOT)/tests/containers/containers.conf
MOLECULE_SCENARIOS ?= litellm claude_code fleet
# Offline wheelhouse for the litellm role inside containers (pip install --no-index --find-links).
export LITELLM_WHEELHOUSE := $(ROOT)/.cache/wheelhouse/litellm
LITELLM_VERSION := 1.108.7
LITELLM_REQUIREMENTS := litellm[proxy]==$(LITELLM_VERSION) google-auth==2.43.0 prisma==0.15.0
# Every package of the tree pinned: the file the role installs with (docs/role-litellm.md, "Dependency pinning").
LITELLM_CONSTRAINTS := $(ROOT)/roles/litellm/files/constraints-$(LITELLM_VERSION).txt

.PHONY: wheelhouse

image: deps
	bash tests/containers/build-image.sh

wheelhouse: deps
	bash tests/containers/build-wheelhouse.sh -c $(LITELLM_CONSTRAINTS) $(LITELLM_WHEELHOUSE) $(foreach r,$(LITELLM_REQUIREMENTS),'$(r)')

molecule: image wheelhouse
	set -e; for s in $(MOLECULE_SCENARIOS); do $(BIN)/molecule test -s $$s; done

# The litellm scenario installs LiteLLM from the wheelhouse (fleet from PyPI); the others need only the image.
molecule-litellm: wheelhouse

molecule-%: image
	$(BIN)/molecule test -s $*

## Benchmarks: not part of `make test`. Each script prints side-by-side tables; docs/performance.md
## records a run and what it means (bench/README.md describes what each one measures).
.PHONY: bench
bench: deps
	$(BIN)/python bench/fanout.py
	$(BIN)/python bench/backends.py

## Mutation testing (docs/testing.md, "Mutation score"): not part of `make test`. Mutates a copy of the
## tree (.cache/mutants/tree) and runs the unit tests that load each file; results in tests/mutants/results.json,
## table in docs/testing.md. MUTANTS_FILES="a.py b.py" picks files, MUTANTS_SURVIVORS=1 re-runs only the survivors.
.PHONY: mutants
MUTANTS_FILES ?=
mutants: deps
	$(BIN)/pip install -q -r tests/mutants/requirements.txt
	nice -n 10 $(BIN)/python tests/mutants/run.py $(if $(filter 1,$(MUTANTS_SURVIVORS)),--survivors) $(MUTANTS_FILES)
	$(BIN)/python tests/mutants/report.py

## The demo (docs/demo.md): store -> gateway -> Claude Code profile -> verify, all on this machine with the
## embedded local store. Without systemd as PID 1 the gateway runs in a podman container from the test image.
.PHONY: demo
DEMO_DIR ?= $(ROOT)/.cache/demo
DEMO_NEEDS := $(if $(wildcard /run/systemd/system),,image wheelhouse)
demo: deps $(DEMO_NEEDS)
	ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False \
	ANSIBLE_CONNECTION_PLUGINS=$(ROOT)/tests/containers/connection_plugins \
	$(BIN)/ansible-playbook llmops.claude_gateway.demo -e demo_dir=$(DEMO_DIR) \
	  -e demo_container_connection=podman_nsenter $(DEMO_ARGS)

# The demo as a test (after molecule in `make test`: image and wheelhouse are warm): `make demo` in
# .cache/demo-test with its own container, then the curl it prints (200 with the mock model's reply) and the
# same with a wrong token (401); removes the container at the end. tests/check_demo.py --twice adds a second run.
.PHONY: demo-test
demo-test: deps image wheelhouse
	$(BIN)/python tests/check_demo.py $(DEMO_TEST_ARGS)
