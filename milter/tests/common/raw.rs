//! A minimal milter-protocol client for what miltertest cannot do: hostile bytes, abrupt
//! disconnects, and holding a message open across shutdown. Frames are
//! `u32 length (BE) | command byte | payload`, as libmilter's `mfdef.h` defines them.
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct RawClient {
    pub stream: TcpStream,
    /// The protocol flags the milter chose in its negotiation reply.
    pub protocol: u32,
}

/// Protocol version 6 with every step offered: the client plays Postfix.
const VERSION: u32 = 6;
const ALL_ACTIONS: u32 = 0x1ff;
pub const ALL_STEPS: u32 = 0x001f_ffff;

/// The `SMFIP_NR_*` protocol flags, as `mfdef.h` defines them.
pub const NR_CONN: u32 = 0x1000;
pub const NR_HELO: u32 = 0x2000;
pub const NR_MAIL: u32 = 0x4000;
pub const NR_RCPT: u32 = 0x8000;
pub const NR_DATA: u32 = 0x1_0000;
pub const NR_UNKN: u32 = 0x2_0000;
pub const NR_HDR: u32 = 0x80;
pub const NR_EOH: u32 = 0x4_0000;
pub const NR_BODY: u32 = 0x8_0000;

/// The `SMFIP_NR_*` flag of a stage's command.
fn no_reply_flag(cmd: u8) -> u32 {
    match cmd {
        b'C' => NR_CONN,
        b'H' => NR_HELO,
        b'M' => NR_MAIL,
        b'R' => NR_RCPT,
        b'T' => NR_DATA,
        b'U' => NR_UNKN,
        b'L' => NR_HDR,
        b'N' => NR_EOH,
        b'B' => NR_BODY,
        _ => 0,
    }
}

impl RawClient {
    pub async fn connect(addr: std::net::SocketAddr) -> std::io::Result<RawClient> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(RawClient {
            stream,
            protocol: 0,
        })
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

    /// Sends a command and returns the reply's command byte; as Postfix does, a stage whose
    /// reply the milter negotiated away counts as "continue" without waiting.
    pub async fn ask(&mut self, cmd: u8, payload: &[u8]) -> std::io::Result<u8> {
        self.send(cmd, payload).await?;
        if self.protocol & no_reply_flag(cmd) != 0 {
            return Ok(b'c');
        }
        Ok(self.reply().await?.0)
    }

    /// Option negotiation and the connect/helo stages, as Postfix's smtpd does them.
    pub async fn open(&mut self) -> std::io::Result<()> {
        self.open_offering(ALL_STEPS).await
    }

    /// As [`RawClient::open`], offering only the protocol flags `steps` (an older MTA offers
    /// no `SMFIP_NR_*`).
    pub async fn open_offering(&mut self, steps: u32) -> std::io::Result<()> {
        let mut neg = Vec::new();
        for v in [VERSION, ALL_ACTIONS, steps] {
            neg.extend_from_slice(&v.to_be_bytes());
        }
        let (cmd, payload) = {
            self.send(b'O', &neg).await?;
            self.reply().await?
        };
        assert_eq!(cmd, b'O', "negotiation reply");
        // The reply is version, actions, protocol flags: four bytes each.
        let flags: [u8; 4] = payload
            .get(8..12)
            .and_then(|b| b.try_into().ok())
            .expect("12-byte negotiation reply");
        self.protocol = u32::from_be_bytes(flags);
        assert_eq!(
            self.protocol & !steps,
            0,
            "the milter must not ask for protocol flags the MTA did not offer"
        );
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
