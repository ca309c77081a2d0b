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

/// An owned payload at least this big gives its memory back to the system as it is
/// written, in steps of at least `RELEASE_STEP`: a 16 MiB message sent to a server
/// that echoes as it reads (websocat 4 streams its echo in 32 KiB fragments) otherwise
/// holds the whole message sent beside most of the one coming back (29 MiB peak RSS
/// for a 16 MiB echo; 22 with this).
const RELEASE_FROM: usize = 1 << 20;
const RELEASE_STEP: usize = 256 * 1024;

/// Frames are appended to a buffer until it holds this much; then a new one is
/// started (a chain of buffers rather than one that doubles: growing a big buffer is
/// a `mremap`, whose TLB shootdowns cost more than the copy on a small VM).
const SEG: usize = 64 * 1024;

struct Seg {
    buf: Vec<u8>,
    /// Next byte to send.
    pos: usize,
    /// Owned payload, or a full buffer: nothing may be appended after it.
    sealed: bool,
    /// An owned payload (not reused as a buffer).
    owned: bool,
    /// Of an owned payload, the bytes from the start whose memory was given back.
    released: usize,
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
    /// A written buffer kept for the next one.
    spare: Option<Vec<u8>>,
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
        if let Some(seg) = self.segs.back_mut() {
            if seg.buf.len() >= SEG {
                seg.sealed = true;
            }
        }
        if self.segs.back().is_none_or(|s| s.sealed) {
            let buf = self
                .spare
                .take()
                .unwrap_or_else(|| Vec::with_capacity(SEG + 1024));
            self.segs.push_back(Seg {
                buf,
                pos: 0,
                sealed: false,
                owned: false,
                released: 0,
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
            owned: true,
            released: 0,
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
                if seg.owned && seg.buf.len() >= RELEASE_FROM {
                    release_written(seg);
                }
                return Ok(());
            }
            if only && !seg.sealed && seg.buf.capacity() <= 4 << 20 {
                // Keep the one small buffer for the next frames.
                seg.buf.clear();
                seg.pos = 0;
                return Ok(());
            }
            if let Some(mut done) = self.segs.pop_front() {
                if !done.owned && done.buf.capacity() <= 2 * SEG {
                    done.buf.clear();
                    self.spare = Some(done.buf);
                }
            }
        }
    }

    /// Once everything is written, let go of a buffer that grew past `size` (a large
    /// frame went through), so an idle connection costs its idle size.
    pub fn shrink_idle(&mut self, size: usize) {
        if self.len == 0 {
            self.segs.retain(|s| s.buf.capacity() <= size);
            self.spare = None;
        }
    }

    /// Give up on everything queued (it is never written).
    pub fn discard(&mut self) {
        self.segs.clear();
        self.spare = None;
        self.len = 0;
    }
}

/// Give the memory of an owned payload's written pages back (`madvise(MADV_DONTNEED)`):
/// they are never read again, only freed with the buffer.
fn release_written(seg: &mut Seg) {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let page = *PAGE.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(n)
            .ok()
            .filter(|p| p.is_power_of_two())
            .unwrap_or(0)
    });
    if page == 0 {
        return;
    }
    let base = seg.buf.as_ptr() as usize;
    let start = (base + seg.released).next_multiple_of(page);
    let end = (base + seg.pos) & !(page - 1);
    if end < start + RELEASE_STEP {
        return;
    }
    // SAFETY: [start, end) lies inside the buffer's first `pos` bytes, which were
    // written out and are never read again (the buffer is only dropped after this).
    // The buffer is private anonymous memory from the allocator: MADV_DONTNEED gives
    // its pages back, and a later touch (the allocator's own bookkeeping after free)
    // finds zero-filled pages. A failure (EINVAL on an odd mapping) only keeps the
    // memory.
    let r = unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    if r == 0 {
        seg.released = end - base;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes at most `n` bytes a call.
    struct Trickle(Vec<u8>, usize);

    impl WriteSome for Trickle {
        fn write_some(&mut self, data: &[u8]) -> Result<usize, Error> {
            let n = data.len().min(self.1);
            self.0.extend_from_slice(&data[..n]);
            Ok(n)
        }
    }

    /// Frames past one buffer's worth go into a chain of buffers, written in order,
    /// with owned payloads between them; counters follow; written buffers are reused.
    #[test]
    fn a_chain_of_buffers_is_written_in_order() {
        let mut q = OutQ::default();
        let mut want = Vec::new();
        for i in 0..5000u32 {
            let frame = format!("frame {i};").into_bytes();
            want.extend_from_slice(&frame);
            q.append(|out| out.extend_from_slice(&frame));
            if i % 1000 == 999 {
                let owned = vec![b'0' + (i / 1000) as u8; 100];
                want.extend_from_slice(&owned[10..]);
                q.push_owned(owned, 10);
            }
        }
        assert!(q.segs.len() > 2, "{} buffers", q.segs.len());
        assert!(q
            .segs
            .iter()
            .all(|s| s.buf.capacity() <= SEG + 1024 || s.owned));
        assert_eq!(q.queued(), want.len() as u64);
        assert_eq!(q.pending(), want.len());
        let mut t = Trickle(Vec::new(), 7000);
        while !q.is_empty() {
            q.write_to(&mut t).unwrap();
        }
        assert_eq!(t.0, want);
        assert_eq!(q.written(), want.len() as u64);
        // A written buffer is kept for the next frames; an owned payload is not.
        let spare = q.spare.as_ref().map(|b| b.capacity());
        assert!(spare.is_some_and(|c| c >= SEG), "{spare:?}");
        q.append(|out| out.extend_from_slice(b"next"));
        assert!(q.spare.is_none());
        q.write_to(&mut t).unwrap();
        assert!(t.0.ends_with(b"next"));
        q.shrink_idle(1024);
        assert!(q.spare.is_none() && q.segs.is_empty());
    }

    /// A big owned payload written in pieces gives back what was written (the pages
    /// below the write position), and every byte still goes out as queued.
    #[test]
    fn a_big_owned_payload_gives_back_what_was_written() {
        let mut q = OutQ::default();
        let payload: Vec<u8> = (0..4 * RELEASE_FROM).map(|i| (i % 251) as u8).collect();
        q.append(|out| out.extend_from_slice(b"head"));
        q.push_owned(payload.clone(), 0);
        let mut t = Trickle(Vec::new(), 300 * 1024);
        q.write_to(&mut t).unwrap();
        q.write_to(&mut t).unwrap();
        let released = q.segs.front().map_or(0, |s| s.released);
        assert!(released >= RELEASE_STEP, "{released}");
        assert!(released <= q.segs.front().map_or(0, |s| s.pos));
        while !q.is_empty() {
            q.write_to(&mut t).unwrap();
        }
        let mut want = b"head".to_vec();
        want.extend_from_slice(&payload);
        assert_eq!(t.0, want);
    }
}
