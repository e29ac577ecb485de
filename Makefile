# make examples  - build the C examples into target/examples/ (against the release library)
# make demo      - the main job: mTLS collector on loopback + both C examples against it
# make test      - what CI runs: installs the test peers (.ci/run), then `make check`
# make check     - format, lints, all test suites, valgrind on the C examples, ASan/UBSan +
#                  valgrind on the C API test and stress programs, the demo
# make header    - regenerate include/swtls.h with cbindgen, then the bindings' files made from it
# make abi       - regenerate the bindings' view of the C API from include/swtls.h (tests/abi):
#                  bindings/python/src/swtls/_abi.py and the Java binding's StatusCodes.java
# make install   - install the C library from the release build: include/swtls.h,
#                  libswtls.so.X.Y.Z with its soname link libswtls.so.X and libswtls.so,
#                  libswtls.a and lib/pkgconfig/swtls.pc (PREFIX=/usr/local,
#                  LIBDIR=$(PREFIX)/lib, INCLUDEDIR=$(PREFIX)/include; DESTDIR stages)
# make uninstall - remove what make install put there
# make portable  - the shipped build: the release library against glibc 2.17 symbol versions
#                  (cargo-zigbuild; .ci/portable.sh), checked by .ci/check-glibc.sh, in
#                  target/x86_64-unknown-linux-gnu/release/
# make dist      - every artifact into target/dist/, from the portable build (see README,
#                  "Artifacts"): the C tarball (header, libraries, swtls.pc), the Python
#                  wheel (manylinux2014) and sdist (make dist-python), the jars
#                  (make dist-java), ...
# make install LIBSRC=DIR - install the libraries of DIR instead of target/release
# make test-python - the Python binding: the wheel of make dist-python installed into a fresh
#                  venv in target/, pytest against it; the sdist built from source, a few tests
CARGO ?= cargo
CC ?= cc
CFLAGS ?= -O2 -g -Wall -Wextra -Werror -std=c11
RELEASE_DIR := $(abspath target/release)
EXAMPLES := keepalive report agent

.PHONY: lib examples demo test check header abi bench clean-examples test-python

lib:
	$(CARGO) build --release --lib

examples: lib $(EXAMPLES:%=target/examples/%)

target/examples/%: examples/c/%.c examples/c/common.h include/swtls.h $(RELEASE_DIR)/libswtls.so
	@mkdir -p target/examples
	$(CC) $(CFLAGS) -pthread -Iinclude -o $@ $< -L$(RELEASE_DIR) -lswtls -Wl,-rpath,$(RELEASE_DIR)

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

# make plugin-jar - the SkyWalking Java agent plugin (bindings/skywalking-java-plugin): the
# swtls binding, its native library and the GRPCChannelManager override, shaded onto the
# agent's grpc, in target/dist/swtls-skywalking-java-plugin-<version>.jar; built by
# `make dist-java` with the jars it ships, from the same portable library (its tests,
# including the end-to-end one with the real agent, run in `make test-java`)
.PHONY: plugin-jar
plugin-jar: dist-java
	@echo "target/dist/swtls-skywalking-java-plugin-$(VERSION).jar: drop it into the agent's plugins/ folder"

header:
	SWTLS_UPDATE_HEADER=1 $(CARGO) test --test header
	$(MAKE) abi

abi:
	SWTLS_UPDATE_ABI=1 $(CARGO) test --test abi

bench:
	bash bench/compare/run.sh

clean-examples:
	rm -rf target/examples

# make test-go   - the Go binding, built from a copy of bindings/go against the library
#                  installed into a temporary prefix (pkg-config): go vet, go test (-race,
#                  static), the Go example
.PHONY: test-go
test-go:
	bash .ci/test-go.sh

# Installing the C library. The version comes from Cargo.toml ([package] version); the
# soname, libswtls.so.$(VERSION_MAJOR), is set by build.rs when the library is linked.
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL ?= install
VERSION := $(shell awk -F'"' '/^\[/ { p = ($$0 == "[package]") } p && /^version *=/ { print $$2; exit }' Cargo.toml)
VERSION_MAJOR := $(firstword $(subst ., ,$(VERSION)))
# What a program linking libswtls.a needs besides (Rust's std on glibc), as printed by
# `cargo rustc --release --lib --crate-type staticlib -- --print native-static-libs`; the
# static link in .ci/test-install.sh checks that it is enough. The Go binding's static
# build (bindings/go/link_static.go) takes it from swtls.pc (pkg-config --static).
STATIC_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
# swtls.pc names its directories relative to ${prefix} where they are under it, so that
# `pkg-config --define-prefix` can relocate an installed tree.
pc_dir = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

