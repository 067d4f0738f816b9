//! Bounds at the HTTP edge, before any route runs (X-89 and neighbours): request bodies are read
//! whole within a deadline and a size limit, client request ids are accepted only when they are
//! plain tokens, and the accept loop holds at most `limits.max_connections` connections, at most
//! `limits.max_connections_per_client` of one client, each of which must send its first request
//! head within `limits.first_request_timeout_ms`.
//!
//! hyper's header-read timeout (`limits.header_read_timeout_ms`) covers the request head and the
//! idle time between keep-alive requests; everything after the head is bounded here.

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The request-id header (set by the proxy or generated, logged with every line of a request).
pub const REQUEST_ID: &str = "x-request-id";

/// True for ids that cannot forge anything inside a log line: `[A-Za-z0-9._-]{1,64}`.
pub fn request_id_ok(id: &[u8]) -> bool {
    (1..=64).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Drops a client's `x-request-id` unless it is exactly one plain token, so that the next layer
/// generates a fresh one (quotes, spaces, `level=` or line-separator bytes would otherwise land
/// verbatim in every log line of the request).
pub fn sanitize_request_id<B>(mut req: axum::http::Request<B>) -> axum::http::Request<B> {
    let mut ids = req.headers().get_all(REQUEST_ID).iter();
    let keep = match (ids.next(), ids.next()) {
        (Some(id), None) => request_id_ok(id.as_bytes()),
        _ => false,
    };
    if !keep {
        req.headers_mut().remove(REQUEST_ID);
    }
    req
}

/// How request bodies are read: at most `max_bytes`, whole within `read_timeout`.
#[derive(Debug, Clone, Copy)]
pub struct BodyBounds {
    /// Largest body, bytes (`limits.max_body_bytes`).
    pub max_bytes: usize,
    /// Time for the whole body (`limits.body_read_timeout_ms`).
    pub read_timeout: Duration,
}

/// Why a body was not read.
#[derive(Debug, PartialEq, Eq)]
enum Refused {
    TooLarge,
    Broken,
}

/// Middleware: reads the body into memory under [`BodyBounds`] before the route runs (every
/// route takes small bodies whole anyway): 413 when it is too large (by `Content-Length` before
/// reading, or while reading), 408 when it does not arrive in time. A deadline for the whole
/// body, not per chunk: a client sending 1 byte per second never lets a per-chunk timer fire.
pub async fn read_body(State(b): State<BodyBounds>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > b.max_bytes as u64) {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE);
    }
    match tokio::time::timeout(b.read_timeout, collect(body, b.max_bytes)).await {
        Err(_) => refuse(StatusCode::REQUEST_TIMEOUT),
        Ok(Err(Refused::TooLarge)) => refuse(StatusCode::PAYLOAD_TOO_LARGE),
        Ok(Err(Refused::Broken)) => refuse(StatusCode::BAD_REQUEST),
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
    }
}

/// Collects `body`, refusing it once it passes `max` bytes.
async fn collect(mut body: Body, max: usize) -> Result<Bytes, Refused> {
    let mut buf = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let Ok(data) = frame.map_err(|_| Refused::Broken)?.into_data() else {
            continue; // trailers
        };
        if buf.len() + data.len() > max {
            return Err(Refused::TooLarge);
        }
        buf.extend_from_slice(&data);
    }
    Ok(buf.into())
}

/// A bare status with `Connection: close`: the rest of the body is never read, so the
/// connection cannot carry another request.
fn refuse(status: StatusCode) -> Response {
    (
        status,
        [
            (header::CONNECTION, HeaderValue::from_static("close")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response()
}

/// The accept loop's connection slots (`limits.max_connections`). Over the cap a new connection
/// is closed at once rather than queued: waiting would let the slow clients that hold the slots
/// also hold every newcomer, and a closed connection tells a client (or a load balancer) to try
/// again or elsewhere. Slots come back when connections end, which the header, body and request
/// timeouts bound.
pub struct ConnectionCap {
    slots: Arc<tokio::sync::Semaphore>,
    last_warned: Option<Instant>,
}

/// Held by a connection's task; dropping it frees the slot.
pub type Slot = tokio::sync::OwnedSemaphorePermit;

impl ConnectionCap {
    /// A cap of `max` open connections.
    pub fn new(max: usize) -> Self {
        Self {
            slots: Arc::new(tokio::sync::Semaphore::new(max)),
            last_warned: None,
        }
    }

    /// A slot for a new connection, or `None` when all are taken (logged at most once a
    /// minute: a flood must not become a flood of log lines).
    pub fn admit(&mut self) -> Option<Slot> {
        let slot = self.slots.clone().try_acquire_owned().ok();
        if slot.is_none()
            && self
                .last_warned
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(60))
        {
            self.last_warned = Some(Instant::now());
            tracing::warn!(
                "limits.max_connections reached: closing new connections until some end"
            );
        }
        slot
    }
}

/// Open connections per client (`limits.max_connections_per_client`), counted in the accept
/// loop by [`crate::domain::client_addr::bucket_key`] of the TCP peer (an IPv4 address, an IPv6
/// /64): without it one address holding every slot of [`ConnectionCap`] locks all others out.
/// Peers in `server.trusted_proxies` are exempt (all their clients share their address); the
/// global cap still bounds them.
pub struct ClientConnections {
    max: usize,
    open: Arc<std::sync::Mutex<HashMap<IpAddr, usize>>>,
    last_warned: Option<Instant>,
}

/// Held by a connection's task; dropping it gives its client's slot back.
pub struct ClientSlot {
    key: IpAddr,
    open: Arc<std::sync::Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

impl ClientConnections {
    /// At most `max` open connections per client.
    pub fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            open: Arc::default(),
            last_warned: None,
        }
    }

    /// A slot for a new connection of `peer`, or `None` when that client already holds `max`
    /// (logged at most once a minute).
    pub fn admit(&mut self, peer: IpAddr) -> Option<ClientSlot> {
        let key = crate::domain::client_addr::bucket_key(peer);
        {
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            let n = open.entry(key).or_insert(0);
            if *n < self.max {
                *n += 1;
                return Some(ClientSlot {
                    key,
                    open: self.open.clone(),
                });
            }
        }
        if self
            .last_warned
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(60))
        {
            self.last_warned = Some(Instant::now());
            tracing::warn!(client = %key, "limits.max_connections_per_client reached: closing this client's new connections until some end");
        }
        None
    }
}

