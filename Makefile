# Mattermost E2EE plugin. `make` installs what is missing and builds the bundle;
# `make test` runs every test, starting (and stopping) a real Mattermost server.
SHELL := /bin/bash
GO ?= go
NPM ?= npm
PLUGIN_ID := $(shell $(GO) run ./build/manifest id)
PLUGIN_VERSION := $(shell $(GO) run ./build/manifest version)
BUNDLE := dist/$(PLUGIN_ID)-$(PLUGIN_VERSION).tar.gz
HASHES := dist/$(PLUGIN_ID)-$(PLUGIN_VERSION).hashes.json
EXTENSION_ZIP := dist/mm-e2ee-extension-$(PLUGIN_VERSION).zip
PLATFORMS := linux-amd64 linux-arm64 darwin-amd64 darwin-arm64 windows-amd64
# Reproducible: no paths, no VCS stamp, no build ID (docs/design.md §12).
GO_BUILD_FLAGS := -trimpath -buildvcs=false -ldflags '-s -w -buildid='
# Every archive entry gets the commit's time; outside git, SOURCE_DATE_EPOCH or 0.
SOURCE_COMMIT := $(shell git rev-parse HEAD 2>/dev/null)
SOURCE_DATE_EPOCH ?= $(or $(shell git log -1 --format=%ct 2>/dev/null),0)

.PHONY: all setup manifest server webapp cli dist bundle test unit-test check-style \
        check-reproducible check-api-compat extension deploy mm-up mm-up-ha mm-down e2e integration-test ha-test browser-test bench bench-browser load faults demo clean fuzz

all: setup dist

## setup: install every dependency (system packages, npm, Go modules); idempotent.
setup:
	./build/setup.sh

manifest:
	$(GO) run ./build/manifest apply

## server: the plugin's Go executables for every supported platform.
server: $(foreach p,$(PLATFORMS),server/dist/plugin-$(p)$(if $(findstring windows,$(p)),.exe,))

server/dist/plugin-%: $(shell find server -name '*.go' -not -name '*_test.go') go.mod go.sum
	GOOS=$(word 1,$(subst -, ,$(basename $*))) GOARCH=$(word 2,$(subst -, ,$(basename $*))) CGO_ENABLED=0 \
		$(GO) build $(GO_BUILD_FLAGS) -o $@ ./server

# Only when missing: `make setup` reinstalls after a lock file change, and a rule on the lock
# file's time would wipe node_modules right after an `npm install`.
webapp/node_modules:
	cd webapp && $(NPM) ci --no-audit --no-fund

## webapp: the production bundle webapp/dist/main.js and its lazy chunks.
webapp: webapp/node_modules
	cd webapp && $(NPM) run build

## cli: the mm-e2ee command-line tool, dist/mm-e2ee.js.
cli: webapp/node_modules
	cd webapp && $(NPM) run build:cli
	mkdir -p dist && cp webapp/dist-cli/mm-e2ee.js dist/mm-e2ee.js

## dist: the bundle an admin uploads, dist/<id>-<version>.tar.gz, and its release hashes
## dist/<id>-<version>.hashes.json (byte-identical from any clone of the same commit).
dist: manifest server webapp cli bundle

bundle:
	rm -rf dist/$(PLUGIN_ID) && mkdir -p dist/$(PLUGIN_ID)/server dist/$(PLUGIN_ID)/webapp
	cp plugin.json dist/$(PLUGIN_ID)/
	cp -r assets dist/$(PLUGIN_ID)/
	cp -r server/dist dist/$(PLUGIN_ID)/server/
	cp -r webapp/dist dist/$(PLUGIN_ID)/webapp/
	$(GO) run ./build/bundle -stage dist/$(PLUGIN_ID) -out $(BUNDLE) -hashes $(HASHES) \
		-mtime $(SOURCE_DATE_EPOCH) -commit "$(SOURCE_COMMIT)"
	rm -rf dist/$(PLUGIN_ID)
	@echo "plugin bundle: $(BUNDLE)"
	@echo "release hashes: $(HASHES)"

