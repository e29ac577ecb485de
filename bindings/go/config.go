package swtls

// #include <stdlib.h>
// #include "swtls_go.h"
import "C"

import (
	"runtime"
	"sync"
)

// Config is a channel configuration holding the SkyWalking agent keys (see the README's
// configuration table). Settings apply in call order: a later Set or LoadEnv overwrites an
// earlier value of the same key, so set code defaults first and load the environment last.
// Values are checked when they are set; a failed call leaves the configuration unchanged.
//
// A Config may be used from several goroutines. Close releases it; channels made from it
// keep their own copy.
type Config struct {
	mu  sync.Mutex
	ptr *C.swtls_config // nil after Close
}

// NewConfig returns a configuration holding the defaults.
func NewConfig() (*Config, error) {
	var ptr *C.swtls_config
	var msg *C.char
	if st := C.swtls_go_config_new(&ptr, &msg); st != C.SWTLS_STATUS_OK {
		return nil, errorFrom(st, msg)
	}
	c := &Config{ptr: ptr}
	runtime.SetFinalizer(c, (*Config).Close) // a safety net: call Close
	return c, nil
}

// Set sets one key, e.g. Set("collector.backend_service", "oap-1:11800,oap-2:11800").
// An unknown key fails with StatusConfigUnknownKey, a value that does not parse with
// StatusConfigInvalidValue or StatusConfigInvalidBackend; the message names them.
func (c *Config) Set(key, value string) error {
	if err := checkString("key", key); err != nil {
		return err
	}
	if err := checkString("value of "+key, value); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ptr == nil {
		return errConfigClosed()
	}
	var msg *C.char
	k, kn := strArg(key)
	v, vn := strArg(value)
	st := C.swtls_go_config_set(c.ptr, k, kn, v, vn, &msg)
	return errorFrom(st, msg)
}

// LoadEnv applies the environment variables of the configuration table that are set
// (SW_AGENT_COLLECTOR_BACKEND_SERVICES, SW_AGENT_FORCE_TLS, … and SWTLS_CA_DIR). On error
// the configuration is unchanged and the message names the variable.
func (c *Config) LoadEnv() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ptr == nil {
		return errConfigClosed()
	}
	var msg *C.char
	st := C.swtls_go_config_load_env(c.ptr, &msg)
	return errorFrom(st, msg)
}

// Close releases the configuration. It is idempotent; Set and LoadEnv fail with
// StatusClosed afterwards.
func (c *Config) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ptr != nil {
		C.swtls_config_free(c.ptr)
		c.ptr = nil
	}
}

func errConfigClosed() error {
	return &Error{Code: StatusClosed, Message: "the configuration is closed (Config.Close was called); make a new one"}
}
