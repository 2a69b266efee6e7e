//! Where a server is and how to log in to it: host, port, user, password and TLS policy.
//!
//! Every crate that connects (the binary, prechecks, verification) builds its connection options
//! from an [`Endpoint`], so the TLS policy means the same everywhere and the password stays a
//! [`Secret`] until it is handed to the driver.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use mysql::{Opts, OptsBuilder, SslOpts};
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// How a connection uses TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// Plain TCP.
    #[default]
    Disabled,
    /// Encrypted; the server's certificate is not verified.
    Required,
    /// Encrypted; the certificate must be signed by the CA in `ca_file` (any host name).
    VerifyCa,
    /// Encrypted; the certificate must be signed by the CA in `ca_file` (without one, by a
    /// public CA of the driver's bundled roots) and name the host connected to.
    VerifyIdentity,
}

impl TlsMode {
    /// The name used in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disabled => "disabled",
            TlsMode::Required => "required",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyIdentity => "verify-identity",
        }
    }
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A server to connect to. `Debug` never shows the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// The account to log in as.
    pub user: String,
    /// Its password.
    pub password: Secret,
    /// Whether and how to use TLS.
    pub tls: TlsMode,
    /// The CA certificate (PEM) for `verify-ca` and `verify-identity`, trusted alone: the public
    /// roots bundled with the driver count only without it (vendor/mysql is patched for that).
    pub ca_file: Option<PathBuf>,
    /// How long the TCP connect may take.
    pub connect_timeout: Duration,
}

impl Endpoint {
    /// An endpoint without TLS and with a 10 s connect timeout.
    pub fn new(host: impl Into<String>, port: u16, user: impl Into<String>, password: Secret) -> Endpoint {
        Endpoint {
            host: host.into(),
            port,
            user: user.into(),
            password,
            tls: TlsMode::Disabled,
            ca_file: None,
            connect_timeout: Duration::from_secs(10),
        }
    }

    /// `user@host:port`, for messages.
    pub fn describe(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        format!("{}@{host}:{}", self.user, self.port)
    }

    /// Connection options over TCP with this endpoint's TLS policy.
    pub fn opts_builder(&self) -> OptsBuilder {
        let ssl = match self.tls {
            TlsMode::Disabled => None,
            TlsMode::Required => {
                Some(SslOpts::default().with_danger_accept_invalid_certs(true).with_danger_skip_domain_validation(true))
            }
            TlsMode::VerifyCa => Some(self.with_ca(SslOpts::default()).with_danger_skip_domain_validation(true)),
            TlsMode::VerifyIdentity => Some(self.with_ca(SslOpts::default())),
        };
        OptsBuilder::new()
            .ip_or_hostname(Some(self.host.clone()))
            .tcp_port(self.port)
            .user(Some(self.user.clone()))
            .pass(Some(self.password.expose()))
            .prefer_socket(false)
            .tcp_connect_timeout(Some(self.connect_timeout))
            .ssl_opts(ssl)
    }

    /// The same as [`Endpoint::opts_builder`], built.
    pub fn opts(&self) -> Opts {
        self.opts_builder().into()
    }

    fn with_ca(&self, o: SslOpts) -> SslOpts {
        match &self.ca_file {
            Some(p) => o.with_root_cert_path(Some(p.clone())),
            None => o,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_describe_never_show_the_password() {
        let e = Endpoint::new("db.example", 3306, "sync", Secret::new("s3cret-pw"));
        assert!(!format!("{e:?}").contains("s3cret-pw"));
        assert_eq!(e.describe(), "sync@db.example:3306");
        assert_eq!(Endpoint::new("::1", 3306, "u", Secret::default()).describe(), "u@[::1]:3306");
    }

    #[test]
    fn tls_modes_map_to_driver_options() {
        let mut e = Endpoint::new("h", 1, "u", Secret::default());
        assert!(e.opts().get_ssl_opts().is_none());
        e.tls = TlsMode::Required;
        let o = e.opts();
        let s = o.get_ssl_opts().unwrap();
        assert!(s.accept_invalid_certs() && s.skip_domain_validation());
        e.tls = TlsMode::VerifyCa;
        e.ca_file = Some("/etc/ca.pem".into());
        let o = e.opts();
        let s = o.get_ssl_opts().unwrap();
        assert!(!s.accept_invalid_certs() && s.skip_domain_validation());
        assert_eq!(s.root_cert_path().unwrap().to_str(), Some("/etc/ca.pem"));
        e.tls = TlsMode::VerifyIdentity;
        let o = e.opts();
        let s = o.get_ssl_opts().unwrap();
        assert!(!s.accept_invalid_certs() && !s.skip_domain_validation());
    }
}
