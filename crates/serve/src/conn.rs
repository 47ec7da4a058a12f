//! One connection, before and under hyper: the first request's head is read (within the
//! read timeout, at most [`MAX_HEAD_BYTES`]) and checked, so that a malformed request line
//! or header gets a JSON `400` like every other error rather than hyper's empty one; then
//! the bytes already read are handed back to hyper ([`Prefixed`]) with the stream.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// The largest request head (request line and headers) read.
pub const MAX_HEAD_BYTES: usize = 64 << 10;

/// A stream that yields `prefix` before the rest of `inner`.
pub struct Prefixed {
    prefix: Vec<u8>,
    at: usize,
    inner: TcpStream,
}

impl AsyncRead for Prefixed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.at < self.prefix.len() {
            let n = buf.remaining().min(self.prefix.len() - self.at);
            let at = self.at;
            buf.put_slice(&self.prefix[at..at + n]);
            self.at += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// What the first request head of a connection turned out to be.
pub enum Head {
    /// Well formed: serve the connection, these bytes first.
    Good(Prefixed),
    /// Nothing came before the timeout, or the client closed: drop the connection.
    Gone,
}

/// Reads the first request head of `stream` (within `timeout`); a malformed or oversized
/// one is answered with a JSON error and the connection closed.
pub async fn first_head(mut stream: TcpStream, timeout: Duration) -> Head {
    let mut buf = Vec::with_capacity(1024);
    let read = tokio::time::timeout(timeout, async {
        let mut chunk = [0u8; 4096];
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 96];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(&buf) {
                Ok(httparse::Status::Complete(_)) => return Ok(true),
                Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD_BYTES => {}
                Ok(httparse::Status::Partial) => {
                    return Err((
                        431,
                        format!("the request head is over {MAX_HEAD_BYTES} bytes"),
                    ))
                }
                Err(e) => return Err((400, format!("malformed request head: {e}"))),
            }
            let n = stream
                .read(&mut chunk)
                .await
                .map_err(|_| (0, String::new()))?;
            if n == 0 {
                return Ok(false);
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    })
    .await;
    match read {
        Ok(Ok(true)) => Head::Good(Prefixed {
            prefix: buf,
            at: 0,
            inner: stream,
        }),
        Ok(Err((status, message))) if status > 0 => {
            let body = serde_json::json!({ "error": message }).to_string();
            let reason = if status == 431 {
                "Request Header Fields Too Large"
            } else {
                "Bad Request"
            };
            let response = format!(
                "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: \
                 {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
            Head::Gone
        }
        _ => Head::Gone,
    }
}
