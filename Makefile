# make examples  - build the C examples into target/examples/ (against the release library)
# make demo      - the main job: mTLS collector on loopback + both C examples against it
# make test      - what CI runs: installs the test peers (.ci/run), then `make check`
# make check     - format, lints, all test suites, valgrind on the C examples, ASan/UBSan +
#                  valgrind on the C API test and stress programs, the demo
# make header    - regenerate include/swtls.h with cbindgen
# make test-python - the Python binding: venv in target/, pip install ./bindings/python, pytest
CARGO ?= cargo
CC ?= cc
CFLAGS ?= -O2 -g -Wall -Wextra -Werror -std=c11
LIBDIR := $(abspath target/release)
EXAMPLES := keepalive report agent

.PHONY: lib examples demo test check header bench clean-examples test-python

lib:
	$(CARGO) build --release --lib

examples: lib $(EXAMPLES:%=target/examples/%)

target/examples/%: examples/c/%.c examples/c/common.h include/swtls.h $(LIBDIR)/libswtls.so
	@mkdir -p target/examples
	$(CC) $(CFLAGS) -pthread -Iinclude -o $@ $< -L$(LIBDIR) -lswtls -Wl,-rpath,$(LIBDIR)

demo:
	bash examples/demo.sh

test:
	bash .ci/run

check: examples
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test --workspace
	$(CARGO) build -q --lib --no-default-features --features aws-lc-rs
	bash .ci/valgrind.sh
	bash .ci/sanitizers.sh
	bash examples/demo.sh

test-python:
	bash .ci/test-python.sh

# make test-java - the Java binding (bindings/java) and its io.grpc.Channel (bindings/java-grpc):
# library with the jni feature, JUnit suites against grpc-java servers, the example agent
# (needs a JDK and Maven)
.PHONY: test-java
test-java:
	bash .ci/test-java.sh

header:
	SWTLS_UPDATE_HEADER=1 $(CARGO) test --test header

bench:
	bash bench/compare/run.sh

clean-examples:
	rm -rf target/examples

# make test-go   - the Go binding: go vet, go test (-race, static), the Go example
.PHONY: test-go
test-go:
	bash .ci/test-go.sh
