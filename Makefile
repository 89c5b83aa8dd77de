# Synnefo asterias: one entry point for developers, CI and demos.
# Everything runs on Debian's /usr/bin/python3 with apt packages (see ci/packages/).

.PHONY: help deps venv test test-unit test-django52 lint demo stop debs bench clean

help:
	@echo "make test          install what tests need, start services, run every test"
	@echo "make test-unit     fast tests that need no service"
	@echo "make test-django52 the Django suites under Django 5.2 LTS (venv from PyPI)"
	@echo "make lint          ruff, shellcheck and mypy (also run by make test)"
	@echo "make demo          start the whole service on http://127.0.0.1:8000"
	@echo "make stop          stop what 'make demo' started"
	@echo "make debs          build the Debian packages"
	@echo "make bench         run the benchmarks in bench/"

deps:
	ci/deps.sh

venv: deps
	ci/venv.sh

test:
	ci/test.sh all

test-unit: venv
	ci/test.sh unit

test-django52:
	ci/test.sh django52

lint: venv
	.venv/bin/python ci/lint.py

demo:
	ci/demo.sh start

stop:
	ci/demo.sh stop

debs: deps
	ci/build-debs.sh

bench: venv
	ci/bench.sh

clean:
	rm -rf .venv .venv-django52 var
