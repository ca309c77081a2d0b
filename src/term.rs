//! Save and restore the terminal's mode, so that exiting while the line editor waits
//! for a key never leaves the terminal in raw mode.

/// The terminal settings of stdin, when it is a terminal.
pub struct Saved(Option<libc::termios>);

pub fn save() -> Saved {
    // SAFETY: tcgetattr writes into the zeroed struct we own; fd 0 may not be a tty,
    // in which case it fails and we keep nothing.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(0, &mut t) == 0 {
            Saved(Some(t))
        } else {
            Saved(None)
        }
    }
}

pub fn restore(saved: Saved) {
    if let Some(t) = saved.0 {
        // SAFETY: t came from tcgetattr on the same fd.
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, &t);
        }
    }
}
