//! What waits to be sent: small frames are encoded into one growing buffer; a large
//! payload that the session owns already (a long input line, a `/file`) is queued as
//! its own buffer, masked in place, so it is never copied. Written in order.

use std::collections::VecDeque;

use crate::error::Error;

/// Where queued bytes go: takes as much as it can now, says how much.
pub trait WriteSome {
    fn write_some(&mut self, data: &[u8]) -> Result<usize, Error>;
}

/// Tests and tools: a `Vec` takes everything.
impl WriteSome for Vec<u8> {
    fn write_some(&mut self, data: &[u8]) -> Result<usize, Error> {
        self.extend_from_slice(data);
        Ok(data.len())
    }
}

/// A payload at least this big is queued as it is rather than copied.
pub const OWN_FROM: usize = 256 * 1024;

struct Seg {
    buf: Vec<u8>,
    /// Next byte to send.
    pos: usize,
    /// Owned payload: nothing may be appended after it.
    sealed: bool,
}

#[derive(Default)]
pub struct OutQ {
    segs: VecDeque<Seg>,
    /// Bytes not yet handed to the transport.
    len: usize,
    /// Bytes ever queued, and ever handed to the transport: a frame queued when
    /// `queued` was N is written once `written` reaches N plus its size.
    queued: u64,
    written: u64,
}

impl OutQ {
    /// Bytes ever queued (the position just past the last frame).
    pub fn queued(&self) -> u64 {
        self.queued
    }

    /// Bytes ever handed to the transport.
    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn pending(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Append to the open buffer with `f` (a header, a small frame).
    pub fn append(&mut self, f: impl FnOnce(&mut Vec<u8>)) {
        if self.segs.back().is_none_or(|s| s.sealed) {
            self.segs.push_back(Seg {
                buf: Vec::with_capacity(64 * 1024),
                pos: 0,
                sealed: false,
            });
        }
        if let Some(seg) = self.segs.back_mut() {
            let before = seg.buf.len();
            f(&mut seg.buf);
            let n = seg.buf.len() - before;
            self.len += n;
            self.queued += n as u64;
        }
    }

    /// Queue `buf[start..]` as it is.
    pub fn push_owned(&mut self, buf: Vec<u8>, start: usize) {
        self.len += buf.len() - start;
        self.queued += (buf.len() - start) as u64;
        self.segs.push_back(Seg {
            buf,
            pos: start,
            sealed: true,
        });
    }

    /// Hand as much as the transport takes now.
    pub fn write_to(&mut self, t: &mut impl WriteSome) -> Result<(), Error> {
        loop {
            let only = self.segs.len() == 1;
            let Some(seg) = self.segs.front_mut() else {
                return Ok(());
            };
            let n = t.write_some(&seg.buf[seg.pos..])?;
            seg.pos += n;
            self.len -= n;
            self.written += n as u64;
            if seg.pos < seg.buf.len() {
                return Ok(());
            }
            if only && !seg.sealed && seg.buf.capacity() <= 4 << 20 {
                // Keep the one small buffer for the next frames.
                seg.buf.clear();
                seg.pos = 0;
                return Ok(());
            }
            self.segs.pop_front();
        }
    }

    /// Once everything is written, let go of a buffer that grew past `size` (a large
    /// frame went through), so an idle connection costs its idle size.
    pub fn shrink_idle(&mut self, size: usize) {
        if self.len == 0 {
            self.segs.retain(|s| s.buf.capacity() <= size);
        }
    }

    /// Give up on everything queued (it is never written).
    pub fn discard(&mut self) {
        self.segs.clear();
        self.len = 0;
    }
}
