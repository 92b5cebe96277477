//! The one place where errors become exit codes (sysexits.h).
use std::process::ExitCode;

/// EX_USAGE: bad command line or input data.
pub const USAGE: u8 = 64;
/// EX_DATAERR: the input data was bad (a broken report or mailing).
pub const DATAERR: u8 = 65;
/// EX_UNAVAILABLE: a service is unavailable (port busy, daemon not reachable).
pub const UNAVAILABLE: u8 = 69;
/// EX_SOFTWARE: internal error.
pub const SOFTWARE: u8 = 70;
/// EX_CONFIG: configuration error.
pub const CONFIG: u8 = 78;

/// An error that carries its exit code; attach with `anyhow::Error::from(Exit(..))` or
/// `.context(Exit(..))`.
#[derive(Debug)]
pub struct Exit(pub u8, pub String);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.1)
    }
}
impl std::error::Error for Exit {}

/// Prints the error chain and picks the exit code.
pub fn report(err: &anyhow::Error) -> ExitCode {
    eprintln!("mailing-manager: {err:#}");
    let code = err
        .chain()
        .find_map(|e| {
            if let Some(Exit(code, _)) = e.downcast_ref::<Exit>() {
                Some(*code)
            } else if e.downcast_ref::<crate::config::ConfigError>().is_some() {
                Some(CONFIG)
            } else {
                None
            }
        })
        .unwrap_or(1);
    ExitCode::from(code)
}
