//go:build !swtls_static

package swtls

// Dynamic linking (the default): against target/release/libswtls.so of this repository,
// found at run time through an rpath to that folder. To use a library installed elsewhere,
// put its folder first with CGO_LDFLAGS="-L/opt/swtls/lib -Wl,-rpath,/opt/swtls/lib" (or
// LD_LIBRARY_PATH at run time).

// #cgo LDFLAGS: -L${SRCDIR}/../../target/release -lswtls -Wl,-rpath,${SRCDIR}/../../target/release
import "C"
