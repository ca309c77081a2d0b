//! `--proto jsonrpc`: not decoded yet (scaffolding for issue 20: every message shows no
//! packets).

use super::Packet;
use crate::event::{Dir, MsgType};

#[derive(Debug, Default)]
pub struct Decoder;

impl super::Decoder for Decoder {
    fn decode(&mut self, _dir: Dir, _kind: MsgType, _payload: &[u8], _now_ms: f64) -> Vec<Packet> {
        Vec::new()
    }
}