/// A connection's socket until the head of its first request has arrived: reads fail with
/// `TimedOut` once `limits.first_request_timeout_ms` has passed since the accept, so a client
/// that connects and sends nothing, or half a request line, loses the connection long before
/// hyper's header timeout (which also bounds every later head and the idle time between them).
/// The head ends at the first empty line (`\r\n\r\n`, or `\n\n`); after it this is the bare
/// socket.
pub struct FirstHead<S> {
    inner: S,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Line ends seen in a row (`\r` skipped): 2 is the empty line that ends the head.
    newlines: u8,
}

impl<S> FirstHead<S> {
    /// `inner`, whose first request head must arrive within `timeout`.
    pub fn new(inner: S, timeout: Duration) -> Self {
        Self {
            inner,
            deadline: Some(Box::pin(tokio::time::sleep(timeout))),
            newlines: 0,
        }
    }

    fn scan(&mut self, bytes: &[u8]) {
        for b in bytes {
            match b {
                b'\n' => self.newlines += 1,
                b'\r' => {}
                _ => self.newlines = 0,
            }
            if self.newlines >= 2 {
                self.deadline = None;
                return;
            }
        }
    }
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for FirstHead<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if this.deadline.is_some() {
                    this.scan(&buf.filled()[before..]);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                let expired = this
                    .deadline
                    .as_mut()
                    .is_some_and(|d| d.as_mut().poll(cx).is_ready());
                match expired {
                    true => Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "first request head not received within limits.first_request_timeout_ms",
                    ))),
                    false => Poll::Pending,
                }
            }
            other => other,
        }
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for FirstHead<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;
    use tower::ServiceExt;

    #[test]
    fn request_ids_are_plain_tokens_of_at_most_64_bytes() {
        for ok in ["a", "req-1.A_b", &"x".repeat(64)] {
            assert!(request_id_ok(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "",
            &"x".repeat(65),
            "a b",
            "a\"b",
            "a=b",
            "a\tb",
            "a\u{2028}b",
        ] {
            assert!(!request_id_ok(bad.as_bytes()), "{bad:?}");
        }
    }

    #[test]
    fn a_second_request_id_header_drops_both() {
        let req = axum::http::Request::builder()
            .header(REQUEST_ID, "a")
            .header(REQUEST_ID, "b")
            .body(())
            .unwrap();
        assert!(sanitize_request_id(req).headers().get(REQUEST_ID).is_none());
    }

    async fn status(body: Body, len: Option<usize>) -> StatusCode {
        let bounds = BodyBounds {
            max_bytes: 10,
            read_timeout: Duration::from_secs(5),
        };
        let app = axum::Router::new()
            .route("/", post(|b: Bytes| async move { b.len().to_string() }))
            .layer(axum::middleware::from_fn_with_state(bounds, read_body));
        let mut req = axum::http::Request::post("/");
        if let Some(n) = len {
            req = req.header(header::CONTENT_LENGTH, n);
        }
        app.oneshot(req.body(body).unwrap()).await.unwrap().status()
    }

    #[test]
    fn client_slots_are_per_64_and_come_back_when_dropped() {
        let mut c = ClientConnections::new(2);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same: IpAddr = "2001:db8:1:2::2".parse().unwrap();
        let s1 = c.admit(a).unwrap();
        let _s2 = c.admit(same).unwrap();
        assert!(c.admit(a).is_none(), "one /64 holds 2");
        assert!(c.admit("2001:db8:1:3::1".parse().unwrap()).is_some());
        drop(s1);
        assert!(
            c.admit(same).is_some(),
            "a closed connection frees its slot"
        );
    }

    #[tokio::test]
    async fn the_first_head_ends_at_the_first_empty_line() {
        let mut f = FirstHead::new((), Duration::from_secs(1));
        f.scan(b"GET / HTTP/1.1\r\nHost: x\r\n");
        assert!(f.deadline.is_some());
        f.scan(b"\r");
        assert!(f.deadline.is_some());
        f.scan(b"\n");
        assert!(f.deadline.is_none(), "CRLF CRLF");
        let mut f = FirstHead::new((), Duration::from_secs(1));
        f.scan(b"GET / HTTP/1.1\nHost: x\n\n");
        assert!(f.deadline.is_none(), "bare LF");
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_413_whether_announced_or_not() {
        assert_eq!(status(Body::from("0123456789"), Some(10)).await, 200);
        assert_eq!(status(Body::from("x"), Some(11)).await, 413);
        assert_eq!(status(Body::from("0123456789a"), None).await, 413);
    }
}
