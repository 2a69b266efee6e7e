//! Reaching a server: the network, TLS and login each get their own item, so a wrong password,
//! an unreachable host and a server without TLS read as the different problems they are.

use std::net::{TcpStream, ToSocketAddrs};

use dts_types::{Endpoint, TlsMode};
use mysql::Conn;

use crate::report::Item;

/// Connects to `ep`, returning the connectivity items of `side` ("source" or "destination")
/// and the connection when login succeeded.
pub fn connect(side: &str, ep: &Endpoint) -> (Vec<Item>, Option<Conn>) {
    let id = |what: &str| format!("{side}.{what}");
    let addr = format!("{}:{}", ep.host, ep.port);
    let mut items = Vec::new();
    let network_title = "the server accepts TCP connections";
    // The network first, on its own: refused, timed out and unknown host are told apart here.
    let addrs = match (ep.host.as_str(), ep.port).to_socket_addrs() {
        Ok(a) => a.collect::<Vec<_>>(),
        Err(e) => {
            items.push(Item::failure(
                &id("network"),
                network_title,
                format!("the host name {:?} does not resolve: {e}", ep.host),
                format!("check [{side}] host in the task config, or the DNS of this machine"),
            ));
            return (items, None);
        }
    };
    let mut last_err = None;
    let reached = addrs.iter().any(|a| match TcpStream::connect_timeout(a, ep.connect_timeout) {
        Ok(_) => true,
        Err(e) => {
            last_err = Some(e);
            false
        }
    });
    if !reached {
        let e = last_err.map_or("no address".to_string(), |e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused (nothing listens on that port)".into(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                format!(
                    "no answer within {} s (host down or a firewall drops the packets)",
                    ep.connect_timeout.as_secs()
                )
            }
            _ => e.to_string(),
        });
        items.push(Item::failure(
            &id("network"),
            network_title,
            format!("cannot reach {addr}: {e}"),
            format!(
                "check [{side}] host and port, that the server runs and listens on that address (bind_address), and firewalls"
            ),
        ));
        return (items, None);
    }
    items.push(Item::pass(&id("network"), network_title, format!("{addr} reachable")));

    let tls_title = "TLS as the config asks";
    let login_title = "login with the configured user and password";
    match Conn::new(ep.opts()) {
        Ok(mut c) => {
            let cipher = if ep.tls == TlsMode::Disabled {
                None
            } else {
                use mysql::prelude::Queryable;
                c.query_first::<(String, String), _>("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
                    .ok()
                    .flatten()
                    .map(|r| r.1)
            };
            items.push(match (ep.tls, cipher) {
                (TlsMode::Disabled, _) => tls_disabled(side, ep),
                (mode, Some(c)) if !c.is_empty() => Item::pass(&id("tls"), tls_title, format!("{mode}: cipher {c}")),
                (mode, _) => Item::failure(
                    &id("tls"),
                    tls_title,
                    format!("{mode} was asked for but the session is not encrypted"),
                    "configure TLS on the server (ssl_cert, ssl_key)",
                ),
            });
            items.push(Item::pass(&id("login"), login_title, format!("logged in as {}", ep.describe())));
            (items, Some(c))
        }
        Err(e) => {
            items.extend(classify(side, ep, &e));
            (items, None)
        }
    }
}

/// The TLS item for `tls = "disabled"`: a pass on this host, a warning (acknowledgeable, for a
/// network the user trusts) to any other, where the password and every row cross unencrypted.
fn tls_disabled(side: &str, ep: &Endpoint) -> Item {
    let (id, title) = (format!("{side}.tls"), "TLS as the config asks");
    let local = ep.host.eq_ignore_ascii_case("localhost")
        || ep.host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if local {
        return Item::pass(&id, title, "disabled by config (tls = \"disabled\"), to this host");
    }
    Item::warning(
        &id,
        title,
        format!("tls = \"disabled\": the password and every row go to {} unencrypted", ep.host),
        format!(
            "set [{side}] tls = \"verify-identity\" (and ca_file, the CA that signed the server's certificate), \
             or acknowledge if the network between the hosts is trusted"
        ),
    )
}

