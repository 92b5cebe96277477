//! What the figures are measured with: CPU time (a one-core figure must not count the time
//! the thread waited for a core on a shared machine) and peak resident memory.

/// CPU time this thread has run, in seconds (`/proc/thread-self/schedstat`, nanoseconds).
pub fn thread_cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map(|ns| ns as f64 / 1e9)
        .unwrap_or(0.0)
}

/// CPU time (user + system) of the children this process has waited for, in seconds.
pub fn children_cpu_secs() -> f64 {
    rusage_secs(libc::RUSAGE_CHILDREN)
}

/// CPU time (user + system) of this process, all threads, in seconds.
pub fn process_cpu_secs() -> f64 {
    rusage_secs(libc::RUSAGE_SELF)
}

fn rusage_secs(who: libc::c_int) -> f64 {
    // SAFETY: getrusage only writes into the zeroed struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Peak resident set size of this process (`VmHWM`), in KiB.
pub fn vm_hwm_kb() -> Option<u64> {
    status_field("VmHWM:")
}

/// Current resident set size (`VmRSS`), in KiB.
pub fn vm_rss_kb() -> Option<u64> {
    status_field("VmRSS:")
}

fn status_field(name: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(name))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
