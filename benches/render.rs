//! Renderer micro-benchmarks: nanoseconds per frame for each output format (pretty,
//! json, payload), for what the session emits per single-frame message: the `frame`
//! event and then the `message` event.
//!
//!     cargo bench --bench render
//!
//! Output goes to a `Vec` cleared before each frame (the printer writes whole lines
//! into its writer as into a `BufWriter`), so the numbers are formatting cost, not I/O.
//! Colour off, as in a pipeline. Sample sizes are small so the file runs in about a minute.

use std::hint::black_box;
use std::io;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use wsdbg::event::{Ctx, Dir, Event, FrameEv, MsgType};
use wsdbg::render::{Format, Opts, Printer};

struct Case {
    name: &'static str,
    dir: Dir,
    kind: MsgType,
    mask: Option<[u8; 4]>,
    payload: Vec<u8>,
}

fn text(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "in-text-32B",
            dir: Dir::In,
            kind: MsgType::Text,
            mask: None,
            payload: text(32),
        },
        Case {
            name: "out-text-32B-masked",
            dir: Dir::Out,
            kind: MsgType::Text,
            mask: Some([0x37, 0xfa, 0x21, 0x3d]),
            payload: text(32),
        },
        Case {
            name: "in-binary-32B",
            dir: Dir::In,
            kind: MsgType::Binary,
            mask: None,
            payload: (0..32u8).collect(),
        },
        Case {
            name: "in-text-64KiB",
            dir: Dir::In,
            kind: MsgType::Text,
            mask: None,
            payload: text(64 << 10),
        },
    ]
}

fn render(c: &mut Criterion) {
    let ctx = Ctx {
        t: Duration::from_micros(1_234_567),
        client: None,
        leg: None,
        stamp: wsdbg::event::Stamp::Relative,
    };
    let opts = Opts::default();
    for (fname, format) in [
        ("pretty", Format::Pretty),
        ("json", Format::Json),
        ("payload", Format::Payload),
    ] {
        let mut g = c.benchmark_group(fname);
        g.throughput(Throughput::Elements(1));
        for case in cases() {
            let opcode = match case.kind {
                MsgType::Text => 1,
                MsgType::Binary => 2,
            };
            let frame = Event::Frame(FrameEv {
                dir: case.dir,
                fin: true,
                rsv: [false; 3],
                opcode: wsdbg::event::OpCode::from(opcode),
                mask: case.mask,
                payload: &case.payload,
            });
            let message = Event::Message {
                dir: case.dir,
                kind: case.kind,
                payload: &case.payload,
                frames: 1,
                wire: None,
            };
            let mut p = Printer::new(format, opts, Vec::with_capacity(1 << 20), io::sink());
            g.bench_function(BenchmarkId::from_parameter(case.name), |b| {
                b.iter(|| {
                    p.out.clear();
                    p.emit(&ctx, black_box(&frame)).expect("write to a Vec");
                    p.emit(&ctx, black_box(&message)).expect("write to a Vec");
                    p.out.len()
                })
            });
        }
        g.finish();
    }
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
    targets = render
}
criterion_main!(benches);
