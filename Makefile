# Developer and CI entry points. Everything a fresh machine needs is set up here;
# without DATABASE_URL, cmd/devdb starts a private PostgreSQL for the command.
#
#   make run    storefront on :8080 (ADDR=... to change) with a persistent dev database
#   make test   gofmt, go vet and all tests against a throwaway database (CI: .ci/run)
#   make e2e    every shopper journey in Chromium against the built server (screenshots in e2e-screenshots/)
#   make chaos  forgery, duplicate-storm and database outage suites at full size, with figures (Makefile.chaos)
#   make bench  hot paths beside pgbench on the same statements (bench/RESULTS.md)
#   make db     psql on the persistent dev database (needs psql)
#   make reset  forget the persistent dev database (the next make run seeds afresh)
#   make htmx   re-vendor htmx from npm (HTMX_VERSION=2.0.11)
#   make axe    re-vendor axe-core for the accessibility check from npm (AXE_VERSION=4.14.1)
#   make fuzz   every fuzz target for FUZZTIME each (20s; FUZZ=regexp picks), executions printed
#
# Plain `make` only prints this list (the default goal is help), so that it
# starts nothing by surprise.

# The persistent dev cluster: one per user and checkout, outside the checkout so
# that the postgres user can reach it when we run as root.
DATA_DIR ?= /var/tmp/twpay-dev-$(shell id -u)-$(shell printf '%s' '$(CURDIR)' | cksum | cut -d ' ' -f 1)

# Built binaries, not `go run`: `go run` swallows SIGINT and turns every exit
# code into 1, so Ctrl-C would orphan the server and CI would lose the test's code.
BIN = bin
DEVDB = $(BIN)/devdb

.DEFAULT_GOAL := help
.PHONY: help devdb chromium run reset test e2e lint bench db

help:
	@sed -n '/^#   make/s/^# *//p' $(firstword $(MAKEFILE_LIST))

$(BIN):
	mkdir -p $(BIN)

devdb: | $(BIN)
	go build -o $(DEVDB) ./cmd/devdb

# make run is the offline demo: local sandboxes and public test keys,
# unless TWPAY_MODE says otherwise.
run: devdb
	go build -o $(BIN)/storefront ./cmd/storefront
	TWPAY_MODE=$${TWPAY_MODE:-sandbox} $(DEVDB) -data $(DATA_DIR) -- $(BIN)/storefront serve

# make reset forgets the demo's data: the next make run starts afresh.
reset:
	rm -rf $(DATA_DIR)

test: lint devdb chromium
	$(DEVDB) -- go test -race -count=1 -p 2 -timeout 10m ./...

# make e2e: the shopper journeys of tests/e2e in Chromium against the
# storefront binary `make run` serves, on a free port and a throwaway
# database, at 1280 and 390 px in zh-TW and en. Screenshots per step (and
# the page's HTML where a step failed) go to e2e-screenshots/.
e2e: devdb chromium
	go build -o $(BIN)/storefront ./cmd/storefront
	TWPAY_E2E_BIN=$(CURDIR)/$(BIN)/storefront $(DEVDB) -- go test -count=1 -timeout 10m ./tests/e2e/

# Browser tests drive Debian's Chromium, with a CJK font so that zh-TW
# screenshots are readable; install them when missing (as root, as on CI),
# or say how to.
chromium:
	@if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/opentype/noto ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing Debian's chromium and fonts-noto-cjk for the browser tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null; \
		else \
			echo "the browser tests need Debian's chromium and fonts-noto-cjk: sudo apt-get install chromium fonts-noto-cjk"; exit 1; \
		fi; \
	fi

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt -l: not formatted:"; echo "$$out"; exit 1; fi
	go vet ./...

# make bench: twpay's hot paths beside pgbench running the same statements,
# on a private PostgreSQL with fsync on; writes bench/RESULTS.md (about 13
# minutes). BENCH_FLAGS=-orders 20000 -duration 2s -rounds 1 for a quick look;
# BENCH_FLAGS="-only admin -orders 200000" runs only the admin order table.
bench: devdb
	go build -o $(BIN)/storefront ./cmd/storefront
	$(DEVDB) -durable -- go run ./bench $(BENCH_FLAGS)

db: devdb
	$(DEVDB) -data $(DATA_DIR) -- sh -c 'exec psql "$$DATABASE_URL"'

# htmx is vendored from npm's htmx.org, pinned; `make htmx HTMX_VERSION=2.0.x` re-vendors it.
include Makefile.htmx
# axe-core, for the browser tests only; `make axe AXE_VERSION=4.x.y` re-vendors it.
include Makefile.axe

# Fuzz targets of every parser and verifier, FUZZTIME each.
include Makefile.fuzz
include Makefile.chaos