.PHONY: install uninstall
# Where the installed libraries come from: the local release build by default; `make dist`
# installs the portable build.
LIBSRC ?= target/release
install: $(if $(filter target/release,$(LIBSRC)),lib)
	@test -n "$(VERSION)" || { echo "no [package] version in Cargo.toml"; exit 1; }
	$(INSTALL) -d "$(DESTDIR)$(INCLUDEDIR)" "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(PKGCONFIGDIR)"
	$(INSTALL) -m 644 include/swtls.h "$(DESTDIR)$(INCLUDEDIR)/swtls.h"
	$(INSTALL) -m 755 $(LIBSRC)/libswtls.so "$(DESTDIR)$(LIBDIR)/libswtls.so.$(VERSION)"
	ln -sf libswtls.so.$(VERSION) "$(DESTDIR)$(LIBDIR)/libswtls.so.$(VERSION_MAJOR)"
	ln -sf libswtls.so.$(VERSION_MAJOR) "$(DESTDIR)$(LIBDIR)/libswtls.so"
	$(INSTALL) -m 644 $(LIBSRC)/libswtls.a "$(DESTDIR)$(LIBDIR)/libswtls.a"
	printf '%s\n' \
		'prefix=$(PREFIX)' \
		'libdir=$(call pc_dir,$(LIBDIR))' \
		'includedir=$(call pc_dir,$(INCLUDEDIR))' \
		'' \
		'Name: swtls' \
		'Description: One TLS/mTLS gRPC core for Apache SkyWalking agents (C API)' \
		'Version: $(VERSION)' \
		'Libs: -L$${libdir} -lswtls' \
		'Libs.private: $(STATIC_LIBS)' \
		'Cflags: -I$${includedir}' \
		> "$(DESTDIR)$(PKGCONFIGDIR)/swtls.pc"
	chmod 644 "$(DESTDIR)$(PKGCONFIGDIR)/swtls.pc"

uninstall:
	rm -f "$(DESTDIR)$(INCLUDEDIR)/swtls.h" "$(DESTDIR)$(PKGCONFIGDIR)/swtls.pc" \
		"$(DESTDIR)$(LIBDIR)/libswtls.so" "$(DESTDIR)$(LIBDIR)/libswtls.so.$(VERSION_MAJOR)" \
		"$(DESTDIR)$(LIBDIR)/libswtls.so.$(VERSION)" "$(DESTDIR)$(LIBDIR)/libswtls.a"

# The portable build and the artifacts made from it.
PORTABLE_TRIPLE := x86_64-unknown-linux-gnu
PORTABLE_DIR := target/$(PORTABLE_TRIPLE)/release
DIST := target/dist
PLATFORM := linux-x86_64
C_DIST_NAME := swtls-$(VERSION)-$(PLATFORM)

.PHONY: portable dist dist-c
portable:
	bash .ci/portable.sh

# The C tarball: include/swtls.h, lib/libswtls.so.X.Y.Z (+ links), lib/libswtls.a and
# lib/pkgconfig/swtls.pc under one folder; its swtls.pc says prefix=/usr/local, and
# `pkg-config --define-prefix` finds the folder wherever it is unpacked.
dist-c: portable
	rm -rf target/dist-stage/c && mkdir -p target/dist-stage/c $(DIST)
	$(MAKE) -s install LIBSRC=$(PORTABLE_DIR) PREFIX=/usr/local DESTDIR=$(abspath target/dist-stage/c)
	mv target/dist-stage/c/usr/local target/dist-stage/c/$(C_DIST_NAME)
	strip --strip-debug target/dist-stage/c/$(C_DIST_NAME)/lib/libswtls.a
	tar -C target/dist-stage/c --owner=0 --group=0 --numeric-owner -czf $(DIST)/$(C_DIST_NAME).tar.gz $(C_DIST_NAME)
	@ls -l $(DIST)/$(C_DIST_NAME).tar.gz

# The Python wheel (the portable library, tagged manylinux2014, checked with auditwheel) and
# sdist (the crate in rust/): python -m build bindings/python, by .ci/dist-python.sh.
.PHONY: dist-python
dist-python: portable
	bash .ci/dist-python.sh $(PORTABLE_DIR)/libswtls.so

# The jars: swtls-$(VERSION).jar (the portable library built with the jni feature inside, at
# native/linux-x86_64/libswtls.so) and swtls-grpc-$(VERSION).jar; .ci/dist-java.sh. First in
# dist: it leaves the portable output built with jni, and the `portable` of the others then
# rebuilds the crate without it (once), which is what they ship and what later steps use.
.PHONY: dist-java
dist-java:
	bash .ci/dist-java.sh $(VERSION)

dist: dist-java dist-c dist-python
	@echo "artifacts in $(DIST):" && ls -l $(DIST)
