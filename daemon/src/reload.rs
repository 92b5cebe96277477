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
    // The SMTP pool is built once at start-up from all of [smtp].
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
    check("smtp.rate", old.smtp.rate != new.smtp.rate);
    check(
        "smtp.rate_per_domain",
        old.smtp.rate_per_domain != new.smtp.rate_per_domain,
    );
    check(
        "smtp.max_attempts",
        old.smtp.max_attempts != new.smtp.max_attempts,
    );
    check(
        "smtp.retry_delay_secs",
        old.smtp.retry_delay_secs != new.smtp.retry_delay_secs,
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
/// apply at once: `content.*` (default CSS, unsubscribe — for previews, test mails and
/// dispatches prepared after the reload) and `bounce.suppress` (for the next report). Every
/// other key keeps its running value until a restart, with a warning naming it.
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
    merged.smtp = old.smtp.clone();
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
    fn listen_address_and_rate_need_a_restart_css_does_not() {
        let p = Path::new("/x/mm.toml");
        let old = Config::parse(p, "[smtp]\nrate = 5\n").unwrap();
        let new = Config::parse(
            p,
            "[smtp]\nrate = 5\n[api]\nlisten = \"127.0.0.1:9999\"\n[content]\ndefault_css = \"b{}\"\n[bounce]\nsuppress = false\n",
        )
        .unwrap();
        assert_eq!(restart_keys(&old, &new), vec!["api.listen"]);
        let faster = Config::parse(p, "[smtp]\nrate = 50\n").unwrap();
        assert_eq!(restart_keys(&old, &faster), vec!["smtp.rate"]);
    }
}
