//! Handing freed heap back to the OS after flushes, and keeping large blocks out of the
//! heap (glibc only).
//!
//! Why: sled allocates in short bursts (transaction write sets, log buffers, node rewrites)
//! from many threads, and glibc keeps what is freed in its arenas: after 950,000 outcomes
//! recorded by 16 threads, `bulk_1m` showed 17 MB of live heap but 46 MB freed-yet-resident,
//! and that part grows with the number of updates, not with anything the store holds.
//! `malloc_trim` releases the free pages inside the arenas too (not only the top of the heap,
//! which is all `M_TRIM_THRESHOLD` governs). Measured at 1,000,000 recipients: the update
//! phase's peak 74 MB without, 58 MB (the import's peak; the updates stayed below) with a
//! trim every second. Once a second costs a few ms of one thread.
//!
//! glibc serves blocks of `M_MMAP_THRESHOLD` bytes or more (128 KiB at start) with their own
//! mappings, which go back to the OS when freed; but each time such a block is freed it raises
//! the threshold to that block's size (up to 32 MiB). One large short-lived table — an import
//! of 1,000,000 rows frees ~19 MB hash tables — is enough for every later block below that size
//! (sled's 512 KiB log buffers among them) to come from the arenas and stay there. Fixing the
//! threshold stops that. `fig4_rss` (import, then send to smtp-sink over 16 connections), three
//! runs side by side: the send peak for 100,000 recipients was 63.6 MB with the moving
//! threshold, 45.4 MB with `MALLOC_MMAP_THRESHOLD_=131072`, 44.8 MB with this code (256 KiB);
//! the peak after importing 400,000, 67.8, 48.1 and 48.5 MB.
//!
//! Fixing the mmap threshold also fixes glibc's trim threshold at its 128 KiB start value, so
//! every rendered ~100 KB message freed at the top of a heap gave its pages back (`brk` /
//! shrinking the thread's heap) and the next message faulted them in again: `perf` of
//! `fig1_render` put ~20 % of the render's CPU in page faults. The trim threshold is therefore
//! raised to 4 MiB; freed memory still goes back by the `malloc_trim` after flushes (once a
//! second). `fig1_render 10000 5` with both thresholds set as here (through glibc's variables,
//! same binary, 2026-12-04): 40,328 messages/CPU-s against 11,576–12,201 with only the mmap
//! threshold fixed and 11,963–12,501 with neither.
//!
//! glibc gives threads that allocate at the same time arenas of their own, up to 8 per core,
//! and each arena keeps its own freed-but-resident pieces: a page that still holds one live
//! block cannot go back, whatever `malloc_trim` does. The daemon's allocating threads are
//! few (the sender's and the milter's runtimes, sled's log writers, the blocking pool), so
//! two arenas serve them; `fig4_rss` at 1,000,000 recipients (2026-12-07, with sled's LRU
//! patch), three minutes into the send: RSS 42.6–43.8 MB with glibc's default (free but kept
//! in the arenas 21–23 MB), 38.4–39.2 MB with two arenas (13–14 MB), 37–38 MB with one.
//! At 100,000 the send peaked at 37.1 MB with the default and 33.2 MB with two.
use std::sync::atomic::{AtomicU64, Ordering};

/// Blocks of this size or more get their own mapping. Above 128 KiB so that a rendered
/// message (a ~100 KB body grows its buffer to 128 KiB) is not mapped and unmapped each time;
/// below sled's 512 KiB log segment buffers.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 256 << 10;

/// Free memory at the top of a heap kept for reuse before glibc gives it back on its own.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 4 << 20;

/// Arenas malloc may create (see the module's header). A new thread takes its arena at its
/// first allocation, so the limit only binds threads started after it is set: the binary
/// calls [`tune_allocator`] first thing in `main`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENA_MAX: libc::c_int = 2;

/// Sets glibc's mmap and trim thresholds and its arena limit for the process (once; the
/// binary's `main` and `Store::open` call it), each unless the administrator set it
/// (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`, `MALLOC_ARENA_MAX`).
/// Public so that a benchmark of another part (rendering) runs under the daemon's settings.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune_allocator() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for (var, param, value, name) in [
            (
                "MALLOC_MMAP_THRESHOLD_",
                libc::M_MMAP_THRESHOLD,
                MMAP_THRESHOLD,
                "M_MMAP_THRESHOLD",
            ),
            (
                "MALLOC_TRIM_THRESHOLD_",
                libc::M_TRIM_THRESHOLD,
                TRIM_THRESHOLD,
                "M_TRIM_THRESHOLD",
            ),
            (
                "MALLOC_ARENA_MAX",
                libc::M_ARENA_MAX,
                ARENA_MAX,
                "M_ARENA_MAX",
            ),
        ] {
            if std::env::var_os(var).is_some() {
                continue;
            }
            // SAFETY: mallopt only changes malloc's tunables; it takes malloc's lock itself and
            // may be called at any time. A failure (returns 0) leaves glibc's default, which is
            // harmless.
            let ok = unsafe { libc::mallopt(param, value) };
            if ok == 0 {
                tracing::debug!(param = name, "mallopt refused; glibc's default stays");
            }
        }
    });
}

/// Nothing to tune outside glibc.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune_allocator() {}

/// At most one trim per this many ms.
const TRIM_EVERY_MS: u64 = 1_000;

/// Rate-limits trimming to one call per [`TRIM_EVERY_MS`] over all threads.
#[derive(Default)]
pub(crate) struct HeapTrimmer {
    last_ms: AtomicU64,
}

impl HeapTrimmer {
    /// Trims the heap when the last trim is [`TRIM_EVERY_MS`] ago; one caller wins a race.
    pub(crate) fn after_flush(&self) {
        let now = crate::keys::now_ms();
        let last = self.last_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) < TRIM_EVERY_MS {
            return;
        }
        if self
            .last_ms
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            trim();
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only returns free memory of malloc's own arenas to the OS; it takes
    // the arena locks itself and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
