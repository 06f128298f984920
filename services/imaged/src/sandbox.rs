//! Confinement after start-up, as SerenityOS's ImageDecoder pledges and
//! unveils: once its sockets are bound and its threads started, imaged
//! needs no filesystem, no network, no new processes.
//!
//! [`confine`] sets `PR_SET_NO_NEW_PRIVS`, then installs a seccomp-BPF
//! filter on **every thread of the process** (`SECCOMP_FILTER_FLAG_TSYNC`)
//! that allows only the system calls decoding and IPC need ([`ALLOWED`]) and
//! fails every other one with `EPERM`: `open`, `openat`, `creat`, `execve`,
//! `socket`, `connect`, `fork`, `ptrace`, `kill`... A few allowed calls are
//! narrowed by their arguments:
//!
//! - `mmap` and `mprotect` without `PROT_EXEC`: no new executable memory;
//! - `clone` only with `CLONE_THREAD` (a thread, never a process);
//!   `clone3`, whose flags a filter cannot read, fails with `ENOSYS`, so
//!   the C library falls back to `clone`;
//! - `newfstatat` and `statx` only with `AT_EMPTY_PATH` (`fstat` of an
//!   open fd, never a path lookup);
//! - `ioctl` only `FIONBIO` and `FIOCLEX`; `prctl` only `PR_SET_NAME`
//!   and `PR_GET_NAME`.
//!
//! The set was found by running imaged under `strace -f` while it decoded
//! every format and served both endpoints, then checked by the integration
//! tests, which decode every format in a confined process.
//!
//! Linux only (x86-64 and AArch64); elsewhere [`confine`] fails with
//! [`SandboxError::Unsupported`] and imaged needs `--no-sandbox`.

use std::fmt;

/// Why confinement failed. imaged refuses to serve unconfined unless told
/// to with `--no-sandbox`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// `PR_SET_NO_NEW_PRIVS` was refused.
    #[error("could not set no_new_privs: {0}; run with --no-sandbox to serve unconfined")]
    NoNewPrivs(std::io::Error),
    /// The filter could not be built or installed.
    #[error(
        "could not install the seccomp filter: {0}; the kernel needs seccomp-BPF with TSYNC \
         (Linux 3.17 or later); run with --no-sandbox to serve unconfined"
    )]
    Seccomp(String),
    /// Not available on this system.
    #[error(
        "confinement is implemented for Linux on x86-64 and AArch64 only; run with --no-sandbox \
         to serve unconfined"
    )]
    Unsupported,
}

/// The outcome of one [`probe`] attempt: what the confined process gets
/// when it tries something it must not do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeResult {
    /// What was tried: `open <path>`, `socket`, `spawn`.
    pub what: String,
    /// `None` when it succeeded; else the errno (0 when the error had none).
    pub errno: Option<i32>,
}

impl ProbeResult {
    fn of<T>(what: String, result: std::io::Result<T>) -> ProbeResult {
        ProbeResult {
            what,
            errno: result.err().map(|e| e.raw_os_error().unwrap_or(0)),
        }
    }
}

impl fmt::Display for ProbeResult {
    /// `probe open /etc/hostname: denied errno=1` or `probe socket: allowed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errno {
            Some(errno) => write!(f, "probe {}: denied errno={errno}", self.what),
            None => write!(f, "probe {}: allowed", self.what),
        }
    }
}

