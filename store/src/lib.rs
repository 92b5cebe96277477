//! The store of Mailing Manager: sled 0.34 behind a small typed, synchronous API. A leaf crate
//! used from one process by the sender, the milter sink and the admin API (SPEC §5, §7, §8).
//!
//! # Using it
//! ```no_run
//! use mm_store::{Store, NewRecipient, RecipientUpdate, UpdateOutcome};
//! # fn main() -> Result<(), mm_store::StoreError> {
//! let store = Store::open("/var/lib/mailing-manager/state/store", 64 << 20)?; // cache bytes
//! let m = store.ensure_mailing("2026-spring")?;           // id = folder name; m.number for VERP
//! store.import_recipients(&m.id, vec![NewRecipient {
//!     email: "a@example.org".into(), send: true, ..Default::default() }])?;
//! for row in store.due_rows(m.number, mm_store::now_ms()) {  // the sender's queue
//!     let row = row?;
//!     // ... relay the message, then:
//!     store.update_recipient(m.number, row, &RecipientUpdate::sent(Some("4Xy".into()), "250 ok"))?;
//!     store.flush()?;                                      // before taking the next job
//! }
//! # Ok(()) }
//! ```
//! `Store` is a cheap clone (an `Arc`). Every call is synchronous and short (one key or one
//! small transaction); from async code wrap calls in `spawn_blocking`, and use
//! [`Store::flush_async`] for flushing. Iterators (`recipients`, `due_rows`, `bounces`,
//! `documents`) read the tree lazily: memory stays flat in the list length.
//!
//! Opening fails with [`StoreError::Locked`] when another process (or another open handle in
//! this process) holds the store: the CLI should then say "the daemon holds the store; ask it
//! via the API". Always pass the configured cache size: sled's default is 1 GiB.
//!
//! # API at a glance
//! - Mailings ([`Mailing`]): `create_mailing`, `ensure_mailing`, `mailing(id)`,
//!   `mailing_by_number(n)`, `mailing_number(id)`, `mailings()`, `update_mailing(id, |m| ..)`,
//!   `set_mailing_state(id, state)` — the life cycle rule is [`mailing_transition_allowed`].
//! - Recipients ([`Recipient`]): `import_recipients` / `try_import_recipients` (streamed,
//!   replaces a draft's list), `recipient(n, row)`, `recipients(n)` / `recipients_from(n, row)`
//!   (streaming), `recipients_page(n, offset, limit)`, `rows_by_email`, `recipient_by_email`,
//!   `counts(n)` ([`StatusCounts`], derived from the records), `count_by_scan(n)`.
//! - Changes: `update_recipient(n, row, &RecipientUpdate)` → [`UpdateOutcome`] (`Applied` or
//!   `Refused` when [`transition_allowed`] says no), `set_send(n, row, send, reason)`,
//!   `due_rows(n, now)`, `next_due(n)`, `flush()`, `flush_async()`.
//! - Unticking by hand (API `PATCH .../recipients/{email}`): `untick_address(id, email)`,
//!   `retick_address(id, email)`, `unticked_addresses(n)` — remembered across re-imports.
//! - Suppression ([`Suppression`]): `suppress`, `is_suppressed`, `suppression`, `unsuppress`,
//!   `suppressions`.
//! - Customer documents ([`CustomerDocument`]): `put_document`, `document`,
//!   `customer_documents(customer, type)`, `documents(type)`.
//! - Raw reports ([`RawReport`]): `add_report`, `reports(n, row)`, `report(n, row, seq)`; bounce
//!   log ([`BounceEntry`], written when a recipient becomes `bounced`): `bounces(hard_only)`.
//! - Counters: `incr_counter`, `counter`, `counters`, `count_forged_report` ([`FORGED_REPORTS`]).
//!
//! # Durability protocol (SPEC §7)
//! sled buffers writes and flushes every 500 ms on its own; a write is only promised durable
//! after [`Store::flush`] (or `flush_async`) returns. The rule: **a state change is flushed
//! before the step that relies on it.**
//! - Sender: take a due row → relay it → `update_recipient` with the outcome → `flush` → only
//!   then report progress / take the next job. Concurrent senders may share one flush (group
//!   commit): each records its outcome, then awaits a flush that started after its write. A
//!   crash between the relay's 250 and the flush re-sends at most the messages in flight.
//! - Starting a send: `set_mailing_state(id, Sending)` → `flush` → start sending. Closing:
//!   all rows settled → `set_mailing_state(id, Sent)` → `flush`.
//! - Milter: `add_report` + `update_recipient` (+ `suppress`) → `flush` → answer the MTA
//!   (discard/accept). If any of these fail, answer tempfail so the MTA retries.
//! - Imports flush themselves before marking the list complete (and every 10,240 rows on the
//!   way, which bounds their memory).
//!
//! Flushing also bounds memory: measured with 100,000 updates and a sled cache of 64 MiB, peak
//! RSS was 87 MB flushing every 64 updates but 446 MB with a single flush at the end, because
//! sled keeps unflushed transaction state resident. Long-running writers must flush regularly.
//!
//! # Memory
//! `cache_bytes` is a budget, of which sled gets a quarter ([`SLED_CACHE_SHARE`]): sled holds
//! cached pages decoded, ~2× their size on disk, and keeps state for every page it knows,
//! cached or not, splitting leaves at 16 entries. So nothing that grows with a list takes a key
//! per row (layouts 2 and 3): recipients are packed 16 per key (`block`), the address index is
//! hash buckets written in runs of 10,240 rows (`address_index`), the in-memory due queue keeps
//! a bitmap per 256 rows; imports flush every 10,240 rows. Two sled habits shape the code beyond that: its
//! cache evicts only after 64 accesses per shard, so a range scan touching each page once can
//! hold 64 pages per shard beyond the budget (16,384 with upstream's 256 shards; our patched
//! sled has 16, `vendor/sled/PATCHES.md`) — streaming the list therefore reads row by row; and what
//! glibc keeps of sled's short-lived allocations grows with the number of updates, so
//! `flush` calls `malloc_trim` at most once a second (`heap`).
//!
//! # Figures (`BULK_WORKERS=16 cargo run --release -p mm-store --example bulk_1m [ROWS]`)
//! Cache budget 64 MiB, 8 merge fields a row, 2-core machine shared with other builds (load
//! 10–18: CPU figures are rough). Peak RSS (VmHWM), after the import / after recording an
//! outcome for every ticked row the sender's way (a feeder and 16 threads, group commit):
//!
//! | rows | layout 1 (a key per row) | layout 2, no trim | layout 2 with trim |
//! |---|---|---|---|
//! | 100,000 | 43 / 68 MB | 33 / 52–53 MB | 35 / 37–39 MB |
//! | 1,000,000 | 89 / 140 MB | 49 / 74–80 MB | see PROFILES.md |
//!
//! 1,000,000 rows, layout 2: import ≈ 4.4–6.3 CPU-s (layout 1: 23.5), updates ≈ 8,400
//! updates/CPU-s at load 12–15 (layout 1: 8,600 in the same conditions); streaming the list
//! ≈ 2.5 CPU-s with the live heap flat at 16 MB (a range scan over the blocks: 216 MB); counts
//! by counter 0.05 ms vs. ≈ 1.5–3 CPU-s by full scan; a page of 100 rows 0.3 ms; lookup by
//! address 0.4 ms; 557 MiB on disk (layout 1: 515 MiB).
//!
//! Layout 3 (no transaction per change), 2026-12-04, quiet machine, against layout 2's build
//! run right after: 1,000,000 rows, 16 workers: updates 148 CPU-s (layout 2: 275 CPU-s, with a
//! build running beside it), peak 59 MB (57 MB), **1,014 MiB on disk (558 MiB)**; 100,000 rows,
//! one loop flushing every 64: 3.0 CPU-s (13.0), 103 MiB on disk (55 MiB). Reopening the
//! 1,000,000-row store, counts and queue rebuilt from the records: 3.9 s. The log grows about
//! twice as large for the same updates: sled frees log segments by rewriting their live pages
//! from its flusher thread, paced by time, so a faster writer gets further ahead of it (read
//! from sled's `flusher.rs`, not measured; see `bench/PROFILES.md`).
//!
//! # Key layout
//! Integers are big-endian so that byte order is numeric order. `m` = mailing number (u32),
//! `row` = row index (u32), times are [`Millis`] (u64 ms since the epoch).
//!
//! | tree | key | value |
//! |---|---|---|
//! | `meta` | `next_mailing_number` | u32: the next number to allocate (starts at 1) |
//! | `meta` | `layout_version` | u32 [`LAYOUT_VERSION`] (3), checked by `Store::open` |
//! | `mailing_ids` | id (folder name, UTF-8) | u32 `m` |
//! | `mailings` | `m` | JSON [`Mailing`] |
//! | `recipients` | `m` `row / 16` u32 | block of up to 16 [`Recipient`] records, rows `16 × key` on, each length-prefixed in a compact binary form (see `block`, `codec`) |
//! | `recipient_emails` | `m` bucket u16 first-row u32 | address index: (row, lowercased address) entries of the rows from first-row on (one import run of 10,240 rows) whose address hashes to bucket (FNV-1a % 256) (see `address_index`) |
//! | `suppressed` | lowercased address | JSON [`Suppression`] |
//! | `documents` | len u16 + customer, len u16 + type, mailing id | JSON [`CustomerDocument`] |
//! | `reports` | `m` `row` seq u64 | kind name (len u8 + snake_case), received u64, raw bytes |
//! | `bounces` | `m` `row` | JSON [`BounceEntry`] (latest bounce of that recipient) |
//! | `counters` | name (UTF-8) | u64 |
//! | `unticked` | `m` lowercased-address `0xFF` | empty: addresses unticked by hand via the API |
//!
//! A status change is one plain insert of the recipient's block (for `bounced`, the bounce log
//! entry is written just before it); the status counts and the due queue (a 256-row bitmap per
//! due time and block of rows) are not stored but derived from the records when the store
//! opens and kept in step in memory (`tally`): a flush is then one log write and one sync,
//! where a sled transaction cost two. Mailing numbers are never reused.
//!
//! # Layout
//! - `store`: open, flush, counters. - `mailing`: mailing records. - `recipient`: recipient
//!   record, reading, counts. - `import`: bulk import. - `update`: status changes and the due
//!   queue. - `transition`: allowed status changes. - `suppression`, `document`, `report`.
//!   - `tick`: unticking by hand. - `keys`: key encoding. - `codec`: binary recipient records.
//!   - `block`: records packed 16 rows per key. - `address_index`: lookup by address.
//!   - `layout`: the on-disk layout version. - `tally`: counts and due queue in memory.
//!   - `error`: [`StoreError`].
#![deny(missing_docs)]

mod address_index;
mod block;
mod codec;
mod document;
mod error;
mod heap;
mod import;
mod keys;
mod layout;
mod mailing;
mod recipient;
mod report;
mod store;
mod suppression;
mod tally;
mod tick;
mod transition;
mod update;

pub use document::{CustomerDocument, DocumentContact, MAILING_DOCUMENT};
pub use error::{Result, StoreError};
pub use heap::tune_allocator;
pub use import::ImportSummary;
pub use keys::{normalize_address, now_ms, Millis};
pub use layout::LAYOUT_VERSION;
pub use mailing::{mailing_transition_allowed, Mailing};
pub use recipient::{NewRecipient, Recipient, StatusCounts};
pub use report::{BounceEntry, RawReport};
pub use store::{Store, FORGED_REPORTS, SLED_CACHE_SHARE};
pub use suppression::Suppression;
pub use transition::transition_allowed;
pub use update::{RecipientUpdate, ReportDetails, UpdateOutcome};
