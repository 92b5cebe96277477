//! Figure 1: personalised messages rendered and built per second on one core, against
//! mail-builder building one fixed message of the same size and MIME structure.
//!
//! Both run on this thread, interleaved in rounds (so a burst of load on the shared machine
//! hits both), and are timed by the thread's own CPU time.
//! - Ours, per recipient: the signed VERP token and Message-ID, then
//!   `PreparedMailing::render` (merge fields filled and escaped in subject, HTML, derived text
//!   and headers; the MIME tree built and serialised).
//! - The reference, per message: one fixed message (the first recipient's subject, HTML and
//!   text, the same logo and PDF as raw bytes) assembled with mail-builder's `MimePart`s into
//!   the same tree — mixed(related(alternative(text, html), logo), PDF) — and serialised,
//!   base64 of the binaries included (that is what building a message with mail-builder
//!   costs).
use crate::figure::Figure;
use crate::fixture;
use crate::measure::thread_cpu_secs;
use anyhow::Result;
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::mime::MimePart;
use mail_builder::MessageBuilder;
use mm_render::MessageIds;
use std::hint::black_box;

/// What one measurement found.
#[derive(Debug, Clone)]
pub struct RenderFigures {
    /// Personalised messages per CPU second.
    pub ours: f64,
    /// Fixed messages built per CPU second.
    pub fixed: f64,
    /// Average size of a personalised message, bytes.
    pub ours_bytes: usize,
    /// Size of the fixed message, bytes.
    pub fixed_bytes: usize,
}

/// Measures `n` messages of each kind in `rounds` interleaved rounds.
pub fn measure(n: u64, rounds: u64) -> Result<RenderFigures> {
    // The daemon renders under the allocator settings its store sets when it opens.
    mm_store::tune_allocator();
    let dir = tempfile::tempdir()?;
    let folder = fixture::write_mailing(dir.path(), 20)?;
    let mailing = fixture::load(&folder)?;
    let prepared = fixture::prepare(&mailing, &fixture::columns())?;
    let verp = fixture::verp();
    let rows: Vec<Vec<String>> = (0..1000).map(fixture::row).collect();

    // The fixed message: recipient 0's content, built by mail-builder alone.
    let first = &rows[0];
    let subject = prepared.subject(first);
    let html = prepared.html(first);
    let text = prepared.text(first);
    let logo = std::fs::read(folder.join("logo.png"))?;
    let pdf = std::fs::read(folder.join("Preisliste März.pdf"))?;
    let to = first[6].clone();
    let build_fixed = || -> Vec<u8> {
        let alternative = MimePart::new(
            "multipart/alternative",
            vec![
                MimePart::new("text/plain", text.as_str()),
                MimePart::new("text/html", html.as_str()),
            ],
        );
        let related = MimePart::new(
            ContentType::new("multipart/related").attribute("type", "multipart/alternative"),
            vec![
                alternative,
                MimePart::new("image/png", logo.as_slice())
                    .inline()
                    .cid("img1.0123456789abcdef@mailing-manager"),
            ],
        );
        let mixed = MimePart::new(
            "multipart/mixed",
            vec![
                related,
                MimePart::new("application/pdf", pdf.as_slice()).attachment("Preisliste März.pdf"),
            ],
        );
        let mut out = Vec::new();
        MessageBuilder::new()
            .from(Address::new_address(
                Some("Muster Handel GmbH"),
                "newsletter@muster-handel.test",
            ))
            .reply_to(Address::new_address(
                Some("Vertrieb Muster Handel"),
                "vertrieb@muster-handel.test",
            ))
            .to(Address::new_address(None::<&str>, to.as_str()))
            .subject(Text::new(subject.as_str()))
            .date(1_700_000_000i64)
            .message_id("fixed.token@bounces.test")
            .header(
                "List-Unsubscribe",
                Raw::new("<https://news.muster-handel.test/u/fixed.token>"),
            )
            .header(
                "List-Unsubscribe-Post",
                Raw::new("List-Unsubscribe=One-Click"),
            )
            .header("X-Mailing", Text::new(fixture::ID))
            .header("X-Kampagne", Text::new("fruehjahr-bench"))
            .body(mixed)
            .serialize(&mut out);
        out
    };
    let render_one = |k: u64| -> Result<Vec<u8>> {
        let row = &rows[(k % rows.len() as u64) as usize];
        let a = verp.address(1, k as u32, &row[6]);
        let ids = MessageIds::new(a.message_id, a.token.to_string());
        Ok(prepared.render(row, &ids)?)
    };

    // Warm-up (caches, allocator) and sizes.
    let ours_bytes = render_one(0)?.len();
    let fixed_bytes = build_fixed().len();
    let per_round = (n / rounds.max(1)).max(1);
    let (mut ours_cpu, mut fixed_cpu, mut done) = (0.0, 0.0, 0u64);
    let mut k = 0u64;
    for _ in 0..rounds.max(1) {
        let t = thread_cpu_secs();
        for _ in 0..per_round {
            black_box(render_one(k)?);
            k += 1;
        }
        ours_cpu += thread_cpu_secs() - t;
        let t = thread_cpu_secs();
        for _ in 0..per_round {
            black_box(build_fixed());
        }
        fixed_cpu += thread_cpu_secs() - t;
        done += per_round;
    }
    Ok(RenderFigures {
        ours: crate::rate(done, ours_cpu),
        fixed: crate::rate(done, fixed_cpu),
        ours_bytes,
        fixed_bytes,
    })
}

/// The figure: ≥ 5,000/s and ≥ 0.5 × the fixed build.
pub fn figure(f: &RenderFigures, n: u64) -> Figure {
    Figure::rate_vs(
        "1",
        &format!(
            "personalised messages rendered+built, one core ({n} msgs, {:.0} KB each; fixed build {:.0} KB)",
            f.ours_bytes as f64 / 1024.0,
            f.fixed_bytes as f64 / 1024.0
        ),
        f.ours,
        f.fixed,
        "msg/s",
        5_000.0,
        0.5,
    )
}
