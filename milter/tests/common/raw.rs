//! A minimal milter-protocol client for what miltertest cannot do: hostile bytes, abrupt
//! disconnects, and holding a message open across shutdown. Frames are
//! `u32 length (BE) | command byte | payload`, as libmilter's `mfdef.h` defines them.
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct RawClient {
    pub stream: TcpStream,
}

/// Protocol version 6 with every step offered: the client plays Postfix.
const VERSION: u32 = 6;
const ALL_ACTIONS: u32 = 0x1ff;
const ALL_STEPS: u32 = 0x001f_ffff;

impl RawClient {
    pub async fn connect(addr: std::net::SocketAddr) -> std::io::Result<RawClient> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(RawClient { stream })
    }

    pub async fn send(&mut self, cmd: u8, payload: &[u8]) -> std::io::Result<()> {
        let mut frame = Vec::with_capacity(payload.len() + 5);
        frame.extend_from_slice(&(payload.len() as u32 + 1).to_be_bytes());
        frame.push(cmd);
        frame.extend_from_slice(payload);
        self.stream.write_all(&frame).await
    }

    /// Reads one reply frame: (command byte, payload).
    pub async fn reply(&mut self) -> std::io::Result<(u8, Vec<u8>)> {
        let len = self.stream.read_u32().await? as usize;
        assert!((1..1 << 20).contains(&len), "reply frame length {len}");
        let mut buf = vec![0; len];
        self.stream.read_exact(&mut buf).await?;
        Ok((buf[0], buf[1..].to_vec()))
    }

    /// Sends a command and returns the reply's command byte.
    pub async fn ask(&mut self, cmd: u8, payload: &[u8]) -> std::io::Result<u8> {
        self.send(cmd, payload).await?;
        Ok(self.reply().await?.0)
    }

    /// Option negotiation and the connect/helo stages, as Postfix's smtpd does them.
    pub async fn open(&mut self) -> std::io::Result<()> {
        let mut neg = Vec::new();
        for v in [VERSION, ALL_ACTIONS, ALL_STEPS] {
            neg.extend_from_slice(&v.to_be_bytes());
        }
        let (cmd, _) = {
            self.send(b'O', &neg).await?;
            self.reply().await?
        };
        assert_eq!(cmd, b'O', "negotiation reply");
        let mut conn = b"mx.example.net\0".to_vec();
        conn.push(b'4');
        conn.extend_from_slice(&25u16.to_be_bytes());
        conn.extend_from_slice(b"127.0.0.1\0");
        assert_eq!(self.ask(b'C', &conn).await?, b'c', "connect");
        assert_eq!(self.ask(b'H', b"mx.example.net\0").await?, b'c', "helo");
        Ok(())
    }

    /// MAIL, RCPT and DATA of one message; returns the reply to DATA.
    pub async fn envelope(&mut self, sender: &str, rcpt: &str) -> std::io::Result<u8> {
        assert_eq!(self.ask(b'M', &cstr(sender)).await?, b'c', "mail");
        assert_eq!(self.ask(b'R', &cstr(rcpt)).await?, b'c', "rcpt");
        self.ask(b'T', b"").await
    }

    /// Headers and EOH of a message (`raw` with LF or CRLF line ends); the body is returned
    /// for the caller to send (with CRLF line ends).
    pub async fn headers(&mut self, raw: &str) -> std::io::Result<Vec<u8>> {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").expect("header/body separator");
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                let last = fields.last_mut().expect("continuation after a header");
                last.1.push('\n');
                last.1.push_str(line);
            } else {
                let (name, value) = line.split_once(':').expect("header line");
                fields.push((name.to_string(), value.trim_start().to_string()));
            }
        }
        for (name, value) in fields {
            let mut p = cstr(&name);
            p.extend_from_slice(&cstr(&value));
            assert_eq!(self.ask(b'L', &p).await?, b'c', "header {name}");
        }
        assert_eq!(self.ask(b'N', b"").await?, b'c', "eoh");
        Ok(body.replace('\n', "\r\n").into_bytes())
    }

    /// Body chunks and EOM; returns the reply to EOM.
    pub async fn body_and_eom(&mut self, body: &[u8]) -> std::io::Result<u8> {
        for chunk in body.chunks(65535) {
            assert_eq!(self.ask(b'B', chunk).await?, b'c', "body");
        }
        self.ask(b'E', b"").await
    }
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}