/// Tries what confinement forbids (open `path` for reading, create a
/// socket, start a process) and reports each outcome. imaged's hidden
/// `--probe-confinement PATH` option prints these after confining itself,
/// which is how the tests prove the filter works in the real process.
pub fn probe(path: &std::path::Path) -> Vec<ProbeResult> {
    vec![
        ProbeResult::of(
            format!("open {}", path.display()),
            std::fs::File::open(path),
        ),
        ProbeResult::of(
            "socket".to_string(),
            std::os::unix::net::UnixDatagram::unbound(),
        ),
        ProbeResult::of(
            "spawn".to_string(),
            std::process::Command::new("/bin/true")
                .spawn()
                .and_then(|mut child| child.wait()),
        ),
    ]
}

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
pub use linux::{ALLOWED, confine};

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
/// Not supported here: always [`SandboxError::Unsupported`].
pub fn confine() -> Result<(), SandboxError> {
    Err(SandboxError::Unsupported)
}

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod linux {
    use std::collections::BTreeMap;

    use seccompiler::{
        BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
        SeccompRule, TargetArch,
    };

    use super::SandboxError;

    /// The system calls allowed without conditions.
    pub const ALLOWED: &[(&str, i64)] = &[
        // I/O on fds imaged already has or receives.
        ("read", libc::SYS_read),
        ("readv", libc::SYS_readv),
        ("pread64", libc::SYS_pread64),
        ("write", libc::SYS_write),
        ("writev", libc::SYS_writev),
        ("lseek", libc::SYS_lseek),
        ("close", libc::SYS_close),
        ("fstat", libc::SYS_fstat),
        ("fcntl", libc::SYS_fcntl),
        ("dup", libc::SYS_dup),
        ("dup3", libc::SYS_dup3),
        // Sockets already bound: clients, messages, fds.
        ("accept4", libc::SYS_accept4),
        ("recvmsg", libc::SYS_recvmsg),
        ("recvfrom", libc::SYS_recvfrom),
        ("sendmsg", libc::SYS_sendmsg),
        ("sendto", libc::SYS_sendto),
        ("getsockopt", libc::SYS_getsockopt),
        ("setsockopt", libc::SYS_setsockopt),
        ("getsockname", libc::SYS_getsockname),
        ("getpeername", libc::SYS_getpeername),
        ("shutdown", libc::SYS_shutdown),
        // Memory, and shared memory for bitmaps.
        ("munmap", libc::SYS_munmap),
        ("mremap", libc::SYS_mremap),
        ("madvise", libc::SYS_madvise),
        ("brk", libc::SYS_brk),
        ("memfd_create", libc::SYS_memfd_create),
        ("ftruncate", libc::SYS_ftruncate),
        // The tokio runtime and thread synchronisation.
        ("futex", libc::SYS_futex),
        ("epoll_pwait", libc::SYS_epoll_pwait),
        ("epoll_pwait2", libc::SYS_epoll_pwait2),
        ("epoll_ctl", libc::SYS_epoll_ctl),
        ("eventfd2", libc::SYS_eventfd2),
        ("ppoll", libc::SYS_ppoll),
        ("clock_gettime", libc::SYS_clock_gettime),
        ("clock_getres", libc::SYS_clock_getres),
        ("clock_nanosleep", libc::SYS_clock_nanosleep),
        ("nanosleep", libc::SYS_nanosleep),
        ("sched_yield", libc::SYS_sched_yield),
        ("sched_getaffinity", libc::SYS_sched_getaffinity),
        ("getrandom", libc::SYS_getrandom),
        ("restart_syscall", libc::SYS_restart_syscall),
        // Threads: their set-up and their end.
        ("set_robust_list", libc::SYS_set_robust_list),
        ("rseq", libc::SYS_rseq),
        ("gettid", libc::SYS_gettid),
        ("getpid", libc::SYS_getpid),
        ("getuid", libc::SYS_getuid),
        ("geteuid", libc::SYS_geteuid),
        ("getgid", libc::SYS_getgid),
        ("getegid", libc::SYS_getegid),
        ("exit", libc::SYS_exit),
        ("exit_group", libc::SYS_exit_group),
        // Signals: handlers, masks, alternate stacks, an abort of our own.
        ("rt_sigaction", libc::SYS_rt_sigaction),
        ("rt_sigprocmask", libc::SYS_rt_sigprocmask),
        ("rt_sigreturn", libc::SYS_rt_sigreturn),
        ("sigaltstack", libc::SYS_sigaltstack),
        ("tgkill", libc::SYS_tgkill),
        #[cfg(target_arch = "x86_64")]
        ("epoll_wait", libc::SYS_epoll_wait),
        #[cfg(target_arch = "x86_64")]
        ("poll", libc::SYS_poll),
        #[cfg(target_arch = "x86_64")]
        ("accept", libc::SYS_accept),
    ];

    /// `clone3` fails with this, so the C library falls back to `clone`,
    /// whose flags the filter can check.
    const CLONE3_ERRNO: u32 = libc::ENOSYS as u32;

    /// What every call outside the allowed set gets.
    const DENIED_ERRNO: u32 = libc::EPERM as u32;

    /// Confines the whole process (every thread, present and future) to
    /// [`ALLOWED`] and the narrowed calls of the module documentation.
    /// Irreversible.
    ///
    /// # Errors
    ///
    /// [`SandboxError`] when the kernel refuses; the process is then
    /// unconfined (or, if only the second filter failed, confined more
    /// loosely than intended) and should not serve.
    pub fn confine() -> Result<(), SandboxError> {
        rustix::thread::set_no_new_privs(true).map_err(|e| SandboxError::NoNewPrivs(e.into()))?;
        let arch = target_arch()?;
        // Two filters: the kernel runs both and the stricter answer wins,
        // so `clone3` (allowed by the second) gets ENOSYS from the first.
        let clone3 = SeccompFilter::new(
            BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
            SeccompAction::Allow,
            SeccompAction::Errno(CLONE3_ERRNO),
            arch,
        )
        .map_err(seccomp_error)?;
        let allow = SeccompFilter::new(
            rules()?,
            SeccompAction::Errno(DENIED_ERRNO),
            SeccompAction::Allow,
            arch,
        )
        .map_err(seccomp_error)?;
        for filter in [clone3, allow] {
            let program: BpfProgram = filter.try_into().map_err(seccomp_error)?;
            seccompiler::apply_filter_all_threads(&program).map_err(seccomp_error)?;
        }
        Ok(())
    }

    fn target_arch() -> Result<TargetArch, SandboxError> {
        #[cfg(target_arch = "x86_64")]
        return Ok(TargetArch::x86_64);
        #[cfg(target_arch = "aarch64")]
        return Ok(TargetArch::aarch64);
    }

    fn seccomp_error(error: impl std::fmt::Display) -> SandboxError {
        SandboxError::Seccomp(error.to_string())
    }

    /// `(args[index] & mask) == value`.
    fn masked(index: u8, mask: u64, value: u64) -> Result<SeccompCondition, SandboxError> {
        SeccompCondition::new(
            index,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(mask),
            value,
        )
        .map_err(seccomp_error)
    }

    /// `args[index] == value` (compared as a 32-bit int, as the kernel
    /// reads `int` arguments).
    fn equals(index: u8, value: u64) -> Result<SeccompCondition, SandboxError> {
        SeccompCondition::new(index, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, value)
            .map_err(seccomp_error)
    }

    fn rule(conditions: Vec<SeccompCondition>) -> Result<SeccompRule, SandboxError> {
        SeccompRule::new(conditions).map_err(seccomp_error)
    }

    fn rules() -> Result<BTreeMap<i64, Vec<SeccompRule>>, SandboxError> {
        let mut rules: BTreeMap<i64, Vec<SeccompRule>> = ALLOWED
            .iter()
            .map(|&(_, number)| (number, Vec::new()))
            .collect();
        let exec = libc::PROT_EXEC as u64;
        let empty_path = libc::AT_EMPTY_PATH as u64;
        let thread = libc::CLONE_THREAD as u64;
        let narrowed = [
            (libc::SYS_mmap, vec![rule(vec![masked(2, exec, 0)?])?]),
            (libc::SYS_mprotect, vec![rule(vec![masked(2, exec, 0)?])?]),
            (
                libc::SYS_clone,
                vec![rule(vec![masked(0, thread, thread)?])?],
            ),
            // clone3 passes this filter; the first one answers ENOSYS.
            (libc::SYS_clone3, Vec::new()),
            (
                libc::SYS_newfstatat,
                vec![rule(vec![masked(3, empty_path, empty_path)?])?],
            ),
            (
                libc::SYS_statx,
                vec![rule(vec![masked(2, empty_path, empty_path)?])?],
            ),
            (
                libc::SYS_ioctl,
                vec![
                    rule(vec![equals(1, libc::FIONBIO)?])?,
                    rule(vec![equals(1, libc::FIOCLEX)?])?,
                ],
            ),
            (
                libc::SYS_prctl,
                vec![
                    rule(vec![equals(0, libc::PR_SET_NAME as u64)?])?,
                    rule(vec![equals(0, libc::PR_GET_NAME as u64)?])?,
                ],
            ),
        ];
        rules.extend(narrowed);
        Ok(rules)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_filters_compile_for_this_machine() {
            // Building the BPF checks every rule; installing it would confine
            // the test process, which the integration tests do in imaged.
            let program: Result<BpfProgram, _> = SeccompFilter::new(
                rules().unwrap(),
                SeccompAction::Errno(DENIED_ERRNO),
                SeccompAction::Allow,
                target_arch().unwrap(),
            )
            .unwrap()
            .try_into();
            assert!(program.unwrap().len() > ALLOWED.len());
            let mut forbidden = vec![
                libc::SYS_openat,
                libc::SYS_execve,
                libc::SYS_execveat,
                libc::SYS_socket,
                libc::SYS_connect,
                libc::SYS_unlinkat,
                libc::SYS_ptrace,
                libc::SYS_kill,
            ];
            #[cfg(target_arch = "x86_64")]
            forbidden.extend([
                libc::SYS_open,
                libc::SYS_creat,
                libc::SYS_fork,
                libc::SYS_vfork,
            ]);
            for number in forbidden {
                assert!(
                    !rules().unwrap().contains_key(&number),
                    "{number} must not be allowed"
                );
            }
        }
    }
}
