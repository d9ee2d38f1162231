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

# What the tests and the test images use from Debian. Podman's lane needs
# catatonit (the containers' init), uidmap and slirp4netns (rootless).
DEB_PACKAGES = make curl busybox-static debootstrap tmux openssh-server openssh-client docker-registry \
	podman catatonit uidmap slirp4netns chromium

# Podman's lane: the Engine tests and the main end-to-end tests again, on
# Podman's Docker API served on a socket of its own. Skipped there: what
# only BuildKit has (the build session, and the tests that compare its view
# of the context with tfdev's), and the CDI test, which starts a Podman of
# its own in the main run (two at once would write clashing CDI specs).
PODMAN_SOCK = /run/tfdev-podman/podman.sock
PODMAN_SKIP = ^(TestSession.*|TestContextMatchesARealBuild|TestPodmanGPUsThroughCDI)$$
PODMAN_CMD_TESTS = ^(TestUpEndToEnd|TestKernelSurvivesAReplacement|TestNotebookWhereNothingSyncsSurvives|TestEditsOnBothSidesWhileAwayAreBothKept)$$
# The user whose rootless Podman TestRootlessPodman runs tfdev on.
ROOTLESS_USER = tfdev-rootless

.PHONY: test build bench fmt-check demo images deps engine podman

build:
	$(GO) build -o bin/tfdev ./cmd/tfdev

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Podman's lane runs after the main run: side by side on two cores, the
# main run's end-to-end tests passed go test's 25-minute bound.
test: fmt-check images podman
	$(GO) vet ./...
	TFDEV_REQUIRE_PODMAN=1 $(GO) test -race -count=1 -timeout=25m ./...
	@echo "Podman's lane, on $(PODMAN_SOCK)"
	@export DOCKER_HOST=unix://$(PODMAN_SOCK) TFDEV_REQUIRE_PODMAN=1; \
	$(GO) test -count=1 -timeout=15m -skip '$(PODMAN_SKIP)' ./dockerctl/engine/... & engine=$$!; \
	$(GO) test -count=1 -timeout=15m -run '$(PODMAN_CMD_TESTS)' ./cmd/tfdev & cmd=$$!; \
	wait $$engine; e=$$?; wait $$cmd; c=$$?; [ $$e -eq 0 ] && [ $$c -eq 0 ]
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

# Podman for its lane: set up as this machine needs it, its service started
# on PODMAN_SOCK, the test images copied from the Docker Engine (same IDs:
# copied again when the Docker Engine's differ), and a user for rootless
# Podman.
podman: deps engine images
	@# This machine runs containers inside a container, where Podman's
	@# defaults fail: crun is not installed (runc is), systemd does not run
	@# (so cgroupfs, and events to a file, not the journal), and the default
	@# ulimits are above the outer container's hard limit. Written only when
	@# the machine has no containers.conf of its own.
	@[ -e /etc/containers/containers.conf ] || printf '%s\n' \
		'# Written by tfdev'"'"'s make test: containers inside a container need runc,' \
		'# cgroupfs, events in a file and no default ulimits.' \
		'[containers]' 'default_ulimits = []' '[engine]' 'runtime = "runc"' \
		'cgroup_manager = "cgroupfs"' 'events_logger = "file"' > /etc/containers/containers.conf
	@# Rootless Podman's networking (slirp4netns) opens /dev/net/tun, which
	@# most distributions leave open to users and this machine does not.
	@[ ! -c /dev/net/tun ] || chmod 666 /dev/net/tun
	@id $(ROOTLESS_USER) >/dev/null 2>&1 || useradd -m $(ROOTLESS_USER)
	@ping() { curl -fsS --max-time 2 --unix-socket $(PODMAN_SOCK) http://podman/_ping >/dev/null 2>&1; }; \
	if ! ping; then \
		mkdir -p $(dir $(PODMAN_SOCK)); rm -f $(PODMAN_SOCK); \
		(nohup podman system service --time=0 unix://$(PODMAN_SOCK) >/tmp/tfdev-podman.log 2>&1 &); \
		for i in $$(seq 1 30); do ping && break; sleep 1; done; \
		ping || { echo "Podman's service did not start (see /tmp/tfdev-podman.log)" >&2; exit 1; }; \
	fi
	@for img in tfdev-test/busybox:1.35 tfdev-test/jupyter:bookworm; do \
		want=$$(docker image inspect -f '{{.Id}}' $$img | sed 's/^sha256://'); \
		have=$$(podman image inspect -f '{{.Id}}' $$img 2>/dev/null); \
		[ "$$want" = "$$have" ] || { echo "copying $$img into Podman"; docker save $$img | podman load -q; }; \
	done

# The test base images, made through the Engine API; skipped when present.
images: deps engine
	$(GO) run ./testdata/mkimages

# The README's first command: tfdev up on the demo, on the local Jupyter base.
demo: images build
	@[ -d $(DEMO_DIR) ] || cp -r testdata/demo $(DEMO_DIR)
	bin/tfdev up -C $(DEMO_DIR) --build-arg BASE=tfdev-test/jupyter:bookworm

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...
