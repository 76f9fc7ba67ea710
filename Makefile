# SVA build and test entry points. `make test` is the README's test command;
# `make run` starts every service locally on SQLite.

SHELL := /bin/bash
GO    ?= go
# Extra flags for `go test` (CI passes -v so skipped tests are visible in the log).
GOTESTFLAGS ?=

# libpact_ffi for the pact-go v2.4.2 contract tests, from the pact-core npm package (checksum
# pinned below). pact-core 18.1.0 ships FFI 0.4.28; 19.x (FFI 0.5) does not link with pact-go
# (undefined pactffi_create_mock_server, pactffi_verify).
PACT_DIR    := $(CURDIR)/.tools/pact
PACT_CORE   := 18.1.0
PACT_PKG    := @pact-foundation/pact-core-linux-x64-glibc@$(PACT_CORE)
PACT_TGZ    := pact-foundation-pact-core-linux-x64-glibc-$(PACT_CORE).tgz
PACT_SHA256 := f2e805e6433afa2cabc3ad3c309786a975075319dcb370c737e0041b4bff9887

# Build-tagged suites run only once someone has written them.
CONTRACT_TESTS := $(shell grep -rl --include='*_test.go' '^//go:build.*\bcontract\b' contracts 2>/dev/null)
CONTRACT_PKGS  := $(sort $(addprefix ./,$(dir $(CONTRACT_TESTS))))
E2E_TESTS      := $(shell grep -rl --include='*_test.go' --exclude-dir=.tools --exclude-dir=node_modules '^//go:build.*\be2e\b' . 2>/dev/null)
# Packages with an OpenAPI golden test (see `make openapi`).
OPENAPI_PKGS   := $(sort $(dir $(shell grep -rl --include='*_test.go' 'func TestOpenAPIDrift' adapters 2>/dev/null)))

.PHONY: test contract pact-update check-generated generate e2e pact-lib openapi bench bench-soak bench-micro run chromium
.PHONY: fuzz-run
.PHONY: ui-check ui-types test-setup testreport ui-deps browser-deps contract-run e2e-run promtool

## test: install what the suites need (test-setup), then run every step — go vet, go test ./...,
## the consent UI's type check, the contract and browser suites — and end with ONE line of totals
## (passed, failed, skipped with reasons) from apps/testreport. Every step runs even when an
## earlier one fails, so the totals are complete; the exit status is non-zero if anything failed.
## TEST_VERBOSE=1 shows every test's output (CI).
REPORT_DIR := artifacts/test-report
TESTREPORT := $(CURDIR)/.tools/bin/testreport
REPORT_V   := $(if $(TEST_VERBOSE),-v,)
RUN_STEP    = $(TESTREPORT) run -dir $(REPORT_DIR) $(REPORT_V) -name
test: test-setup
	@rm -rf $(REPORT_DIR); mkdir -p $(REPORT_DIR)
	-@$(RUN_STEP) "go vet" -- $(GO) vet ./...
	-@$(RUN_STEP) "go test" -- $(GO) test -json $(GOTESTFLAGS) -count=1 ./...
	-@$(RUN_STEP) "ui-check" -- $(MAKE) --no-print-directory ui-check
	-@$(RUN_STEP) "contract" -- $(MAKE) --no-print-directory contract-run CONTRACT_JSON=-json
	-@$(RUN_STEP) "e2e" -- $(MAKE) --no-print-directory e2e-run E2E_JSON=-json
	-@$(RUN_STEP) "fuzz" -- $(MAKE) --no-print-directory fuzz-run FUZZ_JSON=-json
	@$(TESTREPORT) summary -dir $(REPORT_DIR) -prefix "make test" -expect 6

