//! `[monitor] alert_webhook`: the alert POSTed as JSON over https (plain http only to this
//! host), redirects counted as failures (following one would turn the POST into a GET that
//! looks delivered), and the URL, which often carries a token, never logged beyond its
//! scheme and host.

use std::time::Duration;

/// Why a webhook URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookUrlError {
    /// Not `http://` or `https://` with a host.
    #[error("{0} is not an http(s) URL with a host")]
    Malformed(String),
    /// `http://` to a host other than this one.
    #[error("{0} is plain http to another host: use https (plain http is for 127.0.0.1, ::1 and localhost only)")]
    PlainHttp(String),
}

/// `scheme://host` of `url`: all of it that messages show.
pub fn redacted(url: &str) -> String {
    match split(url) {
        Some((scheme, host)) => format!("{scheme}://{host}/…"),
        None => "(a malformed URL)".into(),
    }
}

/// The scheme and host of `url` (the host without brackets, port or user info).
fn split(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split_once(']')?.0,
        None => host_port.split(':').next()?,
    };
    (!host.is_empty()).then_some((scheme, host))
}

/// Refuses a URL the alert must not be sent to.
pub fn check(url: &str) -> Result<(), WebhookUrlError> {
    let Some((scheme, host)) = split(url) else { return Err(WebhookUrlError::Malformed(redacted(url))) };
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if is_loopback(host) => Ok(()),
        "http" => Err(WebhookUrlError::PlainHttp(redacted(url))),
        _ => Err(WebhookUrlError::Malformed(redacted(url))),
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// POSTs `body` to `url`: three tries, a second and then two apart, so that a webhook that
/// blips does not lose the alert. Only a 2xx answer counts as delivered.
pub fn post(url: &str, body: &serde_json::Value) {
    let shown = redacted(url);
    if let Err(e) = check(url) {
        tracing::error!("[monitor] alert_webhook not sent: {e}");
        return;
    }
    let agent = ureq::AgentBuilder::new().redirects(0).timeout(Duration::from_secs(5)).build();
    for attempt in 0..3u64 {
        let failure = match agent.post(url).send_json(body.clone()) {
            Ok(r) if (200..300).contains(&r.status()) => return,
            Ok(r) => format!("answered {} (a redirect is not followed)", r.status()),
            Err(ureq::Error::Status(code, _)) => format!("answered {code}"),
            // The transport error's text names the URL: only its kind is shown.
            Err(ureq::Error::Transport(t)) => format!("{}", t.kind()),
        };
        if attempt < 2 {
            tracing::warn!(url = %shown, "alert webhook failed, retrying: {failure}");
            std::thread::sleep(Duration::from_secs(attempt + 1));
        } else {
            tracing::error!(url = %shown, "alert webhook failed: {failure}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_plain_http_only_to_loopback() {
        assert_eq!(check("https://hooks.example/T0K3N"), Ok(()));
        assert_eq!(check("http://127.0.0.1:8080/a"), Ok(()));
        assert_eq!(check("http://[::1]/a"), Ok(()));
        assert_eq!(check("http://LOCALHOST/a"), Ok(()));
        assert_eq!(
            check("http://hooks.example/T0K3N"),
            Err(WebhookUrlError::PlainHttp("http://hooks.example/…".into()))
        );
        assert!(matches!(check("ftp://x/"), Err(WebhookUrlError::Malformed(_))));
        assert!(matches!(check("hooks.example"), Err(WebhookUrlError::Malformed(_))));
        // User info cannot pose as a loopback host.
        assert!(check("http://127.0.0.1@evil.example/").is_err());
    }

    #[test]
    fn the_redacted_url_keeps_only_scheme_and_host() {
        assert_eq!(redacted("https://user:pw@hooks.example:8443/services/T0K3N?x=1"), "https://hooks.example/…");
        assert!(!redacted("https://hooks.example/T0K3N").contains("T0K3N"));
    }

    /// A one-request server answering `answer`; returns its URL and the request it got.
    fn one_shot(answer: &'static str) -> (String, std::thread::JoinHandle<String>) {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}/hook", l.local_addr().unwrap().port());
        let h = std::thread::spawn(move || {
            let mut got = String::new();
            for _ in 0..3 {
                let (mut s, _) = l.accept().unwrap();
                s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
                let mut buf = [0u8; 4096];
                let n = s.read(&mut buf).unwrap_or(0);
                got.push_str(&String::from_utf8_lossy(&buf[..n]));
                s.write_all(answer.as_bytes()).unwrap();
                if answer.starts_with("HTTP/1.1 2") {
                    break;
                }
            }
            got
        });
        (url, h)
    }

    #[test]
    fn a_redirect_is_a_failure_and_is_not_followed() {
        let (target, _t) = one_shot("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        let answer: &'static str = Box::leak(
            format!("HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .into_boxed_str(),
        );
        let (url, h) = one_shot(answer);
        post(&url, &serde_json::json!({"kind": "lag"}));
        let got = h.join().unwrap();
        // Three POSTs to the webhook (each redirect a failure), none followed to the target.
        assert_eq!(got.matches("POST /hook").count(), 3, "{got}");
        assert!(!got.contains("GET "), "{got}");
    }
}
