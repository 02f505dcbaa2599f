//! Loopback servers for the certificate checks: a rustls HTTPS server (also serving the AD FS
//! federation metadata), an SMTP server with STARTTLS, a scripted legacy-TLS responder, and
//! servers that misbehave (stall, send garbage, flood). Each runs until dropped.

#![allow(
    clippy::cast_precision_loss,
    reason = "byte counts and rates stay far below 2^52; f64 is exact enough for Mbit/s"
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::pki::Leaf;
use crate::tls::hello;

/// One HTTP route: path → (status, content type, body).
#[derive(Clone, Debug)]
pub struct Route {
    /// Request path.
    pub path: String,
    /// Status code.
    pub status: u16,
    /// Content type.
    pub content_type: String,
    /// Body.
    pub body: Vec<u8>,
    /// A `Location` header (for redirects).
    pub location: Option<String>,
}

/// An HTTP request as a [`Handler`] sees it.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// `GET`, `POST`…
    pub method: String,
    /// The request target: path and query (`/common/userrealm/?user=…`).
    pub target: String,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The body (at most 1 MB is read).
    pub body: Vec<u8>,
}

impl Request {
    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// A query parameter, percent-decoded (`+` is a space, as forms encode it).
    pub fn query(&self, key: &str) -> Option<String> {
        form_value(self.target.split_once('?')?.1, key)
    }

    /// A form field of an `application/x-www-form-urlencoded` body.
    pub fn form(&self, key: &str) -> Option<String> {
        form_value(&String::from_utf8_lossy(&self.body), key)
    }

    /// A header value (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn form_value(encoded: &str, key: &str) -> Option<String> {
    encoded.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (name == key).then(|| crate::percent::decode(&value.replace('+', " ")))
    })
}

/// What a [`Handler`] answers.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A response (sent with `Content-Length` and `Connection: close`).
    Respond {
        /// Status code.
        status: u16,
        /// Extra headers (`Content-Type`, `Retry-After`…).
        headers: Vec<(String, String)>,
        /// Body.
        body: Vec<u8>,
    },
    /// Never answer (a stalled server).
    Stall,
    /// A `200` whose body never ends (spaces, which a JSON reader skips), sent until the client
    /// hangs up: a flood.
    Endless,
}

impl Reply {
    /// A JSON response.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::Respond {
            status,
            headers: vec![(
                "Content-Type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: body.to_string().into_bytes(),
        }
    }
}

/// A function from request to reply: the lab's stand-ins for web services (Microsoft Entra ID's
/// discovery and token endpoints, Microsoft Graph).
pub type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// What the server does with each connection.
#[derive(Clone)]
pub enum Mode {
    /// TLS, then one HTTP/1.1 request answered by a [`Handler`].
    HttpsHandler(Arc<ServerConfig>, Handler),
    /// TLS, then a minimal HTTP/1.1 server over `routes` (404 otherwise).
    Https(Arc<ServerConfig>, Arc<Vec<Route>>),
    /// SMTP: banner, EHLO (advertising STARTTLS when `starttls`), STARTTLS → TLS.
    Smtp {
        /// TLS after STARTTLS.
        tls: Arc<ServerConfig>,
        /// Advertise and accept STARTTLS.
        starttls: bool,
    },
    /// Answers a ClientHello with a scripted ServerHello when it offers one of `accept`
    /// (wire versions), else alert protocol_version.
    Legacy {
        /// Wire versions accepted (0x0301…).
        accept: Vec<u16>,
    },
    /// Accepts and says nothing.
    Stall,
    /// Sends these bytes and closes.
    Garbage(Vec<u8>),
    /// Sends an SMTP greeting that never ends.
    FloodBanner,
    /// Plain HTTP over `routes` (the query string is ignored for matching); every request line is
    /// appended to the log.
    Http(Arc<Vec<Route>>, Arc<std::sync::Mutex<Vec<String>>>),
    /// Plain HTTP: every request gets this status, these headers and an empty body (a web
    /// server, or a proxy answering 407/403).
    PlainHttp {
        /// Status code.
        status: u16,
        /// Extra response headers.
        headers: Arc<Vec<(String, String)>>,
    },
    /// A throughput server: `GET` streams bytes, `POST` swallows them, both paced by one token
    /// bucket shared by every connection (`rate_bps` bits/s, 0 = as fast as possible): the lab's
    /// stand-in for a link of that speed.
    Throughput {
        /// Bits per second.
        rate_bps: u64,
        /// The bucket: when the next byte may go.
        pacer: Arc<std::sync::Mutex<tokio::time::Instant>>,
    },
    /// Waits, then behaves like the inner mode (a stand-in for network latency, since `tc netem`
    /// is not available here).
    Delayed(Duration, Box<Mode>),
}

