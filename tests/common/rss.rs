//! A wsdbg child's peak memory: VmHWM read from /proc, and a full pipe for its stderr
//! that holds it at its first error line until the test has read the peak.

/// VmHWM (peak resident set) of a process, in KiB, once it runs wsdbg (not while it
/// is still the test's fork before `exec`).
pub fn vm_hwm(pid: u32) -> Option<u64> {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    if comm.trim_end() != "wsdbg" {
        return None;
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A pipe whose buffer is already full, and how many bytes fill it: a child's first
/// write to it waits until the test reads. As wsdbg's stderr, this keeps it alive at
/// its last error line (after all the work) long enough for VmHWM to be read, so a
/// run that fails within milliseconds is measured too.
pub fn full_pipe() -> (std::fs::File, std::os::fd::OwnedFd, usize) {
    use std::os::fd::FromRawFd;
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors were just made, and each is owned once.
    let (r, w) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    };
    let set_nonblocking = |on: bool| {
        // SAFETY: fcntl on a descriptor we own.
        unsafe {
            let flags = libc::fcntl(fds[1], libc::F_GETFL);
            let flags = if on {
                flags | libc::O_NONBLOCK
            } else {
                flags & !libc::O_NONBLOCK
            };
            assert_eq!(libc::fcntl(fds[1], libc::F_SETFL, flags), 0);
        }
    };
    set_nonblocking(true);
    let junk = [b'#'; 4096];
    let mut filled = 0;
    loop {
        // SAFETY: writing from a live buffer of the length given.
        let n = unsafe { libc::write(fds[1], junk.as_ptr().cast(), junk.len()) };
        if n <= 0 {
            break;
        }
        filled += n as usize;
    }
    set_nonblocking(false);
    (r, w, filled)
}
