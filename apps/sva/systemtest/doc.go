// Package systemtest holds whole-system tests: the real provider, Core, consent UI and demo
// relying app, booted in-process on free 127.0.0.1 ports with SQLite in a temporary directory.
//
//   - harness_test.go boots the stack (used by both suites below);
//   - integration_test.go drives the OAuth flow over HTTP as a relying app and as Core's user,
//     then scans both databases and every service's logs for plaintext (checklist 45);
//   - e2e_test.go (//go:build e2e) drives the consent UI and the demo in headless Chromium.
//
// The package has no non-test code; this file only documents it.
package systemtest
