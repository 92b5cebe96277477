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

/// CPU time (user + system) of process `root` and all its live descendants, each with the
/// children it has reaped, in seconds. For a Postfix instance's `master` this is all the CPU
/// its daemons used: a daemon that exits is reaped by its parent and its time moves into the
/// parent's `cutime`/`cstime`, so the difference of two readings counts every process once,
/// whether it lived through the interval, was born in it or ended in it.
pub fn tree_cpu_secs(root: u32) -> f64 {
    // (pid, ppid, own + reaped children's ticks) of every process we can read.
    let mut procs: Vec<(u32, u32, u64)> = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name (field 2) is in parentheses and may hold spaces: split after it.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        // rest starts at field 3 (state): ppid is field 4, utime..cstime fields 14..17.
        let num = |i: usize| {
            f.get(i - 3)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        procs.push((pid, num(4) as u32, num(14) + num(15) + num(16) + num(17)));
    }
    let mut tree = vec![root];
    let mut ticks = 0;
    // Breadth first over the parent links; Postfix's tree is two or three levels deep.
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        for &(pid, ppid, t) in &procs {
            if pid == parent {
                ticks += t;
            } else if ppid == parent {
                tree.push(pid);
            }
        }
        i += 1;
    }
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks as f64 / hz
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

/// glibc's view of the heap: bytes in use by the program, bytes free but kept in the arenas,
/// and bytes in blocks mapped on their own (`mallinfo2`). `None` outside glibc.
pub fn heap_bytes() -> Option<(u64, u64, u64)> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 only reads malloc's statistics (under its own locks).
        let m = unsafe { libc::mallinfo2() };
        Some((m.uordblks as u64, m.fordblks as u64, m.hblkhd as u64))
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    None
}
