//! A small GET-only HTTP server for `/metrics` and `/status`, built to stay up under hostile
//! clients: the request head is bounded (line, header count, total size) and must arrive within
//! a deadline, bodies are refused without being read, each response is written with a timeout
//! and the connection closed, and at most [`Limits::connections`] connections are served at
//! once (one thread each; a connection over the limit is answered 503 and closed at once).
//!
//! tiny_http 0.12, used before, allocated a body's declared `Content-Length` when it dropped an
//! unread body (one request aborted the process) and served one request at a time without
//! timeouts (one silent client blocked everyone).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The bounds a request must stay within.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest request line (`GET /path HTTP/1.1`), in bytes.
    pub request_line: usize,
    /// The whole request head (request line and headers), in bytes.
    pub head: usize,
    /// The most header lines.
    pub headers: usize,
    /// How long the whole request head may take to arrive.
    pub read: Duration,
    /// How long writing the response may take.
    pub write: Duration,
    /// Connections served at once.
    pub connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_line: 2048,
            head: 8192,
            headers: 64,
            read: Duration::from_secs(2),
            write: Duration::from_secs(5),
            connections: 256,
        }
    }
}

/// A response to send: status code, content type and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl Response {
    /// A 200 response.
    pub fn ok(content_type: &'static str, body: String) -> Response {
        Response { status: 200, content_type, body }
    }

    fn error(status: u16, body: &str) -> Response {
        Response { status, content_type: "text/plain; charset=utf-8", body: format!("{body}\n") }
    }
}

/// Why a request was not handed to the handler; each is answered with its status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// The head was malformed (400).
    BadRequest,
    /// Not GET or HEAD (405).
    Method,
    /// A body was announced (413).
    Body,
    /// The request line was too long (414).
    LineTooLong,
    /// Too many or too long headers (431).
    HeadTooLarge,
    /// The head did not arrive in time, or the client went away: nothing is answered.
    Gone,
}

impl Refused {
    fn response(self) -> Option<Response> {
        Some(match self {
            Refused::BadRequest => Response::error(400, "bad request"),
            Refused::Method => Response::error(405, "only GET and HEAD are served"),
            Refused::Body => Response::error(413, "request bodies are refused"),
            Refused::LineTooLong => Response::error(414, "request line too long"),
            Refused::HeadTooLarge => Response::error(431, "request headers too large"),
            Refused::Gone => return None,
        })
    }
}

/// A parsed request head: the method and the path (without the query string).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Request {
    head_only: bool,
    path: String,
}

/// Binds `addr` and serves requests on background threads, answering each with `handler(path)`.
/// Returns the bound address (useful with port 0).
pub fn serve<F>(addr: &str, limits: Limits, handler: F) -> std::io::Result<SocketAddr>
where
    F: Fn(&str) -> Response + Send + Sync + 'static,
{
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    let handler = Arc::new(handler);
    let active = Arc::new(AtomicUsize::new(0));
    std::thread::Builder::new().name("monitor-http".into()).spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else {
                // Out of file descriptors and the like: do not spin.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            };
            if active.fetch_add(1, Ordering::SeqCst) >= limits.connections {
                active.fetch_sub(1, Ordering::SeqCst);
                // Best effort to a client we turn away: it may already be gone.
                let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
                // A turned-away client that is gone needs no answer.
                let _ = respond(&stream, &Response::error(503, "too many connections"), false);
                continue;
            }
            let (handler, slot) = (handler.clone(), Slot(active.clone()));
            // If the thread cannot start, the closure (and the slot with it) is dropped.
            let _ = std::thread::Builder::new().name("monitor-conn".into()).spawn(move || {
                let _slot = slot;
                handle(stream, &limits, &*handler);
            });
        }
    })?;
    Ok(local)
}

