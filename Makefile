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

.PHONY: deps test unit integration sanity lint docs molecule image clean

deps:
	@bash tests/bootstrap.sh

## Everything CI runs, in order of cost.
test: deps unit integration docs lint sanity molecule

unit: deps
	$(PYTEST) -q tests/unit

integration: deps
	$(PYTEST) -q tests/integration

docs: deps
	bash tests/check-docs.sh

lint: deps
	$(BIN)/ansible-lint --profile production --offline

sanity: deps
	bash tests/sanity.sh

clean:
	rm -rf .cache tests/output

## Container tests: a systemd Debian image built locally (no registry), podman + runc.
export CONTAINERS_CONF := $(ROOT)/tests/containers/containers.conf
MOLECULE_SCENARIOS ?= litellm claude_code

image: deps
	bash tests/containers/build-image.sh

molecule: image
	set -e; for s in $(MOLECULE_SCENARIOS); do $(BIN)/molecule test -s $$s; done

molecule-%: image
	$(BIN)/molecule test -s $*