## extension: the browser extension that checks the served plugin code: dist/extension/
## (load unpacked) and its zip, shipping this build's release hashes and extension/releases/*.
extension: dist
	$(GO) run ./build/extension -src extension -out dist/extension -zip $(EXTENSION_ZIP) \
		-version $(PLUGIN_VERSION) -mtime $(SOURCE_DATE_EPOCH) $(HASHES) $(wildcard extension/releases/*.hashes.json)
	@echo "browser extension: $(EXTENSION_ZIP) (unpacked: dist/extension/)"

## check-api-compat: build, vet and unit-test the server part against the plugin API of
## Mattermost 11.7 (ESR) and 11.11 (build/compat/*.mod), newer than the 11.4 test server.
check-api-compat:
	./build/check-api-compat.sh

## check-reproducible: build this commit twice from two fresh clones and compare (CI runs it).
check-reproducible:
	./build/check-reproducible.sh

## test: every test: style, unit, then the real server suites (mm-up ... mm-down).
test:
	./build/test-all.sh

## unit-test: Go (race detector) and jest, no server needed.
unit-test: webapp/node_modules
	$(GO) test -race -count=1 ./...
	cd webapp && $(NPM) test -- --ci
	node --test extension/

## fuzz: every Go fuzz target (server/e2eeformat's decoders and verifiers, the API's request
## decoders) for FUZZTIME each (default 30s), one after another (build/fuzz.sh).
fuzz:
	./build/fuzz.sh

check-style: webapp/node_modules
	$(GO) run ./build/manifest check
	@# The repository stands alone: no file may name a machine path or the folder beside the clone.
	@! git grep -nE '/work/|/home/|/root/|/Users/|\.\./shared/' -- . ':!Makefile' || (echo "machine paths or files outside the repository named above"; exit 1)
	@test -z "$$(gofmt -l server build)" || (gofmt -l server build; echo "gofmt needed"; exit 1)
	$(GO) vet ./...
	cd webapp && $(NPM) run lint && $(NPM) run check-types

## mm-up / mm-down: a real Mattermost server and PostgreSQL on loopback for tests
## (MM_UP_FLAGS=--fresh starts from an empty database).
mm-up:
	./build/mattermost/build.sh
	./build/mm-up.sh $(MM_UP_FLAGS)

## mm-up-ha: mm-up, then a second Mattermost server on other ports with the same database, file
## store and plugin (build/mm-second.sh; its env in .mattermost/env2). mm-down stops both.
mm-up-ha: mm-up
	./build/mm-second.sh

mm-down:
	./build/mm-down.sh

## deploy: upload and enable the bundle on a running server, as the System Console upload does:
## MM_SERVICESETTINGS_SITEURL + MM_ADMIN_TOKEN, or the local-mode socket (MM_LOCAL_SOCKET),
## or .mattermost/env from mm-up.
deploy: dist
	./build/deploy.sh $(BUNDLE)

## e2e: against the running server (make mm-up): install the bundle through the
## upload API, then the REST checks, the Go integration suite and the browser suite.
e2e: dist extension
	@echo "deploy through the local-mode socket, then through the REST API with the admin token"
	env -u MM_ADMIN_TOKEN MM_LOCAL_SOCKET="$$(. ./.mattermost/env && echo "$$MM_LOCAL_SOCKET")" ./build/deploy.sh $(BUNDLE)
	./build/deploy.sh $(BUNDLE)
	./build/e2e-smoke.sh
	$(MAKE) integration-test ha-test browser-test

## integration-test: the Go integration suite against the running server (the TestHA tests need
## two servers: ha-test runs them).
integration-test:
	source .mattermost/env && $(GO) test -count=1 -tags integration -skip '^TestHA' ./server/integration/...

## ha-test: two servers on one database (docs/design.md §16): (re)starts the second server, which
## syncs the deployed plugin from the shared file store, runs the TestHA tests through both,
## then stops the second server again.
ha-test:
	./build/mm-second.sh --restart
	source .mattermost/env && source .mattermost/env2 && \
		$(GO) test -count=1 -tags integration -run '^TestHA' ./server/integration/...; \
		rc=$$?; ./build/mm-second.sh --stop; exit $$rc

browser-test:
	cd e2e && $(NPM) test

bench: cli
	cd webapp && $(NPM) run bench

## bench-browser: display time of a 200-post encrypted channel in Chromium (needs make mm-up),
## in P2P (v2) and in channel-key mode (v3); then encrypted files' speed in Chromium (no server).
bench-browser: dist
	./build/deploy.sh $(BUNDLE)
	cd e2e && $(NPM) run bench
	cd e2e && BENCH_FORMAT=channel $(NPM) run bench
	cd e2e && node dist/bench/file_speed.js

## load: 20 clients post 2,000 encrypted and 2,000 plaintext posts to a fresh server of its own
## (.mattermost/load); prints counts, latencies and the plugin's RSS (docs/design.md, Load and faults).
load: dist
	./build/load.sh $(BUNDLE)

## faults: PostgreSQL restarted, the server killed, the plugin's process killed, each in the middle
## of posting, on a fresh server with a PostgreSQL cluster of its own (.mattermost/faults).
faults: dist
	./build/faults.sh $(BUNDLE)

## demo: a real server with two ready users and the test host, to try the plugin in a browser.
demo: dist
	./build/demo.sh

clean:
	rm -rf dist server/dist webapp/dist webapp/dist-cli e2e/dist
