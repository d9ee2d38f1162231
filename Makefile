# The README's test command is `make test`; .ci/run calls it too. It stands
# alone on a fresh machine: it installs the Debian packages the tests need
# (as root), starts the Docker Engine when it does not answer, and makes the
# test images, then runs gofmt, vet, every test with the race detector and
# a short fuzz.
GO ?= go
# A count, not a duration: a duration races the fuzz coordinator's deadline
# in Go 1.26 (golang/go#75804) and fails with "context deadline exceeded".
FUZZTIME ?= 20000x

# Where `make demo` copies testdata/demo, so your edits and saved notebooks
# stay out of the repository.
DEMO_DIR ?= /tmp/tfdev-demo

# What the tests and the test images use from Debian.
DEB_PACKAGES = make curl busybox-static debootstrap tmux openssh-server openssh-client docker-registry

.PHONY: test build bench fmt-check demo images deps engine

build:
	$(GO) build -o bin/tfdev ./cmd/tfdev

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: fmt-check images
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout=25m ./...
	$(GO) test -run='^$$' -fuzz=FuzzContext -fuzztime=$(FUZZTIME) ./watcher

# The Debian packages, installed when missing (apt-get, as root).
deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The Docker Engine, started when it does not answer.
engine: deps
	@ping() { curl -fsS --max-time 2 --unix-socket /var/run/docker.sock http://engine/_ping >/dev/null 2>&1; }; \
	if ! ping; then \
		echo "the Docker Engine does not answer; starting it"; \
		service docker start >/dev/null 2>&1 || (nohup dockerd >/tmp/dockerd.log 2>&1 &); \
		for i in $$(seq 1 60); do ping && break; sleep 1; done; \
		ping || { echo "the Docker Engine did not start (see /tmp/dockerd.log)" >&2; exit 1; }; \
	fi

# The test base images, made through the Engine API; skipped when present.
images: deps engine
	$(GO) run ./testdata/mkimages

# The README's first command: tfdev up on the demo, on the local Jupyter base.
demo: images build
	@[ -d $(DEMO_DIR) ] || cp -r testdata/demo $(DEMO_DIR)
	bin/tfdev up -C $(DEMO_DIR) --build-arg BASE=tfdev-test/jupyter:bookworm

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...
