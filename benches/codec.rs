//! Frame codec micro-benchmarks: format (header + payload, masked as a client sends)
//! and parse (header decode + unmasking in place, as the session reads), masked and
//! unmasked, for a small (32 B) and a 1 MiB payload. Time is per frame; throughput is
//! bytes/s for format and check, frames/s for parse.
//!
//!     cargo bench --bench codec
//!
//! Also `check`: the RFC 6455 checks the session runs on every received frame
//! (`Checker::check_payload`, UTF-8 validation of text included).
//! Sample sizes are small so the whole file runs in well under a minute.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use wsdbg::wire::{apply_mask, decode_header, encode_header, Checker, Header, Role};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const SIZES: [(&str, usize); 2] = [("32B", 32), ("1MiB", 1 << 20)];

/// A text payload (ASCII, so the UTF-8 check has the whole payload to look at).
fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}

fn header(len: usize, mask: Option<[u8; 4]>) -> Header {
    Header {
        fin: true,
        rsv: [false; 3],
        opcode: wsdbg::event::OpCode::Text,
        mask,
        len: len as u64,
    }
}

/// What the session does to send a frame: header, payload copied after it, masked in place.
fn format_frame(h: &Header, payload: &[u8], out: &mut Vec<u8>) {
    out.clear();
    encode_header(h, out);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = h.mask {
        apply_mask(&mut out[start..], key, 0);
    }
}

/// What the session does with a received frame: decode the header, unmask the payload
/// in place. Returns the payload length. Unmasking toggles the buffer between masked
/// and clear on every call, which costs the same either way.
fn parse_frame(buf: &mut [u8]) -> usize {
    let (h, n) = decode_header(buf).expect("a whole header");
    let end = n + h.len as usize;
    let body = &mut buf[n..end];
    if let Some(key) = h.mask {
        apply_mask(body, key, 0);
    }
    body.len()
}

fn codec(c: &mut Criterion) {
    for (op, run_parse) in [("format", false), ("parse", true)] {
        let mut g = c.benchmark_group(op);
        for (size_name, len) in SIZES {
            let data = payload(len);
            // Parsing an unmasked frame touches only its header, so bytes/s would say
            // nothing: parse reports frames/s, format bytes/s.
            g.throughput(if run_parse {
                Throughput::Elements(1)
            } else {
                Throughput::Bytes(len as u64)
            });
            for (mask_name, mask) in [("unmasked", None), ("masked", Some(KEY))] {
                let h = header(len, mask);
                let id = BenchmarkId::new(mask_name, size_name);
                if run_parse {
                    let mut frame = Vec::new();
                    format_frame(&h, &data, &mut frame);
                    g.bench_function(id, |b| b.iter(|| parse_frame(black_box(&mut frame))));
                } else {
                    let mut out = Vec::with_capacity(len + 14);
                    g.bench_function(id, |b| {
                        b.iter(|| {
                            format_frame(black_box(&h), black_box(&data), &mut out);
                            out.len()
                        })
                    });
                }
            }
        }
        g.finish();
    }

    // The per-frame protocol checks on a received (unmasked) text frame.
    let mut g = c.benchmark_group("check");
    for (size_name, len) in SIZES {
        let data = payload(len);
        let h = header(len, None);
        let mut checker = Checker::new(Role::Client, 64 << 20);
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_function(BenchmarkId::new("text", size_name), |b| {
            b.iter(|| {
                checker
                    .check_payload(black_box(&h), black_box(&data))
                    .expect("valid frame")
            })
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = codec
}
criterion_main!(benches);
