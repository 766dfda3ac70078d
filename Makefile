# cliser — the two commands a new machine needs are `make run` and `make test`.
GO       ?= go
BIN      := bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# make run uses this password unless CLISER_PASSWORD, CLISER_PASSWORD_FILE
# or CLISER_CONFIG is set.
DEV_PASSWORD ?= dev-password
FUZZTIME ?= 10s
# staticcheck finds what vet does not (unused code, deprecated APIs, loops
# that never loop); pinned, so a new release's checks do not turn CI red.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Build products that do not name the clone's directory, so that a
# machine's Go build cache serves every clean clone: without it CI rebuilt
# cliser's packages for vet, staticcheck and the race-built tests on each
# new path (CI 12.2 min; 9.9 with it, docs/testing.md).
export GOFLAGS := -trimpath $(GOFLAGS)

.PHONY: all build install run test lint fuzz screenshots ui-20k bench bench-full bench-cluster soak clean image image-tools $(BIN)/cliser $(BIN)/cliser-prof

all: lint test build

# bench/ is its own Go module (bench/go.mod, replace => ../): its commands
# (cliser-bench, baseline-bench-server, floor-server) are built from it.
build: $(BIN)/cliser $(BIN)/cliser-prof
	CGO_ENABLED=0 $(GO) -C bench build -trimpath -o $(CURDIR)/$(BIN)/ ./cmd/...

# Puts cliser on the PATH: $(DESTDIR)$(PREFIX)/bin/cliser, as packagers
# expect (PREFIX=/usr for a package, DESTDIR=$$pkgdir to stage it). The
# systemd units in deploy/systemd/ run $(PREFIX)/bin/cliser of the default
# PREFIX.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
install: $(BIN)/cliser
	install -d "$(DESTDIR)$(BINDIR)"
	install -m 0755 $(BIN)/cliser "$(DESTDIR)$(BINDIR)/cliser"
	@echo "make install: $(DESTDIR)$(BINDIR)/cliser"

# Starts the server in the foreground on its defaults (protocol :7070,
# admin 127.0.0.1:7071, data in ./data) with a development password, unless
# CLISER_PASSWORD, CLISER_PASSWORD_FILE or a config file (CLISER_CONFIG)
# gives the passwords: then the development one is not added (the server
# says how to give one if the file holds none), and the banner prints no
# password. The banner says the addresses in use: CLISER_LISTEN,
# CLISER_ADMIN_LISTEN and CLISER_DATA_DIR move them; one a config file may
# set instead is named as such, not guessed (its YAML is the server's to
# read). Its agent command is safe to paste: no "<password>", which a shell
# reads as a redirection; and it dials the host CLISER_LISTEN names (a
# wildcard is localhost), quoted when it is an IPv6 one ([::1] is a glob):
# "localhost" was refused by a server listening on one address of another
# interface.
run: build
	@set_by() { if [ -z "$$1" ] && [ -n "$${CLISER_CONFIG}" ]; then echo " (or the config file's $$2)"; fi; }; \
	listen="$${CLISER_LISTEN:-:7070}"; port="$${listen##*:}"; host="$${listen%:*}"; \
	case "$$host" in ""|"0.0.0.0"|"[::]") host=localhost;; esac; \
	[ -z "$$(set_by "$${CLISER_LISTEN}" listen)" ] || { port=PORT; host=localhost; }; \
	nchost="$${host#[}"; nchost="$${nchost%]}"; server="$$host:$$port"; \
	case "$$host" in "["*) server="'$$server'";; esac; \
	admin="$${CLISER_ADMIN_LISTEN:-127.0.0.1:7071}"; \
	case "$$admin" in off) admin="off";; *) admin="on http://$$admin";; esac; \
	echo "cliser: protocol on $$listen$$(set_by "$${CLISER_LISTEN}" listen)," \
		"admin API $$admin$$(set_by "$${CLISER_ADMIN_LISTEN}" admin-listen)," \
		"data in $${CLISER_DATA_DIR:-./data}$$(set_by "$${CLISER_DATA_DIR}" data-dir)"; \
	[ -z "$${CLISER_CONFIG}" ] || echo "cliser: config file $${CLISER_CONFIG} (CLISER_CONFIG): the server's log below says where it listens and keeps its data"; \
	if [ -n "$${CLISER_PASSWORD}$${CLISER_PASSWORD_FILE}$${CLISER_CONFIG}" ]; then \
		pw="<password>"; agent=", with CLISER_PASSWORD set to one of the passwords:  "; \
		echo "cliser: passwords from $${CLISER_PASSWORD:+CLISER_PASSWORD }$${CLISER_PASSWORD_FILE:+CLISER_PASSWORD_FILE }$${CLISER_CONFIG:+the config file }(no development password)"; \
	else \
		pw="$(DEV_PASSWORD)"; export CLISER_PASSWORD="$$pw"; agent=":  CLISER_PASSWORD=$$pw "; \
		echo "cliser: development password: $$pw   (set CLISER_PASSWORD, CLISER_PASSWORD_FILE or CLISER_CONFIG to choose others)"; \
	fi; \
	echo "cliser: connect by hand:  nc $$nchost $$port   then type  110 $$pw  and  120 my-device-1"; \
	echo "cliser: or run an agent$${agent}$(BIN)/cliser agent --server $$server --id my-device-1"; \
	exec $(BIN)/cliser serve --log-format console

