//! The daemon config (SPEC §3): TOML text → raw serde structs → validated [`Config`].
//!
//! Every key has a default (documented in `config/mailing-manager.toml`), so an empty file is
//! a valid config. Errors name the file, the line and the key; the binary maps them to exit
//! code 78 (EX_CONFIG).
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Default location of the config file.
pub const DEFAULT_PATH: &str = "/etc/mailing-manager/mailing-manager.toml";

/// A config error with its place.
#[derive(Debug)]
pub struct ConfigError {
    /// The config file.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The dotted key, when known (`smtp.concurrency`).
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Where the milter listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MilterListen {
    /// `inet:HOST:PORT`
    Inet(SocketAddr),
    /// `unix:/path`
    Unix(PathBuf),
}

/// What the milter does with a recognised report after recording it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportAction {
    /// Drop it (default): reports stay out of human mailboxes.
    Discard,
    /// Let it through to its mailbox.
    Accept,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines (default).
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The validated config.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub file: PathBuf,
    /// DATA: `reports/`, `mailings/`, `documents/`. Default `/var/lib/mailing-manager/data`.
    pub data_dir: PathBuf,
    /// STATE: the sled store, the VERP key, the admin token. Default `/var/lib/mailing-manager/state`.
    pub state_dir: PathBuf,
    /// `text` (default) or `json`.
    pub log_format: LogFormat,
    /// `[smtp]`
    pub smtp: SmtpConfig,
    /// `[bounce]`
    pub bounce: BounceConfig,
    /// `[milter]`
    pub milter: MilterConfig,
    /// `[api]`
    pub api: ApiConfig,
    /// `[content]`
    pub content: ContentConfig,
    /// `[store]`
    pub store: StoreConfig,
    /// `[watch]`
    pub watch: WatchConfig,
}

/// `[smtp]`: relaying to the MTA.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Relays (`host:port`), default `["127.0.0.1:25"]`; messages are spread over them and a
    /// relay that is down is skipped.
    pub relays: Vec<String>,
    /// EHLO name, default `localhost`.
    pub helo: String,
    /// Parallel SMTP connections, default 4.
    pub concurrency: usize,
    /// Messages per second over all connections, 0 = unlimited (default).
    pub rate: f64,
    /// Messages per second per destination domain, 0 = unlimited (default).
    pub rate_per_domain: f64,
    /// Attempts on 4xx / connection errors before a recipient is `failed`, default 5.
    pub max_attempts: u32,
    /// First retry delay in seconds (doubles each attempt), default 30.
    pub retry_delay_secs: u64,
    /// SMTP command timeout in seconds, default 60.
    pub timeout_secs: u64,
}

/// `[bounce]`: VERP addresses and suppression.
#[derive(Debug, Clone)]
pub struct BounceConfig {
    /// Domain of the VERP envelope sender, default `bounces.localhost`.
    pub domain: String,
    /// Local part before `+token`, default `bounce`.
    pub local_part: String,
    /// HMAC key file, default `STATE/verp.key` (generated 0600 on first start).
    pub key_file: PathBuf,
    /// Put hard-bounced and complaining addresses on the suppression list, default true.
    pub suppress: bool,
}

/// `[milter]`
#[derive(Debug, Clone)]
pub struct MilterConfig {
    /// `inet:127.0.0.1:8891` (default) or `unix:/path`.
    pub listen: MilterListen,
    /// `discard` (default) or `accept`.
    pub on_report: ReportAction,
    /// Largest report buffered for classification, bytes, default 4 MiB.
    pub max_report_size: usize,
}

/// `[api]`
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Listen address, default `127.0.0.1:8025`.
    pub listen: SocketAddr,
    /// Bearer token file, default `STATE/api.token` (generated 0600 on first start).
    pub token_file: PathBuf,
}

/// `[content]`
#[derive(Debug, Clone)]
pub struct ContentConfig {
    /// CSS put into a `<style>` element unless the body says `<!-- nostyle -->`.
    pub default_css: String,
    /// `List-Unsubscribe` URL (https), optional.
    pub unsubscribe_url: Option<String>,
    /// `List-Unsubscribe` mailto address, optional.
    pub unsubscribe_mailto: Option<String>,
}

