//! `mm-topology`: starts the test mail system of [`mm_tests::Topology`] and keeps it running
//! until SIGINT or SIGTERM, then stops everything it started. For demos and manual debugging:
//!
//! ```text
//! mm-topology [--milter inet:127.0.0.1:PORT] [--dir STATE_DIR] [--json]
//! ```
//!
//! Prints the addresses (one JSON object on one line with `--json`), then `ready`.

use std::path::PathBuf;
use std::process::ExitCode;

use mm_tests::topology::{
    BOUNCE_DOMAIN, LOCAL_UNKNOWN, NXDOMAIN, REMOTE_ACCESS, REMOTE_LATE_BOUNCE, REMOTE_OK,
};
use mm_tests::Topology;

const USAGE: &str = "usage: mm-topology [--milter inet:127.0.0.1:PORT] [--dir STATE_DIR] [--json]";

fn main() -> ExitCode {
    let mut milter = None;
    let mut dir: Option<PathBuf> = None;
    let mut json = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--milter" => milter = args.next(),
            "--dir" => dir = args.next().map(PathBuf::from),
            "--json" => json = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("mm-topology: unknown argument {other:?}\n{USAGE}");
                return ExitCode::from(64);
            }
        }
    }
    let mut builder = Topology::builder("topology");
    if let Some(spec) = &milter {
        builder = builder.milter(spec);
    }
    if let Some(dir) = &dir {
        builder = builder.state_dir(dir);
    }
    let topo = match builder.start() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("mm-topology: {e}");
            return ExitCode::from(69);
        }
    };
    let info = serde_json::json!({
        "outbound_smtp": topo.outbound.smtpd_addr().to_string(),
        "outbound_config": topo.outbound.config_dir(),
        "outbound_maillog": topo.outbound.maillog_path(),
        "remote_smtp": topo.remote.smtpd_addr().to_string(),
        "remote_maillog": topo.remote.maillog_path(),
        "remote_sink": topo.remote_sink.addr().to_string(),
        "remote_sink_dumps": topo.remote_sink.dump_dir(),
        "bounce_sink": topo.bounce_sink.addr().to_string(),
        "bounce_sink_dumps": topo.bounce_sink.dump_dir(),
        "direct_sink": topo.direct_sink.addr().to_string(),
        "direct_sink_dumps": topo.direct_sink.dump_dir(),
        "milter": milter,
        "state_dir": topo.dir().path(),
        "bounce_domain": BOUNCE_DOMAIN,
        "remote_ok": REMOTE_OK,
        "remote_rejects": REMOTE_ACCESS,
        "nxdomain": NXDOMAIN,
        "local_unknown": LOCAL_UNKNOWN,
        "remote_late_bounce": REMOTE_LATE_BOUNCE,
    });
    if json {
        println!("{info}");
    } else {
        println!(
            "outbound Postfix  {}  (relay here; milter {})",
            topo.outbound.smtpd_addr(),
            milter.as_deref().unwrap_or("none")
        );
        println!(
            "remote Postfix    {}  (remote.test)",
            topo.remote.smtpd_addr()
        );
        println!(
            "remote mailbox    {}  dumps in {}",
            topo.remote_sink.addr(),
            topo.remote_sink.dump_dir().display()
        );
        println!(
            "bounce domain     {BOUNCE_DOMAIN} → {}  dumps in {}",
            topo.bounce_sink.addr(),
            topo.bounce_sink.dump_dir().display()
        );
        println!("direct sink       {}", topo.direct_sink.addr());
        println!("state directory   {}", topo.dir().path().display());
    }
    println!("ready");
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mm-topology: cannot wait for signals: {e}");
            return ExitCode::from(70);
        }
    };
    runtime.block_on(async {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("mm-topology: cannot wait for SIGTERM: {e}");
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    });
    eprintln!("mm-topology: stopping");
    drop(topo);
    ExitCode::SUCCESS
}
