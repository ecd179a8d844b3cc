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

.PHONY: all deps build run test check unit asan fuzz-build fuzz bench format clean

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
test: deps check fuzz-build unit asan

check:
	@scripts/check-source.sh

unit: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DSESAME_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

fuzz-build: deps
	@CC=clang-14 cmake -S . -B $(FUZZ_BUILD) $(CMAKE_GEN) -DSESAME_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)

# Runs every libFuzzer driver for FUZZ_SECONDS seconds each (make fuzz FUZZ_SECONDS=600).
fuzz: fuzz-build
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Measures a real hub + sync + api (docs/benchmarks.md): read throughput, latency, memory
# under polling, propagation and start-up. BENCH_ITEMS=1000 BENCH_SECONDS=20 BENCH_CONC=8.
bench: build
	scripts/bench/run.sh $(BUILD)

format:
	@find src tests -name '*.[ch]' -print0 | xargs -0 clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
