//! How the CLI reaches the daemon's state (SPEC §9): through the running daemon's API
//! (address and token from the config), or — only when no daemon holds the store — in-process:
//! the store is opened here and the very same API routes answer, without a socket.
//!
//! Which one: the CLI first tries to open the store. `Locked` means a daemon holds it, so the
//! API is used; if the API cannot be reached either, the command fails with exit code 69.
use crate::app::{App, Parts};
use crate::config::Config;
use crate::exit::{Exit, CONFIG, DATAERR, SOFTWARE, UNAVAILABLE};
use crate::lifecycle::Lifecycle;
use crate::token::AdminToken;
use anyhow::Context;
use std::time::Duration;

/// An HTTP method the CLI uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A reply: status and body.
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> anyhow::Result<T> {
        serde_json::from_slice(&self.body).context("the daemon's answer is not the expected JSON")
    }

    /// Turns a non-2xx reply into an error with a fitting exit code; the API's `error` and
    /// `problems` are shown.
    pub fn ok(self) -> anyhow::Result<Reply> {
        if (200..300).contains(&self.status) {
            return Ok(self);
        }
        #[derive(serde::Deserialize)]
        struct ErrBody {
            error: String,
            #[serde(default)]
            problems: Vec<String>,
        }
        let mut msg = match serde_json::from_slice::<ErrBody>(&self.body) {
            Ok(e) => {
                e.error
                    + &e.problems
                        .iter()
                        .map(|p| format!("\n  - {p}"))
                        .collect::<String>()
            }
            Err(_) => String::from_utf8_lossy(&self.body).into_owned(),
        };
        let code = match self.status {
            401 => {
                msg.push_str(" (check api.token_file in the config)");
                CONFIG
            }
            503 => UNAVAILABLE,
            400..=499 => DATAERR,
            _ => SOFTWARE,
        };
        Err(anyhow::Error::new(Exit(code, msg)))
    }
}

/// Where requests go.
pub enum Backend {
    /// A running daemon.
    Http {
        /// `http://127.0.0.1:8025`
        base: String,
        /// `Bearer ...`
        auth: String,
        /// The HTTP agent.
        agent: ureq::Agent,
    },
    /// No daemon: the store opened in this process, the API routes called directly.
    Local {
        /// The in-process daemon state.
        app: App,
        /// Runtime for the routes and the sender.
        runtime: tokio::runtime::Runtime,
    },
}

impl Backend {
    /// Chooses the backend for `config`: in-process when the store can be opened, else the
    /// daemon's API. `with_sender` starts an SMTP pool for in-process sends and test mail.
    pub fn connect(config: &Config, with_sender: bool) -> anyhow::Result<Backend> {
        match mm_store::Store::open(config.store_dir(), config.store.cache_mb << 20) {
            Ok(store) => Backend::local(config, store, with_sender),
            Err(e) => {
                let locked = e.is_locked();
                match Backend::http(config) {
                    Ok(b) => Ok(b),
                    Err(http_err) => Err(anyhow::Error::new(Exit(
                        UNAVAILABLE,
                        if locked {
                            format!(
                                "a daemon holds the store, but its API at {} does not answer: {http_err:#}",
                                config.api.listen
                            )
                        } else {
                            format!(
                                "cannot open the store ({e}) and no daemon answers at {}: {http_err:#}",
                                config.api.listen
                            )
                        },
                    ))),
                }
            }
        }
    }

    fn http(config: &Config) -> anyhow::Result<Backend> {
        let token = AdminToken::load(&config.api.token_file).with_context(|| {
            format!(
                "reading the admin token {}",
                config.api.token_file.display()
            )
        })?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        let base = format!("http://{}", config.api.listen);
        // Is anybody there?
        agent
            .get(format!("{base}/healthz"))
            .call()
            .with_context(|| format!("connecting to {base}"))?;
        Ok(Backend::Http {
            base,
            auth: format!("Bearer {}", token.as_str()),
            agent,
        })
    }

    fn local(
        config: &Config,
        store: mm_store::Store,
        with_sender: bool,
    ) -> anyhow::Result<Backend> {
        tracing::debug!("no daemon holds the store: working in-process");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .worker_threads(2)
            .build()
            .context("starting the async runtime")?;
        let verp = mm_domain::VerpKey::load_or_create(&config.bounce.key_file)
            .context("loading the VERP key")?;
        let lifecycle = Lifecycle::new();
        let pool = with_sender.then(|| {
            let _guard = runtime.enter();
            mm_send::SmtpPool::start(crate::sender::sender_config(config), lifecycle.token())
        });
        for dir in [
            config.reports_dir(),
            config.mailings_dir(),
            config.documents_dir(),
        ] {
            let _ = std::fs::create_dir_all(dir);
        }
        let app = App::new(Parts {
            config: config.clone(),
            lifecycle,
            metrics: crate::metrics::install(),
            // In-process calls carry this token to the same routes the daemon serves.
            token: AdminToken::local(),
            store,
            verp,
            pool,
        });
        crate::mailings::rescan(&app);
        Ok(Backend::Local { app, runtime })
    }

    /// True when working in-process.
    pub fn is_local(&self) -> bool {
        matches!(self, Backend::Local { .. })
    }

    /// One request to `path` (starting with `/api/`).
    pub fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> anyhow::Result<Reply> {
        match self {
            Backend::Http { base, auth, agent } => {
                let url = format!("{base}{path}");
                let result = match (method, body) {
                    (Method::Get, _) => agent.get(&url).header("authorization", auth).call(),
                    (Method::Post, Some(b)) => {
                        agent.post(&url).header("authorization", auth).send_json(b)
                    }
                    (Method::Post, None) => {
                        agent.post(&url).header("authorization", auth).send_empty()
                    }
                };
                let mut resp = result.map_err(|e| {
                    anyhow::Error::new(Exit(UNAVAILABLE, format!("{} {url}: {e}", method.as_str())))
                })?;
                let status = resp.status().as_u16();
                let body = resp
                    .body_mut()
                    .with_config()
                    .limit(u64::MAX)
                    .read_to_vec()
                    .with_context(|| format!("reading the answer of {url}"))?;
                Ok(Reply { status, body })
            }
            Backend::Local { app, runtime } => {
                let routes = crate::api::routes(app.clone());
                let mut req = warp::test::request()
                    .method(method.as_str())
                    .path(path)
                    .header("authorization", format!("Bearer {}", app.token().as_str()));
                if let Some(b) = body {
                    let bytes = serde_json::to_vec(b)?;
                    req = req
                        .header("content-length", bytes.len().to_string())
                        .body(bytes);
                } else if method != Method::Get {
                    req = req.header("content-length", "0");
                }
                let resp = runtime.block_on(req.reply(&routes));
                Ok(Reply {
                    status: resp.status().as_u16(),
                    body: resp.body().to_vec(),
                })
            }
        }
    }

    /// GET, must succeed.
    pub fn get(&self, path: &str) -> anyhow::Result<Reply> {
        self.call(Method::Get, path, None)?.ok()
    }
}

/// Percent-encodes one path segment (mailing ids, addresses).
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@' | b'+') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
