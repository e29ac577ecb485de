//go:build swtls_static

package swtls

// Static linking (go build -tags swtls_static): target/release/libswtls.a of this
// repository is linked into the Go binary, which then needs only the C library at run
// time. The system libraries are those that `cargo rustc --release --lib --crate-type
// staticlib -- --print native-static-libs` lists.

// #cgo LDFLAGS: ${SRCDIR}/../../target/release/libswtls.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
import "C"
