//! What Linux says about a process: CPU time and memory, from /proc. Only meaningful when the
//! server runs on this machine (`--server-pid` or `--spawn`).

use std::time::Duration;

/// Clock ticks per second, the unit of utime/stime in /proc/<pid>/stat.
fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// User plus system CPU seconds the process has used so far.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself contain spaces or parentheses.
    let close = text.rfind(')')?;
    let fields: Vec<&str> = text[close + 2..].split_whitespace().collect();
    // After the name: state(3) ppid(4) … utime(14) stime(15), so indexes 11 and 12 here.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

/// CPU seconds of every live process whose command line contains one of `patterns`. PostgreSQL
/// rewrites its backends' command lines to `postgres: … user database host(port) state`, so
/// the database name picks out exactly the backends serving the benchmark, and `: walwriter`
/// and the like add the shared background processes.
pub fn cpu_seconds_matching(patterns: &[String]) -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|raw| {
                let line = String::from_utf8_lossy(&raw);
                patterns.iter().any(|p| line.contains(p.as_str()))
            })
        })
        .filter_map(cpu_seconds)
        .sum()
}

/// Context switches (voluntary + involuntary) of all threads of a process so far. Every hand-off
/// between threads (an async task waking a database worker thread and back) costs two.
pub fn context_switches(pid: u32) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0;
    for task in tasks.flatten() {
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue; // the thread ended meanwhile
        };
        total += status
            .lines()
            .filter(|l| l.contains("ctxt_switches:"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
    }
    Some(total)
}

/// Resident memory: (peak VmHWM, current VmRSS), in MiB.
pub fn memory_mib(pid: u32) -> Option<(f64, f64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kib: f64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib / 1024.0)
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// CPU time of the calling thread: immune to the preemption a shared 2-core machine causes.
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill in.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// CPU seconds the whole machine has spent busy (all CPUs, user + system + interrupts) and
/// stolen by the hypervisor, from the first line of /proc/stat. Over a phase, busy time minus
/// the server's, the generator's and the database's is what other programs took: on a shared
/// machine that says how much a throughput figure can be trusted.
pub fn machine_cpu_seconds() -> (f64, f64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let at = |i: usize| ticks.get(i).copied().unwrap_or(0.0);
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let busy = at(0) + at(1) + at(2) + at(5) + at(6);
    (busy / clock_ticks(), at(7) / clock_ticks())
}