/// `[store]`
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Memory budget of the store in MiB, default 64 (sled's page cache gets a quarter of it:
    /// sled holds about twice its nominal cache in memory, plus page tables).
    pub cache_mb: u64,
}

/// `[watch]`
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// Debounce delay in milliseconds, default 500.
    pub debounce_ms: u64,
    /// Poll instead of inotify (network file systems), default false.
    pub poll: bool,
    /// Poll interval in seconds, default 5.
    pub poll_secs: u64,
}

/// The default CSS of the style tag.
pub const DEFAULT_CSS: &str = "body { font-family: Arial, Helvetica, sans-serif; font-size: 14px; line-height: 1.5; color: #222222; }\n\
a { color: #0b5cad; }\nimg { border: 0; max-width: 100%; }\np { margin: 0 0 1em 0; }";

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Raw {
    data_dir: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    log_format: Option<LogFormat>,
    #[serde(default)]
    smtp: RawSmtp,
    #[serde(default)]
    bounce: RawBounce,
    #[serde(default)]
    milter: RawMilter,
    #[serde(default)]
    api: RawApi,
    #[serde(default)]
    content: RawContent,
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    watch: RawWatch,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    relay: Option<OneOrMany>,
    helo: Option<String>,
    concurrency: Option<usize>,
    rate: Option<f64>,
    rate_per_domain: Option<f64>,
    max_attempts: Option<u32>,
    retry_delay_secs: Option<u64>,
    timeout_secs: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBounce {
    domain: Option<String>,
    local_part: Option<String>,
    key_file: Option<PathBuf>,
    suppress: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMilter {
    listen: Option<String>,
    on_report: Option<ReportAction>,
    max_report_size: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawApi {
    listen: Option<String>,
    token_file: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawContent {
    default_css: Option<String>,
    css_file: Option<PathBuf>,
    unsubscribe_url: Option<String>,
    unsubscribe_mailto: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStore {
    cache_mb: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWatch {
    debounce_ms: Option<u64>,
    poll: Option<bool>,
    poll_secs: Option<u64>,
}

impl Config {
    /// Reads and validates the config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            line: None,
            key: None,
            message: format!("cannot read: {e}"),
        })?;
        Config::parse(path, &text)
    }

    /// Parses and validates config text; `path` is used for messages and relative paths.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            ConfigError {
                file: path.to_path_buf(),
                line,
                key: None,
                message: e.message().trim().to_string(),
            }
        })?;
        let bad = |key: &str, message: String| ConfigError {
            file: path.to_path_buf(),
            line: find_key_line(text, key),
            key: Some(key.to_string()),
            message,
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let abs = |p: PathBuf| if p.is_relative() { base.join(p) } else { p };
        let data_dir = abs(raw
            .data_dir
            .unwrap_or_else(|| "/var/lib/mailing-manager/data".into()));
        let state_dir = abs(raw
            .state_dir
            .unwrap_or_else(|| "/var/lib/mailing-manager/state".into()));

        let relays = match raw.smtp.relay {
            None => vec!["127.0.0.1:25".to_string()],
            Some(OneOrMany::One(s)) => vec![s],
            Some(OneOrMany::Many(v)) => v,
        };
        if relays.is_empty() {
            return Err(bad(
                "smtp.relay",
                "needs at least one relay (host:port)".into(),
            ));
        }
        for r in &relays {
            match r.rsplit_once(':') {
                Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {}
                _ => return Err(bad("smtp.relay", format!("{r:?} is not host:port"))),
            }
        }
        let concurrency = raw.smtp.concurrency.unwrap_or(4);
        if !(1..=256).contains(&concurrency) {
            return Err(bad(
                "smtp.concurrency",
                format!("{concurrency} is outside 1..=256"),
            ));
        }
        let rate = raw.smtp.rate.unwrap_or(0.0);
        if !(rate >= 0.0 && rate.is_finite()) {
            return Err(bad(
                "smtp.rate",
                "must be a number ≥ 0 (0 = unlimited)".into(),
            ));
        }
        let rate_per_domain = raw.smtp.rate_per_domain.unwrap_or(0.0);
        if !(rate_per_domain >= 0.0 && rate_per_domain.is_finite()) {
            return Err(bad(
                "smtp.rate_per_domain",
                "must be a number ≥ 0 (0 = unlimited)".into(),
            ));
        }
        let max_attempts = raw.smtp.max_attempts.unwrap_or(5);
        if max_attempts == 0 {
            return Err(bad("smtp.max_attempts", "must be at least 1".into()));
        }
        let helo = raw.smtp.helo.unwrap_or_else(|| "localhost".into());
        if helo.is_empty() || helo.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("smtp.helo", format!("{helo:?} is not a host name")));
        }

        let domain = raw
            .bounce
            .domain
            .unwrap_or_else(|| "bounces.localhost".into());
        if domain.is_empty()
            || !domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return Err(bad(
                "bounce.domain",
                format!("{domain:?} is not a domain name"),
            ));
        }
        let local_part = raw.bounce.local_part.unwrap_or_else(|| "bounce".into());
        if local_part.is_empty()
            || local_part.len() > 24
            || !local_part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(bad(
                "bounce.local_part",
                format!("{local_part:?}: use 1–24 letters, digits, '-', '_' or '.' (the token follows a '+')"),
            ));
        }

        let listen = raw
            .milter
            .listen
            .unwrap_or_else(|| "inet:127.0.0.1:8891".into());
        let milter_listen = if let Some(rest) = listen.strip_prefix("inet:") {
            MilterListen::Inet(
                rest.parse()
                    .map_err(|_| bad("milter.listen", format!("{rest:?} is not IP:PORT")))?,
            )
        } else if let Some(rest) = listen.strip_prefix("unix:") {
            if rest.is_empty() {
                return Err(bad("milter.listen", "unix: needs a socket path".into()));
            }
            MilterListen::Unix(abs(rest.into()))
        } else {
            return Err(bad(
                "milter.listen",
                format!("{listen:?}: use inet:IP:PORT or unix:/path"),
            ));
        };

        let api_listen = raw.api.listen.unwrap_or_else(|| "127.0.0.1:8025".into());
        let api_listen: SocketAddr = api_listen
            .parse()
            .map_err(|_| bad("api.listen", format!("{api_listen:?} is not IP:PORT")))?;

        let default_css = match (raw.content.default_css, raw.content.css_file) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "content.css_file",
                    "set either default_css or css_file, not both".into(),
                ))
            }
            (Some(css), None) => css,
            (None, Some(file)) => {
                let file = abs(file);
                std::fs::read_to_string(&file)
                    .map_err(|e| bad("content.css_file", format!("{}: {e}", file.display())))?
            }
            (None, None) => DEFAULT_CSS.to_string(),
        };
        if let Some(url) = &raw.content.unsubscribe_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(bad(
                    "content.unsubscribe_url",
                    format!("{url:?} is not an http(s) URL"),
                ));
            }
        }
        if let Some(m) = &raw.content.unsubscribe_mailto {
            if !m.contains('@') || m.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(bad(
                    "content.unsubscribe_mailto",
                    format!("{m:?} is not an address"),
                ));
            }
        }
        let cache_mb = raw.store.cache_mb.unwrap_or(64);
        if cache_mb == 0 {
            return Err(bad("store.cache_mb", "must be at least 1".into()));
        }

        Ok(Config {
            file: path.to_path_buf(),
            log_format: raw.log_format.unwrap_or(LogFormat::Text),
            smtp: SmtpConfig {
                relays,
                helo,
                concurrency,
                rate,
                rate_per_domain,
                max_attempts,
                retry_delay_secs: raw.smtp.retry_delay_secs.unwrap_or(30),
                timeout_secs: raw.smtp.timeout_secs.unwrap_or(60).max(1),
            },
            bounce: BounceConfig {
                domain,
                local_part,
                key_file: raw
                    .bounce
                    .key_file
                    .map(abs)
                    .unwrap_or_else(|| state_dir.join("verp.key")),
                suppress: raw.bounce.suppress.unwrap_or(true),
            },
            milter: MilterConfig {
                listen: milter_listen,
                on_report: raw.milter.on_report.unwrap_or(ReportAction::Discard),
                max_report_size: raw.milter.max_report_size.unwrap_or(4 << 20),
            },
            api: ApiConfig {
                listen: api_listen,
                token_file: raw
                    .api
                    .token_file
                    .map(abs)
                    .unwrap_or_else(|| state_dir.join("api.token")),
            },
            content: ContentConfig {
                default_css,
                unsubscribe_url: raw.content.unsubscribe_url,
                unsubscribe_mailto: raw.content.unsubscribe_mailto,
            },
            store: StoreConfig { cache_mb },
            watch: WatchConfig {
                debounce_ms: raw.watch.debounce_ms.unwrap_or(500),
                poll: raw.watch.poll.unwrap_or(false),
                poll_secs: raw.watch.poll_secs.unwrap_or(5).max(1),
            },
            data_dir,
            state_dir,
        })
    }

    /// `DATA/reports`
    pub fn reports_dir(&self) -> PathBuf {
        self.data_dir.join("reports")
    }
    /// `DATA/mailings`
    pub fn mailings_dir(&self) -> PathBuf {
        self.data_dir.join("mailings")
    }
    /// `DATA/documents`
    pub fn documents_dir(&self) -> PathBuf {
        self.data_dir.join("documents")
    }
    /// `STATE/store` (the sled database).
    pub fn store_dir(&self) -> PathBuf {
        self.state_dir.join("store")
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// Finds the line of a dotted key (`smtp.concurrency`): the `key =` line inside its table.
fn find_key_line(text: &str, dotted: &str) -> Option<usize> {
    let (table, key) = match dotted.rsplit_once('.') {
        Some((t, k)) => (Some(t), k),
        None => (None, dotted),
    };
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            current = Some(name.trim().to_string());
            continue;
        }
        let in_table = match table {
            Some(tb) => current.as_deref() == Some(tb),
            None => current.is_none(),
        };
        if in_table {
            if let Some((k, _)) = t.split_once('=') {
                if k.trim() == key {
                    return Some(i + 1);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/etc/mm/mm.toml"), text)
    }

    #[test]
    fn empty_config_has_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.smtp.relays, vec!["127.0.0.1:25"]);
        assert_eq!(c.smtp.concurrency, 4);
        assert_eq!(
            c.milter.listen,
            MilterListen::Inet("127.0.0.1:8891".parse().unwrap())
        );
        assert_eq!(c.api.listen, "127.0.0.1:8025".parse().unwrap());
        assert_eq!(c.milter.on_report, ReportAction::Discard);
        assert_eq!(
            c.bounce.key_file,
            PathBuf::from("/var/lib/mailing-manager/state/verp.key")
        );
        assert_eq!(c.store.cache_mb, 64);
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let e = parse("data_dir = \"d\"\n[smtp]\nhelo = \"mx\"\nconcurrency = 0\n").unwrap_err();
        let msg = e.to_string();
        assert_eq!(e.line, Some(4), "{msg}");
        assert!(
            msg.contains("/etc/mm/mm.toml:4: key `smtp.concurrency`"),
            "{msg}"
        );

        let e = parse("[smtp]\nconcurency = 3\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.to_string().contains("concurency"), "{e}");

        let e = parse("[milter]\nlisten = \"tcp:1\"\n").unwrap_err();
        assert!(e.to_string().contains("milter.listen"), "{e}");

        let e = parse("[smtp\n").unwrap_err();
        assert_eq!(e.line, Some(1), "{e}");
    }

    #[test]
    fn relative_paths_are_relative_to_the_config_file() {
        let c = parse(
            "data_dir = \"data\"\nstate_dir = \"state\"\n[milter]\nlisten = \"unix:milter.sock\"\n",
        )
        .unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/etc/mm/data"));
        assert_eq!(c.api.token_file, PathBuf::from("/etc/mm/state/api.token"));
        assert_eq!(
            c.milter.listen,
            MilterListen::Unix("/etc/mm/milter.sock".into())
        );
        let c = parse("[smtp]\nrelay = [\"127.0.0.1:2525\", \"127.0.0.2:25\"]\n").unwrap();
        assert_eq!(c.smtp.relays.len(), 2);
    }
}
