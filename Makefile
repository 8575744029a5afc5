# onceflow: the two commands are `make run` (the main job) and `make test` (every test).
# Both install what they need (scripts/setup.sh), configure and build.
BUILD ?= build
JOBS ?= $(shell nproc)
# ccache keys on paths relative to the checkout: a fresh clone elsewhere reuses the cache.
export CCACHE_BASEDIR := $(CURDIR)
# The build that run, check, soak and test share (scripts/test.sh configures `build` with the
# same flags, so that switching between them rebuilds nothing): no benchmarks (`make bench` has
# its own build), debug info as line tables (stack traces keep file:line; builds are faster), and
# not the Python module (scripts/python_test.sh builds it in the same directory).
BUILD_FLAGS := -DCMAKE_BUILD_TYPE=RelWithDebInfo -DONCEFLOW_BENCH=OFF -DONCEFLOW_DEBUG_INFO=lines -DONCEFLOW_PYTHON=OFF

.PHONY: setup build run check test lint format soak fuzz bench clean

setup:
	@bash scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -G Ninja $(BUILD_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The main job: the exactly-once ledger demo — 1M transfers, the ledger pipeline SIGKILLed 5
# times and restarted, then every balance checked.
run: build
	./$(BUILD)/onceflow demo --data $(BUILD)/demo-data

# The inner loop: an incremental build and the unit and integration tests (no sanitizers, no
# crash loops; tests that need Kafka or PostgreSQL skip unless ONCEFLOW_TEST_KAFKA /
# ONCEFLOW_TEST_POSTGRES point at a server).
check: build
	cd $(BUILD) && ctest -L 'unit|integration' -LE 'slow|crash' --output-on-failure -j $(JOBS)

# Every test but the `slow` soaks: plain build, then ASan+UBSan, then TSan for the threaded
# parts, then a short fuzz run of every parser (5 s per target).
test: setup
	@bash scripts/test.sh

# clang-format check of every tracked C++ file (LINT_CHANGED=1: only those changed against
# origin/main) and clang-tidy over the core modules (src/util, log, checkpoint, state); `make
# test` runs it first. `make format` rewrites the files in place.
lint: setup
	@bash scripts/lint.sh

format: setup
	@bash scripts/lint.sh --format

# The Python package: installed into a fresh venv under $(BUILD) from the build's own objects,
# then its pytest suite (python/tests; `make test` runs it too).
.PHONY: python
python: build
	@bash scripts/python_test.sh $(BUILD)

# The commit protocol's Promela model checked by spin (model/README.md); `make test` runs it too.
.PHONY: model
model: setup
	@bash model/check.sh

# The long crash soaks (ctest label `slow`), then the chaos soaks of docs/soak.md
# (scripts/soak.sh: `onceflow chaos` with 1,000 kills of the ledger, 200 of a windowed aggregate,
# 200 of Kafka -> PostgreSQL, each audited).
soak: build
	cd $(BUILD) && ctest -L slow --output-on-failure
	ONCEFLOW=$(CURDIR)/$(BUILD)/onceflow bash scripts/soak.sh

# Every parser's fuzz target for 5 minutes each (about 35 minutes; scripts/fuzz.sh SECONDS
# [TARGET...] for another time or some targets).
fuzz: setup
	bash scripts/fuzz.sh 300

bench: setup
	@cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DONCEFLOW_BENCH=ON >/dev/null
	@cmake --build build-release -j $(JOBS)
	./build-release/bench/log_append_bench

clean:
	rm -rf build build-asan build-tsan build-fuzz build-release
