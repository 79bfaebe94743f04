//go:build unix && !linux

package kafkatest

import "syscall"

func setDeathSignal(*syscall.SysProcAttr) {}
