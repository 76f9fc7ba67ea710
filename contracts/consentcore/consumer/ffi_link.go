//go:build contract

package consumer

// Links pact-go against the libpact_ffi.so that `make pact-lib` puts in .tools/pact (see
// contracts/consumer/ffi_link.go).

// #cgo LDFLAGS: -L${SRCDIR}/../../../.tools/pact -Wl,-rpath,${SRCDIR}/../../../.tools/pact
import "C"
