# The README's test command is `make test`; .ci/run calls it too.
GO ?= go
FUZZTIME ?= 20s

.PHONY: test build bench fmt-check

build:
	$(GO) build -o bin/tfdev ./cmd/tfdev

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: fmt-check
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	$(GO) test -run='^$$' -fuzz=FuzzContext -fuzztime=$(FUZZTIME) ./watcher

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...
