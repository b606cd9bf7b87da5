# Deputy — the two commands that matter are `make run` and `make test` (see README).
SHELL := /bin/bash
GO ?= go
TAGS := migrated_fynedo
export GOFLAGS ?= -buildvcs=false

.PHONY: run test test-go fuzz bench cli app lint deps screenshots package-windows smoke-windows clean

## run: the window, on the built-in demo when nothing else is configured
run: app
	./bin/deputy

## test: everything CI checks (installs apt packages, starts Xvfb and a private Secret Service)
test: deps
	CGO_ENABLED=0 $(GO) build -o bin/deputy-cli ./app/deputy-cli
	.ci/with-secret-service.sh .ci/with-xvfb.sh $(MAKE) --no-print-directory test-go fuzz

test-go:
	$(GO) vet -tags $(TAGS) ./...
	$(GO) test -tags $(TAGS) -count=1 -timeout 20m ./...

## fuzz: short fuzz runs of every fuzz target (longer: FUZZTIME=5m make fuzz)
FUZZTIME ?= 8s
fuzz:
	FUZZTIME=$(FUZZTIME) .ci/fuzz.sh

## bench: the benchmarks, with their figures
bench: deps
	.ci/with-secret-service.sh .ci/with-xvfb.sh $(GO) test -tags $(TAGS) -run '^$$' -bench . -benchtime 1x -timeout 30m ./...

## screenshots: the real window under Xvfb (welcome, profile, demo diagnosis light/dark, setup, EWS→Graph migration) → docs/screenshots/
screenshots: app
	@.ci/deps.sh test
	.ci/with-secret-service.sh .ci/with-xvfb.sh app/deputy/screenshots.sh

## cli: bin/deputy-cli (no cgo, no Fyne)
cli:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/deputy-cli ./app/deputy-cli

app:
	@.ci/deps.sh build
	$(GO) build -tags $(TAGS) -o bin/deputy ./app/deputy

## lint: go vet + staticcheck
lint:
	$(GO) vet -tags $(TAGS) ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -tags $(TAGS) ./...

deps:
	@.ci/deps.sh build test

clean:
	rm -rf bin dist

## package-windows: dist/ with signed Deputy.exe, deputy-cli.exe, MSI, portable zip, SHA256SUMS
package-windows:
	packaging/package-windows.sh

## smoke-windows: the Windows release under Wine + Xvfb (builds dist/ first if stale)
smoke-windows:
	packaging/smoke-windows.sh