## fuzz-run: each Go native fuzz target (issue 8: the authorize and token parameter parsing,
## Core's JSON inputs, the control-character rule) fuzzed after its committed seed corpus
## (testdata/fuzz, which plain `go test` replays too). The budgets are counts of inputs, about ten
## seconds each on an idle 2-core machine, not durations: go1.26's fuzz coordinator can report a
## spurious "context deadline exceeded" failure when a -fuzztime duration ends while a worker of a
## loaded machine is mid-input (golang/go#75804, fixed in go1.27); a count has no deadline to race.
## FUZZTIME=30s (or 1000x) overrides every target's budget. Every target runs even when one
## fails; the exit status says whether any did.
FUZZTIME     ?=
FUZZ_TARGETS := adapters/oauth/httpapi:FuzzAuthorizeParameters:20000x adapters/oauth/httpapi:FuzzTokenParameters:25000x \
	adapters/core/httpapi:FuzzCoreJSONInputs:8000x domain/textinput:FuzzCheckAgreesWithValidAndNeverPanics:150000x
fuzz-run:
	@status=0; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; rest=$${t#*:}; fn=$${rest%%:*}; budget=$${rest#*:}; \
		$(GO) test $(FUZZ_JSON) -count=1 -run "^$$fn$$" -fuzz "^$$fn$$" -fuzztime $${FUZZTIME:-$$budget} -parallel 2 ./$$pkg || status=1; \
	done; exit $$status

## test-setup: install everything the test suites need BEFORE any test runs, or fail naming the
## command that installs it. Add a new suite's installer to TEST_SETUP.
TEST_SETUP := testreport pact-lib chromium ui-deps browser-deps promtool
test-setup: $(TEST_SETUP)
	@echo "test-setup: done ($(TEST_SETUP))"

## testreport: build the totals reporter `make test` runs its steps through.
testreport:
	@mkdir -p $(dir $(TESTREPORT)) && $(GO) build -o $(TESTREPORT) ./apps/testreport

## ui-deps: the consent UI's pinned type checker (npm ci from its committed lockfile).
ui-deps:
	@npm ci --prefix $(UI_TYPES_DIR) --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null || \
		{ echo "ui-deps: npm ci failed; run: npm ci --prefix $(UI_TYPES_DIR) (needs Node 20+ and the npm registry)" >&2; exit 1; }

## browser-deps: axe-core for the browser tests' accessibility audit (pinned, npm ci from the
## committed lockfile in adapters/browsertest).
BROWSERTEST_DIR := adapters/browsertest
browser-deps:
	@npm ci --prefix $(BROWSERTEST_DIR) --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null || \
		{ echo "browser-deps: npm ci failed; run: npm ci --prefix $(BROWSERTEST_DIR) (needs Node 20+ and the npm registry)" >&2; exit 1; }

## promtool: Prometheus's rule checker for the shipped alert rules and dashboard (deploy/; checked by
## apps/sva/systemtest TestOpsFiles). A promtool on PATH is used as it is; otherwise the one in
## Debian's prometheus package is extracted into .tools/prometheus (apt-get download: no daemon
## installed or started, no root needed once the package lists exist).
PROMTOOL_DIR := $(CURDIR)/.tools/prometheus
promtool:
	@set -e; \
	if command -v promtool >/dev/null 2>&1; then echo "promtool: $$(command -v promtool) present"; exit 0; fi; \
	if [ -x "$(PROMTOOL_DIR)/promtool" ]; then echo "promtool: $(PROMTOOL_DIR)/promtool present"; exit 0; fi; \
	mkdir -p "$(PROMTOOL_DIR)"; tmp=$$(mktemp -d "$(PROMTOOL_DIR)/.fetch.XXXXXX"); trap 'rm -rf "$$tmp"' EXIT; \
	( cd "$$tmp" && { apt-get download prometheus >/dev/null 2>&1 || \
	    { [ "$$(id -u)" = 0 ] && apt-get update -q >/dev/null && apt-get download prometheus >/dev/null 2>&1; }; } ) || \
		{ echo "promtool: 'apt-get download prometheus' failed (needs Debian's apt); install promtool on PATH, or run: apt-get install prometheus" >&2; exit 1; }; \
	dpkg-deb -x "$$tmp"/prometheus_*.deb "$$tmp/x"; \
	mv "$$tmp/x/usr/bin/promtool" "$(PROMTOOL_DIR)/promtool"; \
	"$(PROMTOOL_DIR)/promtool" --version >/dev/null; \
	echo "promtool: installed $(PROMTOOL_DIR)/promtool from Debian's prometheus package"

## contract: Pact tests (//go:build contract; docs/contracts.md): each consumer test checks the
## committed pact is what it generates, each provider verifies it, and the mutation checks prove
## verification fails against a broken provider. Each package's ffi_link.go links .tools/pact.
contract: pact-lib contract-run

CONTRACT_JSON ?=
contract-run:
ifneq ($(strip $(CONTRACT_TESTS)),)
	PACT_DO_NOT_TRACK=true $(GO) test $(CONTRACT_JSON) $(GOTESTFLAGS) -tags contract -count=1 $(CONTRACT_PKGS)
else
	@echo "contract: no //go:build contract tests under contracts/ yet"
endif

## pact-update: rewrite contracts/pacts from every consumer's tests (review the diff), then verify.
pact-update: pact-lib
	for p in $(filter %/consumer/,$(CONTRACT_PKGS)); do \
		PACT_DO_NOT_TRACK=true $(GO) test -tags contract -count=1 $$p -args -update || exit 1; done
	$(MAKE) contract

## check-generated: fail if a committed oapi-codegen client differs from what its document generates.
check-generated:
	$(GO) test -count=1 -run TestGeneratedClientsUpToDate ./contracts/codegen/

## generate: regenerate the oapi-codegen clients (after `make openapi`).
generate:
	$(GO) generate ./adapters/...

## e2e: browser end-to-end tests (//go:build e2e); installs Chromium and axe-core if missing.
e2e: chromium browser-deps e2e-run

E2E_JSON ?=
e2e-run:
ifneq ($(strip $(E2E_TESTS)),)
	$(GO) test $(E2E_JSON) $(GOTESTFLAGS) -tags e2e -run TestE2E -count=1 $(sort $(addprefix ./,$(patsubst ./%,%,$(dir $(E2E_TESTS)))))
else
	@echo "e2e: no //go:build e2e tests yet"
endif

## ui-check: the consent UI's JS against Core's API (docs/consent-ui.md): install the pinned
## openapi-typescript + typescript (npm ci from the committed lockfile; offline once the npm cache
## holds them), fail if core-api.d.ts differs from what openapi/core.yaml generates, then tsc.
UI_TYPES_DIR := adapters/consent/web/ui-types
ui-check: ui-deps
	@set -euo pipefail; \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(UI_TYPES_DIR)/node_modules/.bin/openapi-typescript openapi/core.yaml -o "$$tmp/core-api.d.ts" >/dev/null; \
	diff -u $(UI_TYPES_DIR)/core-api.d.ts "$$tmp/core-api.d.ts" || \
		{ echo "ui-check: $(UI_TYPES_DIR)/core-api.d.ts is stale; run 'make ui-types' and review the diff" >&2; exit 1; }; \
	$(UI_TYPES_DIR)/node_modules/.bin/tsc -p $(UI_TYPES_DIR); \
	echo "ui-check: core-api.d.ts up to date; consent UI modules type-check"

## ui-types: regenerate the consent UI's core-api.d.ts after openapi/core.yaml changes (then `make ui-check`).
ui-types: ui-deps
	$(UI_TYPES_DIR)/node_modules/.bin/openapi-typescript openapi/core.yaml -o $(UI_TYPES_DIR)/core-api.d.ts

## pact-lib: fetch libpact_ffi.so into .tools/pact (sha256-verified, idempotent).
pact-lib:
	@set -euo pipefail; \
	so="$(PACT_DIR)/libpact_ffi.so"; \
	if [ -f "$$so" ] && echo "$(PACT_SHA256)  $$so" | sha256sum -c --status -; then \
		echo "pact-lib: $$so present and verified"; exit 0; fi; \
	mkdir -p "$(PACT_DIR)"; tmp=$$(mktemp -d "$(PACT_DIR)/.fetch.XXXXXX"); trap 'rm -rf "$$tmp"' EXIT; \
	( cd "$$tmp" && npm pack "$(PACT_PKG)" --silent >/dev/null && \
	  tar -xzf "$(PACT_TGZ)" --strip-components=3 package/prebuilds/linux-x64/libpact_ffi.so ) || \
		{ echo "pact-lib: could not fetch $(PACT_PKG) with npm pack; run: make pact-lib (needs npm and its registry)" >&2; exit 1; }; \
	echo "$(PACT_SHA256)  $$tmp/libpact_ffi.so" | sha256sum -c --quiet -; \
	mv "$$tmp/libpact_ffi.so" "$$so"; \
	echo "pact-lib: installed $$so"

## openapi: regenerate the committed openapi/*.yaml from the huma code
## (each httpapi package's TestOpenAPIDrift rewrites its golden file with -update).
openapi:
ifneq ($(strip $(OPENAPI_PKGS)),)
	$(GO) test -count=1 -run TestOpenAPIDrift $(addprefix ./,$(OPENAPI_PKGS)) -args -update
else
	@echo "openapi: no TestOpenAPIDrift tests yet"
endif

## bench: the complete sign-in and the token endpoint under load (apps/bench; docs/performance.md):
## real provider, Core and consent-server processes on SQLite, PostgreSQL (SVA_BENCH_POSTGRES_DSN)
## and MariaDB (SVA_BENCH_MYSQL_DSN; BENCH_DBS=sqlite,postgres without it), concurrency 16 and 64;
## prints per scenario the rate, latency, errors and, per operation, HTTP requests, SQL statements,
## CPU ms of every process and peak RSS. BENCH_FLAGS e.g. "-duration 20s -o bench.md".
BENCH_DBS ?= sqlite,postgres,mysql
BENCH_FLAGS ?=
bench:
	$(GO) run ./apps/bench -dbs $(BENCH_DBS) $(BENCH_FLAGS)

## bench-soak: the sign-in for 12 minutes on SQLite (both services sweep inside it); throughput and database size per minute.
bench-soak:
	$(GO) run ./apps/bench -soak 12m $(BENCH_FLAGS)

## bench-micro: the `go test -bench` micro-benchmarks, no unit tests.
bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## run: start oauth, core, consent and the demo app on SQLite (see README).
run:
	$(GO) run ./apps/sva

## chromium: install Debian's Chromium for the browser tests if it is missing (non-interactive;
## a failed install fails the target and names the command). CHROME_PATH points at another build.
chromium:
	@set -e; exe="$${CHROME_PATH:-/usr/bin/chromium}"; \
	if [ -x "$$exe" ]; then echo "chromium: $$exe present"; exit 0; fi; \
	if [ -n "$$CHROME_PATH" ]; then echo "chromium: CHROME_PATH=$$CHROME_PATH is not an executable" >&2; exit 1; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "chromium: missing; run: sudo apt-get install -y chromium (or set CHROME_PATH)" >&2; exit 1; fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	{ apt-get update -q && apt-get install -y -q chromium; } >/dev/null || \
		{ echo "chromium: 'apt-get install -y chromium' failed (needs Debian's apt); install it, or set CHROME_PATH" >&2; exit 1; }; \
	[ -x /usr/bin/chromium ] || { echo "chromium: installed, but /usr/bin/chromium is missing" >&2; exit 1; }; \
	echo "chromium: installed /usr/bin/chromium"
