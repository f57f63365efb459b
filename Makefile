# Top-level convenience targets over CMake. `make demo` and `make test` are the two commands
# a user needs (README.md); the rest serve CI and development.
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

PREFIX     ?= /usr/local
REL_BUILD  ?= build-release

.PHONY: all build test demo asan tsan sanitize fuzz fuzz-run bench stress regen clean \
        install uninstall release

all: build

build:
	@cmake -S . -B $(BUILD) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# The real system for ~5 s: driver + producer + consumer processes (examples/demo.c). The
# data-plane-only demo (no driver) is ./$(BUILD)/examples/tp_demo_dataplane.
demo: build
	./$(BUILD)/examples/tp_demo

# Library, headers, CLI, pkg-config file and CMake package under PREFIX (DESTDIR honoured);
# docs/install.md. The installed paths (with DESTDIR, which CMake's manifest leaves out) are
# kept for `make uninstall`.
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)
	sed 's|^|$(DESTDIR)|' $(BUILD)/install_manifest.txt > $(BUILD)/installed_files.txt

uninstall:
	@test -f $(BUILD)/installed_files.txt || { echo "nothing installed from $(BUILD)"; exit 1; }
	xargs rm -f < $(BUILD)/installed_files.txt
	-grep '/tensorpool/[^/]*$$' $(BUILD)/installed_files.txt | xargs -n1 dirname | sort -u | \
	    xargs rmdir --ignore-fail-on-non-empty 2>/dev/null
	rm -f $(BUILD)/installed_files.txt

# The optimised build (-O3) of the whole tree, warning-free under -Werror, and its tests.
release:
	@cmake -S . -B $(REL_BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(REL_BUILD) -j$(JOBS)
	cd $(REL_BUILD) && ctest --output-on-failure -j$(JOBS)

# ASan+UBSan over every test; TSan over the concurrent parts (label "concurrent").
asan:
	@cmake -S . -B $(ASAN_BUILD) -DTP_SANITIZE=address -DTP_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j$(JOBS)

tsan:
	@cmake -S . -B $(TSAN_BUILD) -DTP_SANITIZE=thread -DTP_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(TSAN_BUILD) -j$(JOBS)
	cd $(TSAN_BUILD) && ctest --output-on-failure -j$(JOBS) -L concurrent

sanitize: asan tsan

# libFuzzer targets (clang). FUZZ_SECONDS per target for fuzz-run.
FUZZ_SECONDS ?= 60
fuzz:
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DTP_FUZZ=ON -DTP_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS)

fuzz-run: fuzz
	./tools/fuzz_run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: build
	./tools/bench_run.sh $(BUILD)

# Torn-read hunt for as long as asked: make stress STRESS_SECONDS=600
STRESS_SECONDS ?= 60
stress: build
	./$(BUILD)/tests/stress/stress_torn_read --seconds $(STRESS_SECONDS)

regen:
	python3 tools/sbe_gen.py --out src/codec/gen schemas/*.xml

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) $(REL_BUILD)
