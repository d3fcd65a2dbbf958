//go:build unix

package rasa

import (
	"syscall"
	"time"
)

// processCPU is the user+system CPU time of the whole process (GC workers
// included). On a shared machine it measures cost better than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
