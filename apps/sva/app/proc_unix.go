//go:build unix && !linux

package app

import (
	"os"
	"syscall"
)

// childProcAttr puts each child in its own process group, so a Ctrl-C in the terminal reaches
// only the launcher, which then stops the children itself. (There is no parent-death signal
// outside Linux: if the launcher is killed with SIGKILL, stop the children by hand.)
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// interrupt asks a child to shut down gracefully.
func interrupt(p *os.Process) error { return p.Signal(os.Interrupt) }