/// The TLS and login items for a failed connection.
fn classify(side: &str, ep: &Endpoint, e: &mysql::Error) -> Vec<Item> {
    let id = |what: &str| format!("{side}.{what}");
    let tls_title = "TLS as the config asks";
    let login_title = "login with the configured user and password";
    let tls_ok = || {
        if ep.tls == TlsMode::Disabled {
            tls_disabled(side, ep)
        } else {
            Item::pass(&id("tls"), tls_title, format!("{} negotiated", ep.tls))
        }
    };
    match e {
        mysql::Error::DriverError(mysql::DriverError::TlsNotSupported) => vec![Item::failure(
            &id("tls"),
            tls_title,
            format!("tls = \"{}\" but the server at {}:{} does not offer TLS", ep.tls, ep.host, ep.port),
            "configure TLS on the server (ssl_cert, ssl_key, ssl_ca in its config, then restart), or set tls = \"disabled\" if the network is trusted",
        )],
        mysql::Error::TlsError(t) => vec![Item::failure(
            &id("tls"),
            tls_title,
            format!("the TLS handshake failed: {t}"),
            match ep.tls {
                TlsMode::VerifyIdentity => {
                    "the server's certificate must be signed by ca_file and name the configured host (CN or subjectAltName); use verify-ca to skip the host name check"
                }
                TlsMode::VerifyCa => "the server's certificate must be signed by the CA in ca_file",
                _ => "check the server's TLS configuration",
            },
        )],
        other if ep.tls != TlsMode::Disabled && is_tls_failure(other) => vec![Item::failure(
            &id("tls"),
            tls_title,
            format!("the TLS handshake failed: {other}"),
            "the server's certificate must be signed by ca_file (and, for verify-identity, name the configured host)",
        )],
        mysql::Error::MySqlError(m) if m.code == 1045 => vec![
            tls_ok(),
            Item::failure(
                &id("login"),
                login_title,
                format!("access denied for {}: wrong password or no such user", ep.describe()),
                format!(
                    "check the password in the environment variable or file [{side}] names, and that the user exists for this client host (SELECT user, host FROM mysql.user)"
                ),
            ),
        ],
        mysql::Error::MySqlError(m) if m.code == 1130 => vec![Item::failure(
            &id("login"),
            login_title,
            format!("the server does not let this host connect: {}", m.message),
            format!("create the user for this client's host: CREATE USER '{}'@'<this host>' ...", ep.user),
        )],
        mysql::Error::MySqlError(m) if m.code == 1040 => vec![Item::failure(
            &id("login"),
            login_title,
            "the server has too many connections",
            "raise max_connections or close idle connections",
        )],
        other => vec![Item::failure(
            &id("login"),
            login_title,
            format!("connecting as {} failed: {other}", ep.describe()),
            "check the server's error log",
        )],
    }
}

/// rustls reports certificate problems as I/O errors inside the driver's codec.
fn is_tls_failure(e: &mysql::Error) -> bool {
    let text = match e {
        mysql::Error::IoError(io) => io.to_string(),
        mysql::Error::CodecError(c) => c.to_string(),
        _ => return false,
    }
    .to_lowercase();
    ["certificate", "handshake", "tls", "unknownissuer", "notvalidforname"].iter().any(|w| text.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;
    use dts_types::Secret;

    #[test]
    fn plain_tcp_warns_unless_to_this_host() {
        for (host, status) in [
            ("127.0.0.1", Status::Pass),
            ("localhost", Status::Pass),
            ("::1", Status::Pass),
            ("10.0.0.5", Status::Warning),
            ("db.example", Status::Warning),
        ] {
            let item = tls_disabled("source", &Endpoint::new(host, 3306, "u", Secret::default()));
            assert_eq!(item.status, status, "{host}: {item:?}");
            assert_eq!(item.id, "source.tls");
        }
    }
}