# The whole suite, with the race detector. .ci/run calls exactly this.
# ./... stops at bench/go.mod, so the bench module is run explicitly, at
# the same time as the main one, which runs four packages at once. With
# three, the suite used under half of two cores (~700 s of CPU in a 12.9
# min make test at 53567f5) while ui, 40th of 41 in path order, waited
# 8.5 min for a lane. Six at once finished no sooner than four (8.8-9.4
# min against 9.4) but held the load at 8-10 throughout, and three of its
# five runs broke timing-bound tests. docs/testing.md has the runs. The
# bench module's output comes last.
# -timeout is a guard against a hung test, not a speed goal: at load 17
# (CI beside three audits) the cluster and cmd/cliser packages passed
# 9 min; on a quiet machine they now take ~330 s each.
test:
	@out=$$(mktemp); \
	echo "$(GO) -C bench test -race -count=1 -timeout 15m ./...  (output below, when done)"; \
	$(GO) -C bench test -race -count=1 -timeout 15m ./... >$$out 2>&1 & bench=$$!; \
	echo "$(GO) test -race -count=1 -timeout 15m -p 4 ./..."; \
	$(GO) test -race -count=1 -timeout 15m -p 4 ./...; main=$$?; \
	wait $$bench; b=$$?; cat $$out; rm -f $$out; \
	if [ $$main -ne 0 ] || [ $$b -ne 0 ]; then echo "make test: FAIL (main module $$main, bench module $$b)"; exit 1; fi

# The dashboard's browser tests, writing docs/screenshots/*.png (needs
# the Debian chromium package).
screenshots:
	CLISER_UPDATE_SCREENSHOTS=1 $(GO) test -count=1 -run 'TestDashboard' ./ui/

# The dashboard with 20,000 registered clients: time to first rows <= 1 s
# (part of make test too, unless the machine is too busy to time a page;
# this runs it alone, however busy, and shows its figures).
ui-20k:
	CLISER_UI_20K=1 $(GO) test -count=1 -v -run 'TestDashboard20000Clients' ./ui/

