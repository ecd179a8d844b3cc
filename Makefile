# Sesame: short commands over CMake + CTest. See README.md.
#   make run   installs what is missing, builds, and runs Sesame
#   make test  installs what is missing, builds, and runs every check and test
SHELL := /bin/bash

BUILD        ?= build
ASAN_BUILD   ?= build-asan
FUZZ_BUILD   ?= build-fuzz
JOBS         ?= $(shell nproc)
FUZZ_SECONDS ?= 60
CMAKE_GEN    := -G Ninja

.PHONY: all deps build run test check unit asan torture fuzz-build fuzz bench soak format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Starts hub, sync and api on ./sesame-data (sesame up) and prints the OP_CONNECT_* exports.
run: build
	./$(BUILD)/sesame up

# The whole gate, as CI runs it: source checks, the fuzz drivers build, unit + fuzz-corpus
# + integration tests, then all of them again under ASan+UBSan.
test: deps check fuzz-build fuzz-short unit asan

check:
	@scripts/check-source.sh

unit: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DSESAME_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)
	scripts/torture.sh $(ASAN_BUILD) 25

# Allocation-failure torture over the pure modules' unit tests, in the ASan build: every
# allocation made to fail in turn (TORTURE_POINTS spread evenly when a test makes more).
TORTURE_POINTS ?= 2000
torture: deps
	@cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DSESAME_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	scripts/torture.sh $(ASAN_BUILD) $(TORTURE_POINTS)

fuzz-build: deps
	@CC=clang-14 cmake -S . -B $(FUZZ_BUILD) $(CMAKE_GEN) -DSESAME_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)

# Runs every libFuzzer driver for FUZZ_SECONDS seconds each (make fuzz FUZZ_SECONDS=600).
fuzz: fuzz-build
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The short pass of the gate (make test): every driver for 10 s; fails on any finding.
fuzz-short: fuzz-build
	scripts/fuzz.sh $(FUZZ_BUILD) 10

# Measures a real hub + two Connect servers against nginx and a do-nothing libmicrohttpd
# serving the same bytes (docs/benchmarks.md): reads with wrk, writes, propagation, cold
# start, memory; the table goes to $(BUILD)/bench/results.md and docs/benchmarks.md. Never
# part of `make test`. About 10 minutes; quick: BENCH_ITEMS=1000 BENCH_SECONDS=5 (knobs in
# scripts/bench/run.sh). Installs wrk and nginx-light (scripts/install-deps.sh --bench).
# The hub on a throwaway PostgreSQL 15 (scripts/pg-test-cluster.sh, removed at exit):
# BENCH_HUB_DATABASE=postgresql (default sqlite); the hub backends comparison only (set-up,
# writes, propagation; one row per backend in benchmarks.md "Hub backends"): BENCH_SCENARIOS=hub.
bench: build
	@scripts/install-deps.sh --bench
	scripts/bench/run.sh $(BUILD)

# A long run of hub + sync + api under an operator-like polling load with a trickle of
# writes: RSS must stay flat after the warm-up and every answer be right
# (docs/reliability.md). SOAK_MINUTES=30 SOAK_ITEMS=1000; knobs in scripts/soak/run.sh.
soak: build
	scripts/soak/run.sh $(BUILD)

format:
	@find src tests -name '*.[ch]' -print0 | xargs -0 clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
