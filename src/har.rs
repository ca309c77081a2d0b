//! `--har FILE`: the client's session as HAR 1.2, one entry per connection (the upgrade
//! request and the 101 as its request and response) with the messages in
//! `_webSocketMessages` as browsers save them (`type` send/receive, `time` in seconds
//! since the epoch, `opcode` 1 text or 2 binary, `data`: binary as base64). So a session
//! opens in DevTools and HAR viewers, and `wsdbg replay` reads it back. Collects events;
//! the caller writes `to_json()` out.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::{json, Value};

use crate::event::{Dir, Event, Handshake, MsgType};

#[derive(Debug, Default)]
pub struct Har {
    entries: Vec<Value>,
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

fn headers(h: &[(String, String)]) -> Value {
    Value::Array(
        h.iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect(),
    )
}

/// The request URL as HAR viewers expect it: http(s), as browsers record it.
fn http_url(ws: &str) -> String {
    if let Some(rest) = ws.strip_prefix("wss://") {
        format!("https://{rest}")
    } else if let Some(rest) = ws.strip_prefix("ws://") {
        format!("http://{rest}")
    } else {
        ws.to_string()
    }
}

impl Har {
    fn entry(h: &Handshake) -> Value {
        let started = {
            let mut b = Vec::new();
            let at = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .saturating_sub(h.elapsed);
            crate::render::esc::rfc3339(&mut b, at);
            String::from_utf8(b).unwrap_or_default()
        };
        let ms = h.elapsed.as_secs_f64() * 1e3;
        let base = h.url.split('/').take(3).collect::<Vec<_>>().join("/");
        json!({
            "startedDateTime": started,
            "time": ms,
            "request": {
                "method": h.request.method,
                "url": http_url(&format!("{base}{}", h.request.path)),
                "httpVersion": "HTTP/1.1",
                "headers": headers(&h.request.headers),
                "queryString": [],
                "cookies": [],
                "headersSize": -1,
                "bodySize": 0,
            },
            "response": {
                "status": h.response.status,
                "statusText": h.response.reason,
                "httpVersion": "HTTP/1.1",
                "headers": headers(&h.response.headers),
                "cookies": [],
                "content": {"size": 0, "mimeType": "x-unknown"},
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": 0,
            },
            "cache": {},
            "timings": {"send": 0, "wait": ms, "receive": 0},
            "_resourceType": "websocket",
            "_webSocketMessages": [],
        })
    }

    /// Take what a HAR holds from one event.
    pub fn take(&mut self, ev: &Event<'_>) {
        match *ev {
            Event::Handshake(h) => self.entries.push(Har::entry(h)),
            Event::Message {
                dir, kind, payload, ..
            } => {
                let Some(msgs) = self
                    .entries
                    .last_mut()
                    .and_then(|e| e["_webSocketMessages"].as_array_mut())
                else {
                    return;
                };
                let (opcode, data) = match kind {
                    MsgType::Text => (1, String::from_utf8_lossy(payload).into_owned()),
                    MsgType::Binary => {
                        (2, base64::engine::general_purpose::STANDARD.encode(payload))
                    }
                };
                msgs.push(json!({
                    "type": if dir == Dir::Out { "send" } else { "receive" },
                    "time": now_secs(),
                    "opcode": opcode,
                    "data": data,
                }));
            }
            _ => {}
        }
    }

    /// The whole file.
    pub fn to_json(&self) -> String {
        let doc = json!({
            "log": {
                "version": "1.2",
                "creator": {"name": "wsdbg", "version": env!("CARGO_PKG_VERSION")},
                "pages": [],
                "entries": self.entries,
            }
        });
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }
}
