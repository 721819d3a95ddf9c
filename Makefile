# heifip -- set-up, build, demo and tests.  `make demo` and `make test` work on a fresh Debian
# machine: they install the Debian packages they need (apt-get, as root or with sudo) and create
# their own virtual environment in .venv.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBS := libpcap-dev libstb-dev libdeflate-dev zlib1g-dev
TEST_DEBS := tshark wireshark-common
CC ?= gcc
CFLAGS_CORE := -std=c11 -Wall -Wextra -Wno-missing-field-initializers -Icsrc -I/usr/include/stb
CORE_SRC := $(filter-out csrc/module.c,$(wildcard csrc/*.c))
CTESTS := $(patsubst tests/c/%.c,build/ctest/%,$(wildcard tests/c/test_*.c))
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

.PHONY: all deps test-deps venv build demo test ctest pytest sanitize oracle clean bench bench-quick bench-deps fuzz fuzz-replay

all: build

deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

test-deps: deps
	@missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

$(VENV)/.stamp: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "numpy>=2" setuptools wheel pytest pillow "scapy==2.5.0"
	touch $@

venv: $(VENV)/.stamp

build: deps venv
	$(PIP) install -q --no-build-isolation -e .

demo: build
	$(PY) -m heifip.demo

ctest: deps $(CTESTS)
	@set -e; for t in $(CTESTS); do echo "== $$t"; $$t; done

build/ctest/%: tests/c/%.c $(CORE_SRC) $(wildcard csrc/*.h) tests/c/check.h
	@mkdir -p build/ctest
	$(CC) $(CFLAGS_CORE) -O1 -g -DHF_ALLOC_TESTING -DHF_DEBUG $(SAN) -o $@ $< $(CORE_SRC) -lpcap -ldeflate -lz -lm -pthread

pytest: build
	$(PY) -m pytest -q

test: test-deps build ctest fuzz-replay
	$(PY) -m pytest -q

# The Python suite against an ASan+UBSan build of the extension, in a venv of its own.  Python
# itself is not built with ASan, so libasan is preloaded and leak detection is left to `make ctest`
# (CPython keeps interned objects alive at exit, which LeakSanitizer would report).
ASAN_VENV := .venv-asan
sanitize: test-deps
	@[ -x $(ASAN_VENV)/bin/python ] || { $(PYTHON) -m venv $(ASAN_VENV) && \
	  $(ASAN_VENV)/bin/pip install -q --upgrade pip && \
	  $(ASAN_VENV)/bin/pip install -q "numpy>=2" setuptools wheel pytest pillow "scapy==2.5.0"; }
	rm -rf build/temp.* build/lib.* heifip/_core*.so
	HEIFIP_SANITIZE=1 $(ASAN_VENV)/bin/pip install -q --no-build-isolation -e .
	LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  PYTHONMALLOC=malloc HEIFIP_SANITIZED=1 $(ASAN_VENV)/bin/python -m pytest -q -x
	rm -rf build/temp.* build/lib.* heifip/_core*.so
	$(PIP) install -q --no-build-isolation -e .

# Fuzzing (tests/fuzz/README.md): `make fuzz` runs each libFuzzer harness for FUZZ_SECONDS with
# a seed corpus made from ../shared/pcaps and tests/fuzz/corpus; `make fuzz-replay` replays the
# regressions and seeds through the same harnesses built with gcc + ASan/UBSan (part of `make test`).
FUZZ_SECONDS ?= 60
fuzz: deps
	@command -v clang >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq clang libclang-rt-14-dev; }
	tests/fuzz/run.sh $(FUZZ_SECONDS)

fuzz-replay: deps
	tests/fuzz/replay.sh

# Benchmarks (issue 5): a table on stdout and in benchmarks/results.md, against heifip 1.1.1 and a
# bare libpcap loop.  `make bench-quick` is the short smoke run.  BENCH_ARGS=--no-oracle etc.
BENCH_DEBS := tcpreplay wireshark-common
bench-deps: deps
	@missing=""; for p in $(BENCH_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

bench: bench-deps build
	$(PY) benchmarks/run.py $(BENCH_ARGS)

bench-quick: bench-deps build
	$(PY) benchmarks/run.py --quick $(BENCH_ARGS)

# The reference implementation (heifip 1.1.1 + scapy 2.5.0) in a venv of its own, outside the
# repository (it has the same import name as this package).
oracle:
	$(PYTHON) tests/parity/oracle.py --ensure-venv

clean:
	rm -rf build $(VENV) *.egg-info heifip/*.so
