//go:build !unix

package app

import (
	"os"
	"syscall"
)

// childProcAttr needs no settings where there are no process groups or POSIX signals.
func childProcAttr() *syscall.SysProcAttr { return nil }

// interrupt cannot deliver os.Interrupt to another process on these systems, so it kills.
func interrupt(p *os.Process) error { return p.Kill() }
