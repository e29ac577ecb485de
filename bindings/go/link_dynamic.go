//go:build !swtls_static

package swtls

// Dynamic linking (the default): the header and libswtls.so come from the installed
// library, found with pkg-config (`make install PREFIX=...` in the repository writes
// PREFIX/lib/pkgconfig/swtls.pc; point PKG_CONFIG_PATH at that folder unless it is one
// pkg-config searches anyway). The binary records the soname libswtls.so.0: at run time
// the library is found through the system's library path (ldconfig), LD_LIBRARY_PATH, or
// an rpath set when building, e.g. CGO_LDFLAGS="-Wl,-rpath,PREFIX/lib".

// #cgo pkg-config: swtls
import "C"
