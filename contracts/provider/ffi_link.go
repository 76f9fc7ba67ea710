//go:build contract

package provider

// Links pact-go against the libpact_ffi.so that `make pact-lib` puts in .tools/pact and records
// that directory as the test binary's run path, so no LD_LIBRARY_PATH is needed. It is a non-test
// file because test files cannot use cgo.

// #cgo LDFLAGS: -L${SRCDIR}/../../.tools/pact -Wl,-rpath,${SRCDIR}/../../.tools/pact
import "C"
