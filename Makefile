# The README's test command is `make test`; .ci/run calls it too.
GO ?= go
# A count, not a duration: a duration races the fuzz coordinator's deadline
# in Go 1.26 (golang/go#75804) and fails with "context deadline exceeded".
FUZZTIME ?= 20000x

# Where `make demo` copies testdata/demo, so your edits and saved notebooks
# stay out of the repository.
DEMO_DIR ?= /tmp/tfdev-demo

.PHONY: test build bench fmt-check demo images

build:
	$(GO) build -o bin/tfdev ./cmd/tfdev

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: fmt-check
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	$(GO) test -run='^$$' -fuzz=FuzzContext -fuzztime=$(FUZZTIME) ./watcher

# The Debian packages the test images need (as root), then the images.
images:
	@command -v debootstrap >/dev/null && [ -x /bin/busybox ] || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap busybox-static)
	$(GO) run ./testdata/mkimages

# The README's first command: tfdev up on the demo, on the local Jupyter base.
demo: images build
	@[ -d $(DEMO_DIR) ] || cp -r testdata/demo $(DEMO_DIR)
	bin/tfdev up -C $(DEMO_DIR) --build-arg BASE=tfdev-test/jupyter:bookworm

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...
