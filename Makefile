# Hotline's developer entry points. `make test` is what CI runs (.ci/run).

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all test deps vet unit run build bench-bus fmt-check clean ui

all: build

## test: install the test peers if missing, then vet and test everything
test:
	./deploy/install-test-deps.sh
	$(GO) vet ./...
	$(GO) test ./...

## deps: only install what the test suite needs (idempotent)
deps:
	./deploy/install-test-deps.sh

vet:
	$(GO) vet ./...

## unit: tests without installing anything first
unit:
	$(GO) test ./...

## run: start the all-in-one process on the embedded defaults (data in ./data)
run:
	$(GO) run ./cmd/hotline serve

## build: build ./hotline with the version stamped in
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o hotline ./cmd/hotline

## ui: rebuild the web app into webui/ui/dist (commit the result; go build
## embeds it, so building Hotline needs no Node)
ui:
	cd webui/ui/web && npm ci && npm run build

## bench-bus: the bus load command on a fresh embedded bus
bench-bus: build
	./hotline bench bus

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -f hotline
