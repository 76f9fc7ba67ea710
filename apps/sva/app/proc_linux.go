package app

import (
	"os"
	"syscall"
)

// childProcAttr puts each child in its own process group, so a Ctrl-C in the terminal reaches
// only the launcher, which then stops the children itself (in a known order, with a grace
// period) instead of racing them. Pdeathsig makes the kernel send SIGTERM to a child if the
// launcher dies without stopping it (for example SIGKILL), so no service is left holding its
// port. (Pdeathsig fires when the launching OS thread exits; Go only retires threads that were
// locked with LockOSThread, which this program never does.)
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// interrupt asks a child to shut down gracefully.
func interrupt(p *os.Process) error { return p.Signal(os.Interrupt) }
