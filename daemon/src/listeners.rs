//! Binding the daemon's sockets by hand, before anything else starts: a busy port or an
//! unusable socket path is a clear error with exit code 69 (EX_UNAVAILABLE), never a panic
//! inside a server library.
use crate::config::{Config, MilterListen};
use crate::exit::{Exit, UNAVAILABLE};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The bound (std, non-blocking) listeners; turned into tokio listeners inside the runtime.
pub struct Bound {
    /// The admin HTTP API.
    pub api: std::net::TcpListener,
    /// The milter.
    pub milter: MilterSocket,
}

/// The milter's listening socket.
pub enum MilterSocket {
    /// `inet:`
    Tcp(std::net::TcpListener),
    /// `unix:`; the path is removed again at shutdown.
    Unix(std::os::unix::net::UnixListener, PathBuf),
}

impl MilterSocket {
    /// Where it listens, for logs (`inet:127.0.0.1:8891`, `unix:/run/mm/milter.sock`).
    pub fn describe(&self) -> String {
        match self {
            MilterSocket::Tcp(l) => match l.local_addr() {
                Ok(a) => format!("inet:{a}"),
                Err(_) => "inet:?".into(),
            },
            MilterSocket::Unix(_, p) => format!("unix:{}", p.display()),
        }
    }
}

/// Binds the API and milter sockets named in the config.
pub fn bind(config: &Config) -> anyhow::Result<Bound> {
    let api = bind_tcp(config.api.listen, "api.listen")?;
    let milter = match &config.milter.listen {
        MilterListen::Inet(addr) => MilterSocket::Tcp(bind_tcp(*addr, "milter.listen")?),
        MilterListen::Unix(path) => {
            MilterSocket::Unix(bind_unix(path, "milter.listen")?, path.clone())
        }
    };
    Ok(Bound { api, milter })
}

fn unavailable(msg: String) -> anyhow::Error {
    anyhow::Error::new(Exit(UNAVAILABLE, msg))
}

/// Binds a TCP listener (SO_REUSEADDR as servers do, so that a restart does not wait for
/// TIME_WAIT; a port another process listens on is still refused).
pub fn bind_tcp(addr: SocketAddr, key: &str) -> anyhow::Result<std::net::TcpListener> {
    let sock = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )
    .map_err(|e| unavailable(format!("{key} {addr}: cannot create socket: {e}")))?;
    let _ = sock.set_reuse_address(true);
    sock.bind(&addr.into()).map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::AddrInUse {
            "address already in use (another process listens there)".to_string()
        } else {
            e.to_string()
        };
        unavailable(format!("{key} {addr}: cannot bind: {why}"))
    })?;
    sock.listen(1024)
        .map_err(|e| unavailable(format!("{key} {addr}: cannot listen: {e}")))?;
    sock.set_nonblocking(true)
        .map_err(|e| unavailable(format!("{key} {addr}: {e}")))?;
    Ok(sock.into())
}

/// Binds a Unix socket; a stale socket file nobody listens on is replaced, a live one is an
/// error, anything that is not a socket is never removed.
fn bind_unix(path: &Path, key: &str) -> anyhow::Result<std::os::unix::net::UnixListener> {
    use std::os::unix::fs::FileTypeExt;
    let shown = path.display();
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(unavailable(format!(
                "{key} unix:{shown}: exists and is not a socket"
            )));
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(unavailable(format!(
                "{key} unix:{shown}: another process listens on this socket"
            )));
        }
        std::fs::remove_file(path).map_err(|e| {
            unavailable(format!(
                "{key} unix:{shown}: cannot remove stale socket: {e}"
            ))
        })?;
    }
    if let Some(dir) = path.parent() {
        if !dir.is_dir() {
            return Err(unavailable(format!(
                "{key} unix:{shown}: directory {} does not exist",
                dir.display()
            )));
        }
    }
    let l = std::os::unix::net::UnixListener::bind(path)
        .map_err(|e| unavailable(format!("{key} unix:{shown}: cannot bind: {e}")))?;
    // Postfix connects as its own user: group-writable, so the administrator can give the
    // socket the postfix group (see docs/ADMIN.md).
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660));
    }
    l.set_nonblocking(true)
        .map_err(|e| unavailable(format!("{key} unix:{shown}: {e}")))?;
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: &anyhow::Error) -> Option<u8> {
        e.chain()
            .find_map(|e| e.downcast_ref::<Exit>().map(|x| x.0))
    }

    #[test]
    fn busy_port_is_unavailable_not_a_panic() {
        let first = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = first.local_addr().unwrap();
        let e = bind_tcp(addr, "api.listen").unwrap_err();
        assert_eq!(code(&e), Some(UNAVAILABLE));
        assert!(e.to_string().contains("already in use"), "{e}");
    }

    #[test]
    fn unix_socket_stale_replaced_live_refused_file_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("milter.sock");
        let live = bind_unix(&path, "milter.listen").unwrap();
        let e = bind_unix(&path, "milter.listen").unwrap_err();
        assert_eq!(code(&e), Some(UNAVAILABLE));
        drop(live); // the file stays behind: stale
        bind_unix(&path, "milter.listen").unwrap();

        let file = dir.path().join("not-a-socket");
        std::fs::write(&file, "data").unwrap();
        let e = bind_unix(&file, "milter.listen").unwrap_err();
        assert!(e.to_string().contains("not a socket"), "{e}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "data");

        let e = bind_unix(&dir.path().join("nope/x.sock"), "milter.listen").unwrap_err();
        assert_eq!(code(&e), Some(UNAVAILABLE));
    }
}
