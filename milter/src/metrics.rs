//! The metric names this crate emits through the `metrics` facade. The daemon installs the
//! Prometheus recorder; without one the macros cost next to nothing.
//!
//! | name | type | labels | counts |
//! |---|---|---|---|
//! | `mm_milter_connections_total` | counter | | MTA connections accepted |
//! | `mm_milter_sessions_total` | counter | | milter sessions (connect stage seen) |
//! | `mm_milter_messages_total` | counter | `path` = `passed` / `report` | messages seen; `passed` = not for the bounce domain, accepted unread |
//! | `mm_milter_reports_total` | counter | `kind`, `reason` | recognised reports; `reason` of the first recipient, `none` when there is none |
//! | `mm_milter_recorded_total` | counter | `outcome` = `recorded` / `ignored` | what the sink did |
//! | `mm_milter_not_a_report_total` | counter | | messages to the bounce domain that are no report (let through) |
//! | `mm_milter_forged_total` | counter | | reports whose token failed verification |
//! | `mm_milter_untokened_total` | counter | | reports with no token anywhere |
//! | `mm_milter_oversized_total` | counter | | messages over `max_report_size` (let through unread) |
//! | `mm_milter_tempfail_total` | counter | | store failures answered with tempfail |
//! | `mm_milter_errors_total` | counter | `what` | internal errors (message let through) |
//! | `mm_milter_report_seconds` | histogram | | time from end of message to the reply, for reports |
//! | `mm_milter_report_bytes` | histogram | | size of the reports read |

/// MTA connections accepted.
pub const CONNECTIONS_TOTAL: &str = "mm_milter_connections_total";
/// Milter sessions started.
pub const SESSIONS_TOTAL: &str = "mm_milter_sessions_total";
/// Messages seen, by path.
pub const MESSAGES_TOTAL: &str = "mm_milter_messages_total";
/// Recognised reports by kind and reason.
pub const REPORTS_TOTAL: &str = "mm_milter_reports_total";
/// Sink outcomes.
pub const RECORDED_TOTAL: &str = "mm_milter_recorded_total";
/// Mail to the bounce domain that is no report.
pub const NOT_A_REPORT_TOTAL: &str = "mm_milter_not_a_report_total";
/// Reports with a forged token.
pub const FORGED_TOTAL: &str = "mm_milter_forged_total";
/// Reports without any token.
pub const UNTOKENED_TOTAL: &str = "mm_milter_untokened_total";
/// Messages over the size limit.
pub const OVERSIZED_TOTAL: &str = "mm_milter_oversized_total";
/// Store failures answered with tempfail.
pub const TEMPFAIL_TOTAL: &str = "mm_milter_tempfail_total";
/// Internal errors.
pub const ERRORS_TOTAL: &str = "mm_milter_errors_total";
/// End-of-message handling time for reports, seconds.
pub const REPORT_SECONDS: &str = "mm_milter_report_seconds";
/// Report sizes, bytes.
pub const REPORT_BYTES: &str = "mm_milter_report_bytes";