/// A running server.
pub struct LabServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl LabServer {
    /// Binds `addr` (port 0 for any) and serves `mode`.
    pub async fn start(addr: SocketAddr, mode: Mode) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let mode = mode.clone();
                tokio::spawn(async move {
                    // A client that goes away mid-conversation is normal here.
                    let _ = serve(stream, mode).await;
                });
            }
        });
        Ok(Self { addr, task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for LabServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A cert resolver that serves `chain` while signing with `key`, without checking that they
/// match: how the RSA-1024 leaf is served (see [`super::pki`]).
#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>);

impl ResolvesServerCert for Fixed {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }
}

/// A rustls server configuration for a minted leaf (TLS 1.2 and 1.3).
pub fn server_config(leaf: &Leaf) -> Result<Arc<ServerConfig>, rustls::Error> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let key = provider
        .key_provider
        .load_private_key(leaf.key.clone_key())?;
    let certified = CertifiedKey::new(leaf.chain.clone(), key);
    let cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Fixed(Arc::new(certified))));
    Ok(Arc::new(cfg))
}

async fn serve(mut stream: TcpStream, mode: Mode) -> std::io::Result<()> {
    let mode = match mode {
        Mode::Delayed(d, inner) => {
            tokio::time::sleep(d).await;
            *inner
        }
        other => other,
    };
    match mode {
        Mode::Https(cfg, routes) => {
            let tls = tokio_rustls::TlsAcceptor::from(cfg).accept(stream).await?;
            http_logged(tls, &routes, None).await
        }
        Mode::HttpsHandler(cfg, handler) => {
            let tls = tokio_rustls::TlsAcceptor::from(cfg).accept(stream).await?;
            handled(tls, &handler).await
        }
        Mode::Smtp { tls, starttls } => smtp(stream, tls, starttls).await,
        Mode::Http(routes, log) => http_logged(stream, &routes, Some(&log)).await,
        Mode::Legacy { accept } => {
            let mut buf = vec![0u8; 4096];
            let n = stream.read(&mut buf).await?;
            let hello = &buf[..n];
            let offered = if hello.windows(7).any(|w| w == [0x00, 0x2b, 0, 3, 2, 3, 4]) {
                0x0304
            } else {
                hello
                    .get(9..11)
                    .map_or(0, |v| u16::from_be_bytes([v[0], v[1]]))
            };
            if accept.contains(&offered) {
                let (legacy, sv) = if offered == 0x0304 {
                    (0x0303, Some(0x0304))
                } else {
                    (offered, None)
                };
                stream
                    .write_all(&hello::server_hello(legacy, 0xc014, sv))
                    .await?;
            } else {
                stream.write_all(&[0x15, 3, 1, 0, 2, 2, 70]).await?;
            }
            // Hold the connection briefly, as a real server waits for the next flight.
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok(())
        }
        Mode::Stall => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
        Mode::Garbage(bytes) => {
            let mut buf = [0u8; 1024];
            let _ = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await;
            stream.write_all(&bytes).await?;
            stream.shutdown().await
        }
        Mode::Delayed(_, inner) => Box::pin(serve(stream, *inner)).await,
        Mode::Throughput { rate_bps, pacer } => throughput(stream, rate_bps, &pacer).await,
        Mode::PlainHttp { status, headers } => {
            let mut r = BufReader::new(stream);
            loop {
                let mut line = String::new();
                let n = (&mut r).take(8192).read_line(&mut line).await?;
                if n == 0 || line == "\r\n" || line == "\n" {
                    break;
                }
            }
            let mut head =
                format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n");
            for (k, v) in headers.iter() {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let s = r.get_mut();
            s.write_all(head.as_bytes()).await?;
            s.shutdown().await
        }
        Mode::FloodBanner => loop {
            stream
                .write_all(b"220-Welcome to the lab mail server, this greeting never ends\r\n")
                .await?;
        },
    }
}

/// Reads one request (line, headers, a `Content-Length` body up to 1 MB) and writes the handler's
/// reply.
async fn handled<S: AsyncRead + AsyncWrite + Unpin>(
    s: S,
    handler: &Handler,
) -> std::io::Result<()> {
    let mut r = BufReader::new(s);
    let mut line = String::new();
    (&mut r).take(8192).read_line(&mut line).await?;
    let mut parts = line.split_whitespace();
    let mut req = Request {
        method: parts.next().unwrap_or("").to_owned(),
        target: parts.next().unwrap_or("/").to_owned(),
        ..Request::default()
    };
    for _ in 0..100 {
        let mut h = String::new();
        let n = (&mut r).take(8192).read_line(&mut h).await?;
        if n == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            req.headers
                .push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let len = req
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(1 << 20);
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    req.body = body;
    match handler(&req) {
        Reply::Stall => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
        Reply::Endless => {
            let s = r.get_mut();
            s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
            )
            .await?;
            let chunk = vec![b' '; 64 * 1024];
            loop {
                s.write_all(&chunk).await?;
            }
        }
        Reply::Respond {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let s = r.get_mut();
            s.write_all(head.as_bytes()).await?;
            s.write_all(&body).await?;
            s.shutdown().await
        }
    }
}

async fn http_logged<S: AsyncRead + AsyncWrite + Unpin>(
    s: S,
    routes: &[Route],
    log: Option<&std::sync::Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let mut r = BufReader::new(s);
    let mut request_line = String::new();
    (&mut r).take(8192).read_line(&mut request_line).await?;
    loop {
        let mut line = String::new();
        let n = (&mut r).take(8192).read_line(&mut line).await?;
        if n == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    if let Some(log) = log
        && let Ok(mut l) = log.lock()
    {
        l.push(request_line.trim_end().to_owned());
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    let path = target.split('?').next().unwrap_or(target);
    let (status, ctype, body, location) = routes
        .iter()
        .find(|rt| rt.path.eq_ignore_ascii_case(path))
        .map_or((404, "text/plain", &b"not found"[..], None), |rt| {
            (
                rt.status,
                rt.content_type.as_str(),
                rt.body.as_slice(),
                rt.location.as_deref(),
            )
        });
    let location = location.map_or(String::new(), |l| format!("Location: {l}\r\n"));
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\n{location}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let s = r.get_mut();
    s.write_all(head.as_bytes()).await?;
    s.write_all(body).await?;
    s.shutdown().await
}

async fn smtp(stream: TcpStream, tls: Arc<ServerConfig>, starttls: bool) -> std::io::Result<()> {
    let mut r = BufReader::new(stream);
    r.get_mut()
        .write_all(b"220 mail.lab.test ESMTP tenant-ready lab\r\n")
        .await?;
    loop {
        let mut line = String::new();
        if (&mut r).take(1024).read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_ascii_uppercase();
        let w = r.get_mut();
        if cmd.starts_with("EHLO") {
            let mut reply = String::from("250-mail.lab.test Hello\r\n250-SIZE 37748736\r\n");
            if starttls {
                reply.push_str("250-STARTTLS\r\n");
            }
            reply.push_str("250 8BITMIME\r\n");
            w.write_all(reply.as_bytes()).await?;
        } else if cmd == "STARTTLS" && starttls {
            w.write_all(b"220 2.0.0 SMTP server ready\r\n").await?;
            let stream = r.into_inner();
            let mut t = tokio_rustls::TlsAcceptor::from(tls).accept(stream).await?;
            let mut buf = [0u8; 512];
            let _ = tokio::time::timeout(Duration::from_secs(2), t.read(&mut buf)).await;
            return Ok(());
        } else if cmd == "QUIT" {
            w.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            w.write_all(b"502 5.5.2 Command not recognised\r\n").await?;
        }
    }
}

/// Waits for `n` bytes' worth of the shared bucket.
async fn pace(n: usize, rate_bps: u64, pacer: &std::sync::Mutex<tokio::time::Instant>) {
    if rate_bps == 0 {
        return;
    }
    let cost = Duration::from_secs_f64(n as f64 * 8.0 / rate_bps as f64);
    // Charged after the bytes went out: the caller sleeps until the link would have carried
    // them. Up to 100 ms of credit lets a writer that woke late (timer granularity, a full socket)
    // catch up, as a real link's queue absorbs it; an idle link saves no more than that.
    let done = {
        let Ok(mut next) = pacer.lock() else { return };
        let now = tokio::time::Instant::now();
        let start = (*next).max(now - Duration::from_millis(100));
        *next = start + cost;
        *next
    };
    tokio::time::sleep_until(done).await;
}

async fn throughput(
    stream: TcpStream,
    rate_bps: u64,
    pacer: &std::sync::Mutex<tokio::time::Instant>,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    // Modest socket buffers, like a server across a WAN sees: megabytes of loopback buffering
    // would let the client "send" seconds of data before the link has carried any.
    let sock = socket2::SockRef::from(&stream);
    let _ = sock.set_recv_buffer_size(256 * 1024);
    let _ = sock.set_send_buffer_size(256 * 1024);
    let mut r = BufReader::new(stream);
    let mut request_line = String::new();
    (&mut r).take(8192).read_line(&mut request_line).await?;
    loop {
        let mut line = String::new();
        let n = (&mut r).take(8192).read_line(&mut line).await?;
        if n == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let chunk = vec![0x42u8; 64 * 1024];
    if request_line.starts_with("POST") {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = r.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            pace(n, rate_bps, pacer).await;
        }
        let s = r.get_mut();
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await?;
        return s.shutdown().await;
    }
    let total: u64 = 1 << 30;
    let s = r.get_mut();
    s.write_all(
        format!("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await?;
    let mut sent = 0u64;
    while sent < total {
        s.write_all(&chunk).await?;
        pace(chunk.len(), rate_bps, pacer).await;
        sent += chunk.len() as u64;
    }
    s.shutdown().await
}
