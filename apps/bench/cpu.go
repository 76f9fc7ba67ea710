package main

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux).
const clockTick = 100

// hostCPU reads the aggregate busy and total jiffies of all CPUs (/proc/stat); 0, 0 if unreadable.
func hostCPU() (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return parseProcStatCPU(line)
}

// selfCPU is this process's user+system CPU time (the load driver).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pidCPU is a process's user+system CPU time so far (0 if it is gone).
func pidCPU(pid int) time.Duration {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	return procStatCPU(string(stat))
}

// pidRSS is a process's resident set size in bytes (VmRSS; 0 if it is gone).
func pidRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) >= 1 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n << 10 // kB
			}
		}
	}
	return 0
}

// parseProcStatCPU reads the aggregate "cpu" line of /proc/stat: user nice system idle iowait irq
// softirq steal …; idle and iowait are not busy. guest time is already in user.
func parseProcStatCPU(line string) (busy, total uint64) {
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		if i >= 8 { // guest, guest_nice are included in user, nice
			break
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, 0
		}
		total += n
		if i != 3 && i != 4 {
			busy += n
		}
	}
	return busy, total
}

// backendCPU sums the CPU time of the local PostgreSQL backends connected to database.
func backendCPU(database string) time.Duration {
	return processesCPU(func(pid string) bool {
		cmd, err := os.ReadFile("/proc/" + pid + "/cmdline")
		if err != nil || !strings.HasPrefix(string(cmd), "postgres: ") {
			return false
		}
		// "postgres: [cluster: ]USER DATABASE HOST(PORT) STATE" (Debian adds "15/main:").
		f := strings.Fields(string(cmd))
		return slices.Contains(f[:min(len(f), 5)], database)
	})
}

// processCPU is the CPU time so far of every process whose command name (/proc/PID/comm) is one
// of names.
func processCPU(names ...string) time.Duration {
	return processesCPU(func(pid string) bool {
		comm, err := os.ReadFile("/proc/" + pid + "/comm")
		return err == nil && slices.Contains(names, strings.TrimSpace(string(comm)))
	})
}

// processesCPU sums the CPU time so far of the processes for which match(pid) holds.
func processesCPU(match func(pid string) bool) time.Duration {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil || !match(d.Name()) {
			continue
		}
		if stat, err := os.ReadFile("/proc/" + d.Name() + "/stat"); err == nil {
			total += procStatCPU(string(stat))
		}
	}
	return total
}

// procStatCPU returns utime+stime of a /proc/<pid>/stat line (fields 14 and 15; the command name
// in parentheses may contain spaces).
func procStatCPU(stat string) time.Duration {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(u+st) * time.Second / clockTick
}
