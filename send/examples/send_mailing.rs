//! Sends one mailing from a store to a relay, the way the daemon does, as a process of its own
//! so that the crash test can kill it with SIGKILL and start it again.
//!
//! ```text
//! cargo run -p mm-send --example send_mailing -- \
//!     --store DIR --mailing FOLDER --relay 127.0.0.1:2525 \
//!     [--id ID] [--key-file FILE] [--bounce-domain D] [--concurrency N] \
//!     [--retry-ms N] [--max-attempts N] [--cache-mb N]
//! ```
//! The mailing must be in the store in state `sending` (with its columns); the folder holds
//! `mailing.toml` and the content. Prints one summary line on stdout and exits 0 when the
//! mailing is complete. `RUST_LOG=mm_send=debug` shows every message.
use mm_domain::VerpKey;
use mm_render::{PreparedMailing, RenderOptions};
use mm_send::{dispatch, Finished, Progress, SenderConfig, SmtpPool, Verp};
use mm_store::Store;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

struct Args {
    store: PathBuf,
    mailing: PathBuf,
    relay: String,
    id: Option<String>,
    key_file: Option<PathBuf>,
    bounce_domain: String,
    concurrency: usize,
    retry_ms: u64,
    max_attempts: u32,
    cache_mb: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        store: PathBuf::new(),
        mailing: PathBuf::new(),
        relay: String::new(),
        id: None,
        key_file: None,
        bounce_domain: "bounces.test".into(),
        concurrency: 4,
        retry_ms: 1000,
        max_attempts: 5,
        cache_mb: 16,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String| v.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--store" => a.store = value()?.into(),
            "--mailing" => a.mailing = value()?.into(),
            "--relay" => a.relay = value()?,
            "--id" => a.id = Some(value()?),
            "--key-file" => a.key_file = Some(value()?.into()),
            "--bounce-domain" => a.bounce_domain = value()?,
            "--concurrency" => a.concurrency = num(value()?)? as usize,
            "--retry-ms" => a.retry_ms = num(value()?)?,
            "--max-attempts" => a.max_attempts = num(value()?)? as u32,
            "--cache-mb" => a.cache_mb = num(value()?)?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if a.store.as_os_str().is_empty() || a.mailing.as_os_str().is_empty() || a.relay.is_empty() {
        return Err("--store, --mailing and --relay are required".into());
    }
    Ok(a)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match run().await {
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("send_mailing: {e}");
            std::process::exit(1);
        }
    }
}

async fn run() -> Result<String, String> {
    let args = parse_args()?;
    let store = Store::open(&args.store, args.cache_mb << 20).map_err(|e| e.to_string())?;
    let mailing = mm_mailing::Mailing::load(&args.mailing).map_err(|e| e.to_string())?;
    let id = args.id.clone().unwrap_or_else(|| mailing.id.clone());
    let record = store
        .mailing(&id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("mailing {id:?} is not in the store"))?;
    let prepared = PreparedMailing::new(&mailing, &record.columns, &RenderOptions::default())
        .map_err(|e| e.to_string())?;
    let key = match &args.key_file {
        Some(path) => VerpKey::load_or_create(path).map_err(|e| e.to_string())?,
        None => VerpKey::from_bytes(&[42u8; 32]),
    };
    let verp = Verp {
        key,
        local_part: "bounce".into(),
        domain: args.bounce_domain.clone(),
    };
    let config = SenderConfig {
        relays: vec![args.relay.clone()],
        helo: "send-mailing.test".into(),
        concurrency: args.concurrency,
        max_attempts: args.max_attempts,
        retry_delay: Duration::from_millis(args.retry_ms),
        relay_down_for: Duration::from_millis(args.retry_ms.clamp(100, 30_000)),
        timeout: Duration::from_secs(30),
        ..SenderConfig::default()
    };
    let shutdown = CancellationToken::new();
    let pool = SmtpPool::start(config, shutdown.clone());
    let progress = Progress::new();
    let started = std::time::Instant::now();
    let finished = dispatch::run(
        &store,
        &id,
        Arc::new(prepared),
        &verp,
        &pool,
        &progress,
        &shutdown,
    )
    .await
    .map_err(|e| e.to_string())?;
    shutdown.cancel();
    let p = progress.snapshot();
    let line = format!(
        "finished={finished:?} total={} settled={} sent={} rejected={} failed={} retries={} secs={:.2}",
        p.total,
        p.settled,
        p.sent,
        p.rejected,
        p.failed,
        p.retries,
        started.elapsed().as_secs_f64()
    );
    if finished != Finished::Complete {
        return Err(line);
    }
    Ok(line)
}
