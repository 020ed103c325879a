# leaf-import: make demo runs the tool against the built-in sandbox; make test runs every test.
GO      ?= go
BIN     := bin/leaf-import
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
NPM_DEPS := conformance/node_modules/.installed
# Tools run at pinned versions through the Go module proxy (no global install needed).
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOTESTSUM   := $(GO) run gotest.tools/gotestsum@v1.13.0
PLATFORMS   := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
IMAGE       ?= leaf-import:$(VERSION)

.PHONY: all build test tools unit deploy-check conformance demo bench chaos lint fuzz clean image release

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/leaf-import

## test: formatting, vet, unit and end-to-end tests (race detector on), Leaf's Postman collection,
## the deployment's Kubernetes and Prometheus files checked with the real tools
test: lint tools unit deploy-check conformance

## tools: the real programs the tests hand output to (promtool, Pushgateway, ssconvert, chromium), from Debian
tools:
	bash scripts/test-tools.sh

## unit: go test with the race detector, a line per package as it finishes (gotestsum) and a summary
unit:
	$(GOTESTSUM) --format pkgname-and-test-fails --format-hide-empty-pkg -- -race -count=1 ./...

## deploy-check: deploy/kubernetes decoded strictly into the Kubernetes API types and held to the
## restricted Pod Security Standard (its own Go module, deploy/check), and the alert rules' tests
deploy-check:
	cd deploy/check && $(GO) test -count=1 ./...

## conformance: Leaf's own Postman collection against the sandbox, with newman (installed from npm)
conformance: build $(NPM_DEPS)
	node conformance/run.js $(BIN)

$(NPM_DEPS): conformance/package.json conformance/package-lock.json
	cd conformance && npm ci --no-audit --no-fund --loglevel=error
	touch $@

## demo: start the sandbox and run leaf-import's main job against it
demo: build
	bash scripts/demo.sh $(BIN)

## bench: benchmarks and the figures the issues ask for (written to bench.out)
##   BenchmarkFigures times the built binary as a user runs it (wall, CPU, peak RSS) and prints
##   every figure of the speed targets as a ratio, with its target; it fails when one misses.
bench:
	( fail=0; \
	  $(GO) test -run '^$$' -bench Figures -benchtime 1x -timeout 60m ./cmd/leaf-import || fail=1; \
	  $(GO) test -run '^$$' -bench ClientThroughput -benchtime 20000x -count 3 ./internal/leaf || fail=1; \
	  $(GO) test -run '^$$' -bench PlanLarge -benchtime 1x ./internal/plan || fail=1; \
	  $(GO) test -run '^$$' -bench 'Apply' -benchtime 1x -timeout 30m ./cmd/leaf-import || fail=1; \
	  echo "bench: exit $$fail"; exit $$fail ) 2>&1 | grep -v '^{"time"' | tee bench.out
	@! grep -q '^bench: exit 1' bench.out

## chaos: the long kill-and-resume suite against the sandbox
chaos: build
	$(GO) test -count=1 -timeout 180m -run 'TestChaosLong' -tags chaos -v ./cmd/leaf-import 2>&1 | grep -v '^{"time"' | tee chaos.out

## lint: gofmt, go vet, a tidy go.mod, staticcheck, and a build for every release platform
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff
	$(STATICCHECK) ./...
	@for p in linux darwin windows; do echo "GOOS=$$p go build ./..."; GOOS=$$p GOARCH=amd64 $(GO) build ./... || exit 1; done

## image: the container image (Dockerfile: static binary, non-root, distroless)
image:
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) .

## release: static binaries for every platform in dist/, with SHA256SUMS
release:
	rm -rf dist && mkdir -p dist
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		out=dist/leaf-import-$(VERSION)-$$os-$$arch$$ext; echo "build $$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $$out ./cmd/leaf-import; \
	done
	cd dist && sha256sum leaf-import-* > SHA256SUMS && cat SHA256SUMS

## fuzz: a longer fuzzing session of the manifest readers (the seed corpus runs in make test)
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzYAML -fuzztime 60s ./internal/manifest
	$(GO) test -run '^$$' -fuzz FuzzCSV -fuzztime 60s ./internal/manifest
	$(GO) test -run '^$$' -fuzz FuzzFastItem -fuzztime 120s ./internal/manifest

clean:
	rm -rf bin dist bench.out conformance/node_modules
