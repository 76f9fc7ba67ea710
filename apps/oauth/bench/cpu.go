package main

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuSample is the machine's CPU counters (/proc/stat) and this process's CPU time at one moment.
type cpuSample struct {
	busy, total uint64 // jiffies, all CPUs; total 0 if /proc/stat is unreadable
	own         time.Duration
	db          time.Duration // CPU of the PostgreSQL backends serving the bench database
}

// benchDatabase, when set, names the PostgreSQL database whose backends' CPU time sampleCPU adds
// up (their process titles read "postgres: [cluster:] USER DATABASE …").
var benchDatabase string

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux).
const clockTick = 100

func sampleCPU() cpuSample {
	var s cpuSample
	if benchDatabase != "" {
		s.db = backendCPU(benchDatabase)
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.own = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s
	}
	line, _, _ := strings.Cut(string(b), "\n")
	s.busy, s.total = parseProcStatCPU(line)
	return s
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
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		cmd, err := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if err != nil || !strings.HasPrefix(string(cmd), "postgres: ") {
			continue
		}
		// "postgres: [cluster: ]USER DATABASE HOST(PORT) STATE" (Debian adds "15/main:").
		if f := strings.Fields(string(cmd)); !slices.Contains(f[:min(len(f), 5)], database) {
			continue
		}
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		total += procStatCPU(string(stat))
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

// since returns the share of all CPUs that were busy (any process) and that this process used
// between s0 and s over wall time elapsed. host is -1 when /proc/stat was unreadable.
func (s cpuSample) since(s0 cpuSample, elapsed time.Duration) (host, own float64) {
	host = -1
	if s.total > s0.total && s0.total > 0 {
		host = float64(s.busy-s0.busy) / float64(s.total-s0.total)
	}
	if elapsed > 0 {
		own = float64(s.own-s0.own) / float64(elapsed) / float64(runtime.NumCPU())
	}
	return host, own
}
