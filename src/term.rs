//! Save and restore the terminal's mode, so that exiting while the line editor waits
//! for a key never leaves the terminal in raw mode; and hold it in the line editor's
//! own raw mode for the REPL's whole life, so keys that arrive between two lines are
//! neither echoed nor cooked by the terminal.

/// The terminal settings of stdin, when it is a terminal.
#[derive(Clone, Copy)]
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

/// For the REPL's whole life: the mode rustyline reads in (no echo, no canonical line
/// editing, no signals from keys, CR not turned into NL, 8-bit characters, one byte at
/// a time; output processing kept, so `\n` still starts a line). rustyline saves the
/// mode it finds and puts it back after each line; with this one underneath, keys
/// typed or pasted while one line is handed over (`aaa` Enter `bbb` Enter in one
/// burst) wait for the next line as they were typed, instead of being echoed and
/// turned from Enter into Ctrl-J by a cooked terminal. Ctrl-C in that gap is then a key
/// the next line reads, as it is while a line is read. `restore` undoes it.
pub fn raw_for_repl(saved: &Saved) {
    let Some(mut t) = saved.0 else {
        return;
    };
    t.c_iflag &= !(libc::BRKINT | libc::ICRNL | libc::INPCK | libc::ISTRIP | libc::IXON);
    t.c_cflag |= libc::CS8;
    t.c_lflag &= !(libc::ECHO | libc::ICANON | libc::IEXTEN | libc::ISIG);
    t.c_cc[libc::VMIN] = 1;
    t.c_cc[libc::VTIME] = 0;
    // SAFETY: t is a termios read from fd 0 by tcgetattr, changed in its flags only.
    unsafe {
        libc::tcsetattr(0, libc::TCSADRAIN, &t);
    }
}
