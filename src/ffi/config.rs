//! `swtls_config`: building a configuration.

use super::{arg_out, arg_ref, arg_str, free_handle, guard, to_handle};
use crate::config::Config;
use crate::error::Status;
use std::ffi::c_char;
use std::sync::Mutex;

/// A channel configuration: the SkyWalking agent keys (see the README's configuration table).
///
/// Thread safety: a `swtls_config` may be used from several threads; calls on it are
/// serialized internally. Settings apply in call order: a later `swtls_config_set` or
/// `swtls_config_load_env` overwrites an earlier value of the same key.
pub struct swtls_config {
    pub(crate) inner: Mutex<Config>,
}

impl swtls_config {
    pub(crate) fn snapshot(&self) -> Config {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Creates a configuration holding the defaults. On success `*out` receives a new handle,
/// owned by the caller and released with `swtls_config_free`.
#[no_mangle]
pub unsafe extern "C" fn swtls_config_new(out: *mut *mut swtls_config) -> Status {
    guard("swtls_config_new", || {
        let out = arg_out(out, "out")?;
        out.write(to_handle(swtls_config { inner: Mutex::new(Config::default()) }));
        Ok(())
    })
}

/// Sets one key, e.g. `("collector.backend_service", "oap-1:11800,oap-2:11800")`.
/// An unknown key fails with `SWTLS_STATUS_CONFIG_UNKNOWN_KEY`, a value that does not parse
/// with `SWTLS_STATUS_CONFIG_INVALID_VALUE` or `SWTLS_STATUS_CONFIG_INVALID_BACKEND`; the
/// configuration is unchanged then. Both strings are copied.
#[no_mangle]
pub unsafe extern "C" fn swtls_config_set(
    config: *const swtls_config,
    key: *const c_char,
    value: *const c_char,
) -> Status {
    guard("swtls_config_set", || {
        let config = arg_ref(config, "config")?;
        let key = arg_str(key, "key")?;
        let value = arg_str(value, "value")?;
        config.inner.lock().unwrap_or_else(|p| p.into_inner()).set(key, value)
    })
}

/// Applies the environment variables of the configuration table that are set
/// (`SW_AGENT_COLLECTOR_BACKEND_SERVICES`, `SW_AGENT_FORCE_TLS`, … and `SWTLS_CA_DIR`).
/// On error the configuration is unchanged and the message names the variable.
#[no_mangle]
pub unsafe extern "C" fn swtls_config_load_env(config: *const swtls_config) -> Status {
    guard("swtls_config_load_env", || {
        let config = arg_ref(config, "config")?;
        config.inner.lock().unwrap_or_else(|p| p.into_inner()).load_env()
    })
}

/// Releases a configuration. `swtls_config_free(NULL)` does nothing. Channels built from
/// it keep their own copy.
#[no_mangle]
pub unsafe extern "C" fn swtls_config_free(config: *mut swtls_config) {
    super::guard_or((), || free_handle(config))
}
