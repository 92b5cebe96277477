//! The milter's socket: [`Listener`] (TCP or Unix, bound by the caller so that a busy address is
//! a clear error at start-up) and the accept wrapper handed to indymilter, which sets
//! `TCP_NODELAY` on every connection, survives transient accept errors, and closes the socket
//! when shutdown begins.
use crate::error::MilterError;
use crate::metrics as m;
use indymilter::EitherStream;
use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// A bound milter socket.
#[derive(Debug)]
pub enum Listener {
    /// `inet:HOST:PORT`
    Tcp(TcpListener),
    /// `unix:/path`
    Unix(UnixListener),
}

impl From<TcpListener> for Listener {
    fn from(l: TcpListener) -> Self {
        Listener::Tcp(l)
    }
}

impl From<UnixListener> for Listener {
    fn from(l: UnixListener) -> Self {
        Listener::Unix(l)
    }
}

impl Listener {
    /// Binds `inet:ADDR`. A busy port is [`MilterError::Bind`] naming the address.
    pub async fn bind_tcp(addr: SocketAddr) -> Result<Self, MilterError> {
        TcpListener::bind(addr)
            .await
            .map(Listener::Tcp)
            .map_err(|source| MilterError::Bind {
                addr: format!("inet:{addr}"),
                source,
            })
    }

    /// Binds `unix:PATH`. A socket file left behind by a previous run is replaced; a socket
    /// some other process still answers on is [`MilterError::Bind`] ("address in use").
    /// The socket gets the process umask's permissions: the MTA's user (`postfix`) must be
    /// able to connect to it.
    pub async fn bind_unix(path: &Path) -> Result<Self, MilterError> {
        let err = |source| MilterError::Bind {
            addr: format!("unix:{}", path.display()),
            source,
        };
        if is_socket(path) {
            if UnixStream::connect(path).await.is_ok() {
                return Err(err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    "another process is listening on this socket",
                )));
            }
            std::fs::remove_file(path).map_err(err)?;
        }
        UnixListener::bind(path).map(Listener::Unix).map_err(err)
    }

    /// The bound TCP address (tests bind port 0 and ask which port they got).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Listener::Tcp(l) => l.local_addr().ok(),
            Listener::Unix(_) => None,
        }
    }

    /// `inet:ADDR` or `unix:PATH`, for logs.
    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => match l.local_addr() {
                Ok(a) => format!("inet:{a}"),
                Err(_) => "inet:?".into(),
            },
            Listener::Unix(l) => match l
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(PathBuf::from))
            {
                Some(p) => format!("unix:{}", p.display()),
                None => "unix:?".into(),
            },
        }
    }
}

fn is_socket(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(path)
        .map(|m| m.file_type().is_socket())
        .unwrap_or(false)
}

/// After this many accept failures in a row (about ten seconds of back-off) the listener is
/// considered broken and the milter stops with [`MilterError::Accept`].
const MAX_ACCEPT_FAILURES: u32 = 100;
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The listener as indymilter sees it.
pub(crate) struct Accepting {
    inner: Option<Listener>,
    stop: Pin<Box<WaitForCancellationFutureOwned>>,
    close: CancellationToken,
    backoff: Option<Pin<Box<tokio::time::Sleep>>>,
    failures: u32,
}

impl Accepting {
    /// Accepts on `listener` until `stop` is cancelled; then the socket is closed so new MTA
    /// connections are refused at once (Postfix applies `milter_default_action`). Every
    /// accepted connection reads end-of-stream once `close` is cancelled.
    pub(crate) fn new(
        listener: Listener,
        stop: CancellationToken,
        close: CancellationToken,
    ) -> Self {
        Accepting {
            inner: Some(listener),
            stop: Box::pin(stop.cancelled_owned()),
            close,
            backoff: None,
            failures: 0,
        }
    }

    fn poll_inner(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<EitherStream<TcpStream, UnixStream>>> {
        match &mut self.inner {
            None => Poll::Pending,
            Some(Listener::Tcp(l)) => l.poll_accept(cx).map_ok(|(stream, peer)| {
                // Without TCP_NODELAY every small milter reply waits for the peer's delayed
                // ACK: ~45 ms per reply measured with Postfix on loopback.
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!(%peer, error = %e, "cannot set TCP_NODELAY on milter connection");
                }
                tracing::debug!(%peer, "milter connection");
                EitherStream::Tcp(stream)
            }),
            Some(Listener::Unix(l)) => l.poll_accept(cx).map_ok(|(stream, _)| {
                tracing::debug!("milter connection (unix)");
                EitherStream::Unix(stream)
            }),
        }
    }
}

impl indymilter::Listener for Accepting {
    type Io = Connection;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Self::Io>> {
        if self.inner.is_some() && self.stop.as_mut().poll(cx).is_ready() {
            tracing::debug!("milter stops accepting connections");
            self.inner = None;
        }
        loop {
            if let Some(sleep) = &mut self.backoff {
                std::task::ready!(sleep.as_mut().poll(cx));
                self.backoff = None;
            }
            match self.poll_inner(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(stream)) => {
                    self.failures = 0;
                    metrics::counter!(m::CONNECTIONS_TOTAL).increment(1);
                    return Poll::Ready(Ok(Connection {
                        inner: stream,
                        closed: Box::pin(self.close.clone().cancelled_owned()),
                    }));
                }
                // The peer gave up before we accepted: nothing wrong with the listener.
                Poll::Ready(Err(e))
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                // Out of file descriptors or buffers: back off and try again, as a dropped
                // listener would take the whole milter down for a passing overload.
                Poll::Ready(Err(e)) => {
                    self.failures += 1;
                    if self.failures >= MAX_ACCEPT_FAILURES {
                        return Poll::Ready(Err(e));
                    }
                    tracing::error!(error = %e, failures = self.failures, "milter cannot accept a connection; retrying");
                    self.backoff = Some(Box::pin(tokio::time::sleep(ACCEPT_BACKOFF)));
                }
            }
        }
    }
}

/// An accepted MTA connection that reads end-of-stream once the milter closes its sessions.
///
/// indymilter reads each connection in a task of its own that only notices a finished session
/// when its pending read ends — with an idle MTA that is after `connection_timeout` (two
/// hours). Ending the read on shutdown closes the socket at once, so the MTA does not wait on
/// a milter that is gone.
pub(crate) struct Connection {
    inner: EitherStream<TcpStream, UnixStream>,
    closed: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.closed.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