lint:
	$(GO) vet ./...
	$(GO) -C bench vet ./...
	$(STATICCHECK) ./...
	cd bench && $(STATICCHECK) ./...
	$(GO) mod tidy -diff
	$(GO) -C bench mod tidy -diff
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Short runs of every fuzz target; FUZZTIME=2m for a real run.
fuzz:
	@set -e; for dir in . bench; do for pkg in $$($(GO) -C $$dir list ./...); do \
	  for t in $$($(GO) -C $$dir test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; $(GO) -C $$dir test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done; done

clean:
	rm -rf $(BIN)

# CGO off: a static binary, which is what the container image runs.
$(BIN)/cliser:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/cliser ./cmd/cliser

# cliser's benchmark build: the release build plus the CPU profile hook
# (cmd/cliser/cpuprofile.go), which the harness arms for the profiled
# bursts after each server's measured ones. make bench runs this one.
$(BIN)/cliser-prof:
	CGO_ENABLED=0 $(GO) build -trimpath -tags cpuprofile -ldflags '$(LDFLAGS)' -o $(BIN)/cliser-prof ./cmd/cliser

# The container image (Dockerfile): FROM scratch around bin/cliser and the
# host's CA bundle, tagged $(IMAGE):$(VERSION) and $(IMAGE):latest. Built
# with podman when present, else docker (ENGINE=docker to choose); no
# registry is needed. PODMAN_FLAGS carry this VM's quirks (no systemd).
IMAGE        ?= cliser
ENGINE       ?= $(firstword $(shell command -v podman 2>/dev/null) $(shell command -v docker 2>/dev/null))
CA_BUNDLE    ?= /etc/ssl/certs/ca-certificates.crt
PODMAN_FLAGS ?= --runtime runc --cgroup-manager cgroupfs
image: image-tools $(BIN)/cliser
	rm -rf $(BIN)/image && mkdir -p $(BIN)/image && mkdir -m 0700 $(BIN)/image/data
	cp $(BIN)/cliser $(BIN)/image/cliser
	cp "$(CA_BUNDLE)" $(BIN)/image/ca-certificates.crt
	@# podman keeps HEALTHCHECK only in the docker image format.
	$(ENGINE) $(if $(findstring podman,$(notdir $(ENGINE))),$(PODMAN_FLAGS) build --format docker,build) \
	  -f Dockerfile -t $(IMAGE):$(VERSION) -t $(IMAGE):latest $(BIN)/image
	@echo "make image: built $(IMAGE):$(VERSION) and $(IMAGE):latest with $(notdir $(ENGINE))"

# Checked before the binary is built, so a missing engine is said at once.
image-tools:
	@test -n "$(ENGINE)" || { echo "make image: neither podman nor docker is installed (Debian: apt-get install podman runc)" >&2; exit 1; }
	@test -r "$(CA_BUNDLE)" || { echo "make image: no CA bundle at $(CA_BUNDLE) (Debian: apt-get install ca-certificates, or set CA_BUNDLE=FILE)" >&2; exit 1; }

# The benchmark harness: cliser and the design-note baseline under the same
# load, one after the other; writes bench/results/<date>[-quick].md with a
# chart (see docs/performance.md). bench is the quick mode (a few minutes,
# up to 5k clients); bench-full goes up to 19k clients.
bench: build
	$(BIN)/cliser-bench compare --mode quick --cliser-bin $(BIN)/cliser-prof

bench-full: build
	$(BIN)/cliser-bench compare --mode full --cliser-bin $(BIN)/cliser-prof

# Soak: 2000 clients for 2 minutes under churn (reconnects, takeovers,
# new ids), the server with every feature on (event log, webhook, a
# credential per client, flapping control); fails unless the server's
# RSS, goroutines, fds, events.db and webhook lag stay flat.
# Writes bench/results/<date>-soak.md (see docs/performance.md).
soak: build
	$(BIN)/cliser-bench soak --duration 2m

# Cluster: 3 `cliser serve --cluster` nodes on an embedded NATS JetStream,
# CLUSTER_CLIENTS clients each (18000 for the full run); registration rate,
# visibility on every node, command routing. Writes
# bench/results/<date>-cluster[-3xN].md (see docs/cluster.md).
CLUSTER_CLIENTS ?= 3000
bench-cluster: build
	$(BIN)/cliser-bench cluster --clients-per-node $(CLUSTER_CLIENTS)
