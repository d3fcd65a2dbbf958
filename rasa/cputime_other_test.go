//go:build !unix

package rasa

import "time"

func processCPU() time.Duration { return 0 }