/// One of the [`Limits::connections`], given back when dropped (also if the handler panics).
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn handle(stream: TcpStream, limits: &Limits, handler: &dyn Fn(&str) -> Response) {
    // Write errors below mean the client went away: nothing to tell it, nothing lost.
    let _ = stream.set_write_timeout(Some(limits.write));
    let (response, head_only) = match read_request(&stream, limits) {
        Ok(r) => (handler(&r.path), r.head_only),
        Err(refused) => match refused.response() {
            Some(r) => (r, false),
            None => return,
        },
    };
    // A client gone before the answer loses only its answer.
    let _ = respond(&stream, &response, head_only);
    // Closing a socket the client already closed fails harmlessly.
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn respond(mut stream: &TcpStream, r: &Response, head_only: bool) -> std::io::Result<()> {
    let reason = match r.status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "",
    };
    let mut out = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        r.status,
        r.content_type,
        r.body.len()
    );
    if !head_only {
        out.push_str(&r.body);
    }
    stream.write_all(out.as_bytes())?;
    stream.flush()
}

/// Reads the request head within the deadline and the size limits, never the body.
fn read_request(mut stream: &TcpStream, limits: &Limits) -> Result<Request, Refused> {
    let deadline = Instant::now() + limits.read;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = head_end(&buf) {
            return parse_head(&buf[..end], limits);
        }
        // The request line alone, before its end arrives.
        if !buf.contains(&b'\n') && buf.len() > limits.request_line {
            return Err(Refused::LineTooLong);
        }
        if buf.len() > limits.head {
            return Err(if buf.contains(&b'\n') { Refused::HeadTooLarge } else { Refused::LineTooLong });
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return Err(Refused::Gone);
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return Err(Refused::Gone),
            Ok(n) => buf.extend_from_slice(&chunk[..n.min(limits.head + 1 - buf.len().min(limits.head))]),
        }
    }
}

