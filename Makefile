# leaf-import: make demo runs the tool against the built-in sandbox; make test runs every test.
GO      ?= go
BIN     := bin/leaf-import
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
NPM_DEPS := conformance/node_modules/.installed

.PHONY: all build test unit conformance demo bench chaos lint fuzz clean

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/leaf-import

## test: formatting, vet, unit and end-to-end tests (race detector on), Leaf's Postman collection
test: lint unit conformance

unit:
	$(GO) test -race -count=1 ./...

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
bench:
	( $(GO) test -run '^$$' -bench ClientThroughput -benchtime 20000x -count 3 ./internal/leaf && \
	  $(GO) test -run '^$$' -bench PlanLarge -benchtime 1x ./internal/plan && \
	  $(GO) test -run '^$$' -bench 'Apply' -benchtime 1x -timeout 30m ./cmd/leaf-import ) 2>&1 \
	  | grep -v '^{"time"' | tee bench.out

## chaos: the long kill-and-resume suite against the sandbox
chaos: build
	$(GO) test -count=1 -timeout 180m -run 'TestChaosLong' -tags chaos -v ./cmd/leaf-import 2>&1 | grep -v '^{"time"' | tee chaos.out

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## fuzz: a longer fuzzing session of the manifest readers (the seed corpus runs in make test)
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzYAML -fuzztime 60s ./internal/plan
	$(GO) test -run '^$$' -fuzz FuzzCSV -fuzztime 60s ./internal/plan
	$(GO) test -run '^$$' -fuzz FuzzFastItem -fuzztime 120s ./internal/plan

clean:
	rm -rf bin bench.out conformance/node_modules
