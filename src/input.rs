//! Input sources for script mode: stdin lines (commands or `--raw` text), stdin bytes
//! (`--binary`), or `-x` commands. Each runs on its own thread and sends batches, so
//! reading input never blocks reading the socket; a full channel makes it wait
//! (nothing is dropped).

use std::io::{BufRead, BufReader, Read};

use crate::command::{self, Command};
use crate::session::{Input, InputTx};

/// How stdin lines are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineMode {
    Commands,
    Raw,
}

const BATCH: usize = 512;

/// Parse one line in the given mode.
pub fn line_input(line: &str, mode: LineMode) -> Input {
    match mode {
        LineMode::Raw => Input::Cmd(Command::Text(line.to_string())),
        LineMode::Commands => match command::parse(line) {
            Ok(c) => Input::Cmd(c),
            Err(e) => Input::Bad(e),
        },
    }
}

/// `-x` commands, then end of input.
pub fn execute(tx: InputTx, cmds: Vec<String>) {
    let mut batch: Vec<Input> = cmds
        .iter()
        .map(|c| line_input(c, LineMode::Commands))
        .collect();
    batch.push(Input::Eof);
    tx.send(batch);
}

/// Read lines from `r` until EOF; one batch per buffer-full.
pub fn lines<R: Read>(tx: InputTx, r: R, mode: LineMode) {
    let mut reader = BufReader::with_capacity(64 * 1024, r);
    let mut batch = Vec::with_capacity(BATCH);
    let mut buf = Vec::with_capacity(256);
    let mut lineno = 0u64;
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {
                lineno += 1;
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                    if buf.last() == Some(&b'\r') {
                        buf.pop();
                    }
                }
                match std::str::from_utf8(&buf) {
                    Ok(line) => batch.push(line_input(line, mode)),
                    Err(e) => batch.push(Input::Bad(command::CommandError {
                        command: format!("input line {lineno}"),
                        expected: "UTF-8 text (use --binary for raw bytes)".into(),
                        found: format!(
                            "an invalid byte at offset {}: {}",
                            e.valid_up_to(),
                            String::from_utf8_lossy(&buf)
                        ),
                    })),
                }
                // Send when the batch is full or before we might block on a read.
                let full = batch.len() >= BATCH || reader.buffer().is_empty();
                if full && !tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))) {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    batch.push(Input::Eof);
    tx.send(batch);
}

/// `--binary`: each read of at most `chunk` bytes becomes one binary message.
pub fn bytes<R: Read>(tx: InputTx, mut r: R, chunk: usize) {
    let mut buf = vec![0u8; chunk.max(1)];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if !tx.send(vec![Input::Cmd(Command::Binary(buf[..n].to_vec()))]) {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    tx.send(vec![Input::Eof]);
}
