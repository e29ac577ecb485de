//! swtls: one TLS/mTLS gRPC core for Apache SkyWalking agents.
//!
//! The Rust API ([`Config`], [`Channel`], [`ClientStream`]) is what the C API in [`ffi`]
//! converts to and from; every binding goes through the same code.

#[macro_use]
mod logging;

pub mod backend;
mod boundary;
pub mod call;
#[cfg(feature = "certs")]
pub mod certs;
pub mod channel;
#[cfg(feature = "cli")]
pub mod check;
mod codec;
pub mod config;
mod connect;
pub mod error;
pub mod ffi;
mod framed;
#[cfg(feature = "jni")]
mod jni;
mod pool;
mod random;
pub mod reporter;
pub mod runtime;
pub mod stats;
pub mod stream;
#[cfg(feature = "test-hooks")]
pub mod testing;
pub mod tls;

pub use backend::Backend;
pub use call::{CallOptions, CancelToken, Connectivity, Metadata, MAX_RESPONSE_BYTES};
pub use channel::Channel;
pub use config::Config;
pub use error::{Error, Result, Status};
pub use logging::{set_rust_sink, LogLevel};
pub use stats::Stats;
pub use stream::{ClientStream, Readiness, StreamCanceller, StreamReadiness};
pub use tls::TlsMode;
