#![cfg(any(feature = "native-tls", feature = "rustls"))]

mod native_tls_io;
mod rustls_io;

// dts-sync patch: see rustls_io::trusted_root_count.
#[cfg(feature = "rustls")]
pub use rustls_io::trusted_root_count;
