//! Test mail (SPEC §7): the mailing rendered for one row, sent to any address, touching no
//! recipient's state.
use crate::dispatch::Render;
use crate::envelope::Envelope;
use crate::outcome::Outcome;
use crate::pool::SmtpPool;
use crate::verp::Verp;
use mm_render::{MessageIds, RenderError};
use std::time::{SystemTime, UNIX_EPOCH};

/// Renders `values` (one row, in column order) and sends the message to `to`. The envelope
/// sender is the plain bounce address without a token, so a bounce of a test message is never
/// taken for a recipient's; the Message-ID is `test.<time>@<bounce domain>`.
///
/// Relay problems are in the returned [`Outcome`] (an unreachable relay is not waited for).
pub async fn send_test(
    pool: &SmtpPool,
    render: &dyn Render,
    values: &[String],
    to: &str,
    verp: &Verp,
) -> Result<Outcome, RenderError> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let message_id = format!("test.{nanos:x}@{}", verp.domain);
    let message = render.render(values, &MessageIds::new(message_id, "test"))?;
    let envelope = Envelope {
        sender: verp.plain_sender(),
        recipient: to.to_string(),
        envid: None,
    };
    Ok(pool.send(envelope, message).await)
}