/// Where the head ends (after the blank line), accepting bare `\n` line ends.
fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn parse_head(head: &[u8], limits: &Limits) -> Result<Request, Refused> {
    let text = std::str::from_utf8(head).map_err(|_| Refused::BadRequest)?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let line = lines.next().ok_or(Refused::BadRequest)?;
    if line.len() > limits.request_line {
        return Err(Refused::LineTooLong);
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refused::BadRequest);
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return Err(Refused::BadRequest);
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Err(Refused::Method),
    };
    let mut count = 0;
    for h in lines.filter(|l| !l.is_empty()) {
        count += 1;
        if count > limits.headers {
            return Err(Refused::HeadTooLarge);
        }
        let (name, value) = h.split_once(':').ok_or(Refused::BadRequest)?;
        let name = name.trim();
        if name.eq_ignore_ascii_case("transfer-encoding")
            || (name.eq_ignore_ascii_case("content-length") && value.trim() != "0")
        {
            return Err(Refused::Body);
        }
    }
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    Ok(Request { head_only, path: path.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(head: &str) -> Result<Request, Refused> {
        parse_head(head.as_bytes(), &Limits::default())
    }

    #[test]
    fn a_get_is_parsed_and_its_query_dropped() {
        let r = parse("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!(r, Request { head_only: false, path: "/metrics".into() });
        assert!(parse("HEAD /status HTTP/1.0\n\n").unwrap().head_only);
    }

    #[test]
    fn bodies_other_methods_and_bad_heads_are_refused() {
        assert_eq!(parse("GET / HTTP/1.1\r\nContent-Length: 1000000000000000\r\n\r\n"), Err(Refused::Body));
        assert_eq!(parse("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), Err(Refused::Body));
        assert!(parse("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").is_ok());
        assert_eq!(parse("POST / HTTP/1.1\r\n\r\n"), Err(Refused::Method));
        assert_eq!(parse("GET / HTTP/1.1 x\r\n\r\n"), Err(Refused::BadRequest));
        assert_eq!(parse("GET http://x/ HTTP/1.1\r\n\r\n"), Err(Refused::BadRequest));
        assert_eq!(parse("GET / HTTP/1.1\r\nno colon\r\n\r\n"), Err(Refused::BadRequest));
        let many: String = (0..65).map(|i| format!("X-{i}: 1\r\n")).collect();
        assert_eq!(parse(&format!("GET / HTTP/1.1\r\n{many}\r\n")), Err(Refused::HeadTooLarge));
    }

    /// Any bytes, and valid heads with bytes changed, cut or repeated: an answer, never a panic.
    #[test]
    fn arbitrary_heads_never_panic() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let valid = b"GET /metrics?a=b HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
        let limits = Limits { request_line: 40, head: 120, headers: 4, ..Limits::default() };
        for _ in 0..20_000 {
            let mut bytes = valid.to_vec();
            match next() % 4 {
                0 => bytes = (0..next() % 200).map(|_| next() as u8).collect(),
                1 => {
                    for _ in 0..1 + next() % 4 {
                        let i = (next() as usize) % bytes.len();
                        bytes[i] = next() as u8;
                    }
                }
                2 => bytes.truncate((next() as usize) % bytes.len()),
                _ => {
                    let i = (next() as usize) % bytes.len();
                    let piece = bytes[i..].to_vec();
                    bytes.splice(i..i, piece.into_iter().take(80));
                }
            }
            if let Some(end) = head_end(&bytes) {
                // Any answer is fine: the property is that it returns (no panic).
                let _ = parse_head(&bytes[..end], &limits);
            }
            // Likewise.
            let _ = parse_head(&bytes, &limits);
        }
    }

    fn server(limits: Limits) -> SocketAddr {
        serve("127.0.0.1:0", limits, |p| match p {
            "/a" => Response::ok("text/plain", "hello".into()),
            _ => Response::error(404, "not found"),
        })
        .unwrap()
    }

    fn exchange(addr: SocketAddr, request: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        // The server may close early on a refused request; its answer is what is checked.
        let _ = s.write_all(request);
        let mut out = String::new();
        // Read until the server closes; a reset still leaves what it sent.
        let _ = s.read_to_string(&mut out);
        out
    }

    #[test]
    fn serves_and_refuses_over_a_socket() {
        let addr = server(Limits::default());
        let ok = exchange(addr, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n") && ok.ends_with("\r\n\r\nhello"), "{ok}");
        assert!(exchange(addr, b"HEAD /a HTTP/1.1\r\n\r\n").ends_with("Connection: close\r\n\r\n"));
        assert!(exchange(addr, b"GET /b HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 "));
        let big = exchange(addr, b"GET /a HTTP/1.1\r\nContent-Length: 1000000000000000\r\n\r\n");
        assert!(big.starts_with("HTTP/1.1 413 "), "{big}");
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(5000));
        assert!(exchange(addr, long.as_bytes()).starts_with("HTTP/1.1 414 "));
        let endless = format!("GET /a HTTP/1.1\r\nX: {}", "a".repeat(20000));
        assert!(exchange(addr, endless.as_bytes()).starts_with("HTTP/1.1 431 "));
    }

    #[test]
    fn a_silent_client_is_dropped_at_the_deadline_and_blocks_no_one() {
        let addr = server(Limits { read: Duration::from_millis(300), ..Limits::default() });
        let mut silent = TcpStream::connect(addr).unwrap();
        silent.write_all(b"GET /a HTTP/1.1\r\n").unwrap();
        let t = Instant::now();
        assert!(exchange(addr, b"GET /a HTTP/1.0\r\n\r\n").contains("hello"));
        assert!(t.elapsed() < Duration::from_millis(250), "{:?}", t.elapsed());
        silent.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut rest = Vec::new();
        assert_eq!(silent.read_to_end(&mut rest).unwrap(), 0, "closed without an answer");
    }

    #[test]
    fn connections_over_the_limit_get_503() {
        let addr = server(Limits { connections: 2, read: Duration::from_secs(3), ..Limits::default() });
        let _held: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
        std::thread::sleep(Duration::from_millis(100));
        assert!(exchange(addr, b"GET /a HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 503 "));
    }
}
