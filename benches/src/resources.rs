//! What a process uses, from Linux's `/proc`: peak memory (of this
//! process) and CPU time (of any process, such as a node under load).

/// Peak resident set size in bytes (VmHWM), if the platform tells.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resets the peak so the next [`peak_rss`] measures from now on (Linux
/// `clear_refs` value 5). Returns whether it worked.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// CPU time (user and system, all threads, living or ended) that process
/// `pid` has used so far, in seconds; `None` for this process.
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let stat = std::fs::read_to_string(pid.map_or_else(|| "/proc/self/stat".to_string(), |p| format!("/proc/{p}/stat"))).ok()?;
    // The command name (field 2) may hold spaces; fields count from its ')'.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split_whitespace().collect();
    let (utime, stime): (u64, u64) = (fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?);
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (ticks > 0).then(|| (utime + stime) as f64 / ticks as f64)
}
