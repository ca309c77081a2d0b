//! `--har FILE`: a session as HAR 1.2, one entry per connection (the upgrade request
//! and its answer as the entry's request and response) with the messages in
//! `_webSocketMessages` as browsers save them (`type` send/receive, `time` in seconds
//! since the epoch, `opcode` 1 text or 2 binary, `data`: binary as base64). So a session
//! opens in DevTools and HAR viewers, and `wsdbg replay` reads it back. Collects events;
//! the caller writes `to_json()` out.
//!
//! A HAR is the client's view, whoever wrote it: the client's own session; in `listen`
//! one entry per client, its messages to us as `send`; in `relay` one entry per pair,
//! the upstream exchange as the request and response (what the client would have seen
//! talking to the server) and the client leg's messages (the server leg carries the same
//! ones, and is left out).

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::{json, Value};

use crate::event::{Ctx, Dir, Event, HttpHead, Leg, MsgType};

#[derive(Debug, Default)]
pub struct Har {
    entries: Vec<Value>,
    /// `listen`, `relay`: each client's entry.
    of_client: HashMap<u64, usize>,
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
    /// An entry: `url` the ws(s):// URL up to the path, the request, its answer (a bare
    /// 101 when the driver does not keep one: `listen`), how long it took.
    fn entry(url: &str, request: &HttpHead, response: Option<&HttpHead>, took: Duration) -> Value {
        let started = {
            let mut b = Vec::new();
            let at = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .saturating_sub(took);
            crate::render::esc::rfc3339(&mut b, at);
            String::from_utf8(b).unwrap_or_default()
        };
        let ms = took.as_secs_f64() * 1e3;
        let base = url.split('/').take(3).collect::<Vec<_>>().join("/");
        let (status, reason, rheaders) = match response {
            Some(r) => (r.status, r.reason.as_str(), headers(&r.headers)),
            None => (101, "Switching Protocols", Value::Array(Vec::new())),
        };
        json!({
            "startedDateTime": started,
            "time": ms,
            "request": {
                "method": request.method,
                "url": http_url(&format!("{base}{}", request.path)),
                "httpVersion": "HTTP/1.1",
                "headers": headers(&request.headers),
                "queryString": [],
                "cookies": [],
                "headersSize": -1,
                "bodySize": 0,
            },
            "response": {
                "status": status,
                "statusText": reason,
                "httpVersion": "HTTP/1.1",
                "headers": rheaders,
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
    pub fn take(&mut self, ctx: &Ctx, ev: &Event<'_>) {
        match *ev {
            Event::Handshake(h) => {
                let e = Har::entry(&h.url, &h.request, Some(&h.response), h.elapsed);
                match ctx.client.and_then(|id| self.of_client.get(&id)) {
                    // `relay`: the pair's entry becomes the upstream exchange.
                    Some(&i) => self.entries[i] = e,
                    None => {
                        if let Some(id) = ctx.client {
                            self.of_client.insert(id, self.entries.len());
                        }
                        self.entries.push(e);
                    }
                }
            }
            Event::Client {
                connected: true,
                request: Some(q),
                ..
            } => {
                let Some(id) = ctx.client else { return };
                let host = q
                    .headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("host"))
                    .map_or("localhost", |(_, v)| v.trim());
                let e = Har::entry(&format!("ws://{host}"), q, None, Duration::ZERO);
                self.of_client.insert(id, self.entries.len());
                self.entries.push(e);
            }
            Event::Message {
                dir, kind, payload, ..
            } => {
                if ctx.leg == Some(Leg::Server) {
                    return;
                }
                // The client's view: what it sent is what we received, on a server.
                let (entry, sent) = match ctx.client {
                    None => (self.entries.last_mut(), dir == Dir::Out),
                    Some(id) => (
                        self.of_client
                            .get(&id)
                            .and_then(|&i| self.entries.get_mut(i)),
                        dir == Dir::In,
                    ),
                };
                let Some(msgs) = entry.and_then(|e| e["_webSocketMessages"].as_array_mut()) else {
                    return;
                };
                let (opcode, data) = match kind {
                    MsgType::Text => (1, String::from_utf8_lossy(payload).into_owned()),
                    MsgType::Binary => {
                        (2, base64::engine::general_purpose::STANDARD.encode(payload))
                    }
                };
                msgs.push(json!({
                    "type": if sent { "send" } else { "receive" },
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
