//go:build swtls_static

package swtls

// Static linking (go build -tags swtls_static): libswtls.a of the installed library is
// linked into the Go binary, which then needs only glibc at run time.
//
// `pkg-config --static swtls` gives the header folder, the library folder and the system
// libraries that libswtls.a needs (swtls.pc's Libs.private), but it names the library
// -lswtls, which the linker resolves to libswtls.so when both are installed, and cgo
// cannot rewrite pkg-config's output. So -l:libswtls.a (GNU ld, gold, lld) comes first and
// resolves every swtls symbol from the archive, and -Wl,--as-needed keeps pkg-config's
// -lswtls, which has nothing left to resolve, from being recorded as a dependency (some
// compilers pass --as-needed by default, others do not). cgo puts these LDFLAGS before
// pkg-config's flags, and the linker searches every -L folder for every -l, whatever
// their order.

// #cgo pkg-config: --static swtls
// #cgo LDFLAGS: -l:libswtls.a -Wl,--as-needed
import "C"
