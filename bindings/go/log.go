package swtls

// #include "swtls_go.h"
import "C"

import (
	"sync"
	"sync/atomic"
)

// LogLevel is the severity of a library log message.
type LogLevel int

// The log levels; a logger set with SetLogger receives its maximum level and those more
// severe.
const (
	LogError LogLevel = C.SWTLS_LOG_LEVEL_ERROR
	LogWarn  LogLevel = C.SWTLS_LOG_LEVEL_WARN
	LogInfo  LogLevel = C.SWTLS_LOG_LEVEL_INFO
	LogDebug LogLevel = C.SWTLS_LOG_LEVEL_DEBUG
)

// String returns "error", "warn", "info" or "debug".
func (l LogLevel) String() string {
	switch l {
	case LogError:
		return "error"
	case LogWarn:
		return "warn"
	case LogInfo:
		return "info"
	case LogDebug:
		return "debug"
	}
	return "unknown"
}

var (
	logger   atomic.Pointer[func(LogLevel, string)]
	loggerMu sync.Mutex // serializes SetLogger
)

// SetLogger routes the library's log messages of maxLevel and more severe to fn, in place
// of the default (warnings and errors on stderr); fn nil restores the default. The
// library is process-wide, so there is one logger per process.
//
// fn is called from the library's own threads as well as from the calling goroutines, and
// possibly concurrently: it must be safe for concurrent use and should not block. Messages
// never contain private keys or tokens.
func SetLogger(fn func(level LogLevel, message string), maxLevel LogLevel) error {
	loggerMu.Lock()
	defer loggerMu.Unlock()
	var msg *C.char
	if fn == nil {
		st := C.swtls_go_set_log(0, C.uint32_t(LogWarn), &msg)
		if err := errorFrom(st, msg); err != nil {
			return err
		}
		logger.Store(nil)
		return nil
	}
	old := logger.Swap(&fn)
	st := C.swtls_go_set_log(1, C.uint32_t(maxLevel), &msg)
	if err := errorFrom(st, msg); err != nil {
		logger.Store(old)
		return err
	}
	return nil
}

//export swtlsGoLog
func swtlsGoLog(level C.int, message *C.char, n C.size_t) {
	if fn := logger.Load(); fn != nil {
		(*fn)(LogLevel(level), C.GoStringN(message, C.int(n)))
	}
}
