//! SIGHUP: re-read the config file, apply what can change at run time, warn about the keys
//! that need a restart (they keep their old values until then).
use crate::app::App;
use crate::config::Config;

/// Keys whose new value only takes effect after a restart, with how to read them.
fn restart_keys(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut keys = Vec::new();
    let mut check = |key: &'static str, changed: bool| {
        if changed {
            keys.push(key);
        }
    };
    check("data_dir", old.data_dir != new.data_dir);
    check("state_dir", old.state_dir != new.state_dir);
    check("log_format", old.log_format != new.log_format);
    check("api.listen", old.api.listen != new.api.listen);
    check("api.token_file", old.api.token_file != new.api.token_file);
    check("milter.listen", old.milter.listen != new.milter.listen);
    check(
        "milter.on_report",
        old.milter.on_report != new.milter.on_report,
    );
    check(
        "milter.max_report_size",
        old.milter.max_report_size != new.milter.max_report_size,
    );
    check("bounce.domain", old.bounce.domain != new.bounce.domain);
    check(
        "bounce.local_part",
        old.bounce.local_part != new.bounce.local_part,
    );
    check(
        "bounce.key_file",
        old.bounce.key_file != new.bounce.key_file,
    );
    check("store.cache_mb", old.store.cache_mb != new.store.cache_mb);
    check("smtp.relay", old.smtp.relays != new.smtp.relays);
    check("smtp.helo", old.smtp.helo != new.smtp.helo);
    check(
        "smtp.concurrency",
        old.smtp.concurrency != new.smtp.concurrency,
    );
    check(
        "smtp.timeout_secs",
        old.smtp.timeout_secs != new.smtp.timeout_secs,
    );
    check(
        "watch",
        old.watch.poll != new.watch.poll
            || old.watch.poll_secs != new.watch.poll_secs
            || old.watch.debounce_ms != new.watch.debounce_ms,
    );
    keys
}

/// Reloads the config from its file. A broken file changes nothing (logged). The keys that
/// apply at once: `smtp.rate`, `smtp.rate_per_domain`, `smtp.max_attempts`,
/// `smtp.retry_delay_secs` (for sends started after the reload), `content.*` (CSS,
/// unsubscribe — for messages rendered after the reload), `bounce.suppress`.
pub fn reload(app: &App) {
    let old = app.config();
    let new = match Config::load(&old.file) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "SIGHUP: config not reloaded, the old one stays in force");
            return;
        }
    };
    let needs_restart = restart_keys(&old, &new);
    // Keys needing a restart keep their running values, so the config the parts see stays
    // consistent with what is actually bound and open.
    let mut merged = new.clone();
    merged.data_dir = old.data_dir.clone();
    merged.state_dir = old.state_dir.clone();
    merged.log_format = old.log_format;
    merged.api = old.api.clone();
    merged.milter = old.milter.clone();
    merged.bounce.domain = old.bounce.domain.clone();
    merged.bounce.local_part = old.bounce.local_part.clone();
    merged.bounce.key_file = old.bounce.key_file.clone();
    merged.store = old.store.clone();
    merged.smtp.relays = old.smtp.relays.clone();
    merged.smtp.helo = old.smtp.helo.clone();
    merged.smtp.concurrency = old.smtp.concurrency;
    merged.smtp.timeout_secs = old.smtp.timeout_secs;
    merged.watch = old.watch.clone();
    app.set_config(merged);
    for key in &needs_restart {
        tracing::warn!(
            key,
            "SIGHUP: this key changed but needs a restart to take effect"
        );
    }
    tracing::info!(file = %old.file.display(), restart_needed = needs_restart.len(), "config reloaded");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn listen_address_change_needs_a_restart_rate_does_not() {
        let p = Path::new("/x/mm.toml");
        let old = Config::parse(p, "[smtp]\nrate = 5\n").unwrap();
        let new = Config::parse(
            p,
            "[smtp]\nrate = 50\n[api]\nlisten = \"127.0.0.1:9999\"\n[content]\ndefault_css = \"b{}\"\n",
        )
        .unwrap();
        assert_eq!(restart_keys(&old, &new), vec!["api.listen"]);
    }
}
