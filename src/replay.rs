//! `wsdbg replay FILE URL`: a recording becomes a script of the one command grammar, so
//! the session engine does the sending, the waiting and the comparing (`/expect next
//! equal ...`, as `compare` says), and the client driver runs it like any script. Reads
//! `--record` JSON lines (of the client, of `listen`, or of `relay`'s client leg), line
//! by line so that a large one streams (`Lines`), and HAR files (`_webSocketMessages`,
//! as Chrome, Firefox and Playwright save them). `listen --replay` plays the server's
//! side of the same steps (`engine::Mock`). No I/O here.

use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use crate::command::{Command, Expect};
use crate::error::Error;
use crate::event::MsgType;

/// One message of the recording, from the client's point of view.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The client sent it (replay sends it; the mock waits for it); else the server did
    /// (replay expects it; the mock sends it).
    pub from_client: bool,
    pub kind: MsgType,
    pub payload: Vec<u8>,
    /// When, in seconds on the recording's clock (for `--timing original`).
    pub at: Option<f64>,
}

/// `--timing`: send as soon as the replies came, or with the recorded delays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    Fast,
    Original,
}

/// The messages of a recording, in order. `name` is the file, for errors.
pub fn read(name: &str, text: &str) -> Result<Vec<Step>, Error> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        if let Ok(doc) = serde_json::from_str::<Value>(trimmed) {
            if doc.get("log").is_some() {
                return har(name, &doc);
            }
        }
    }
    let mut lines = Lines::new(name);
    let mut steps = Vec::new();
    for line in text.lines() {
        steps.extend(lines.line(line)?);
    }
    Ok(steps)
}

fn bad(name: &str, why: String) -> Error {
    Error::usage(format!(
        "replay {name}: expected a --record file (JSON lines) or a HAR file, {why}"
    ))
}

/// `--record` JSON lines, one at a time: the `message` events. In a client's record
/// `out` is what the client sent; in `listen`'s and `relay`'s (they start with
/// `listening`) `in` is, and in `relay`'s only the client leg counts.
pub struct Lines {
    name: String,
    n: usize,
    server_side: bool,
}

impl Lines {
    pub fn new(name: &str) -> Lines {
        Lines {
            name: name.to_string(),
            n: 0,
            server_side: false,
        }
    }

    /// The step this line holds, if any.
    pub fn line(&mut self, line: &str) -> Result<Option<Step>, Error> {
        self.n += 1;
        if line.trim().is_empty() {
            return Ok(None);
        }
        let e: Value = serde_json::from_str(line)
            .map_err(|err| bad(&self.name, format!("line {} is not JSON ({err})", self.n)))?;
        if e["event"] == "listening" {
            self.server_side = true;
        }
        if e["event"] != "message" {
            return Ok(None);
        }
        if e.get("leg").is_some() && e["leg"] != "client" {
            return Ok(None);
        }
        let from_client = match e["dir"].as_str() {
            Some("out") => !self.server_side,
            Some("in") => self.server_side,
            _ => return Ok(None),
        };
        let (kind, payload) = match e["type"].as_str() {
            Some("text") => (
                MsgType::Text,
                e["text"].as_str().unwrap_or_default().as_bytes().to_vec(),
            ),
            Some("binary") => (
                MsgType::Binary,
                unhex(e["hex"].as_str().unwrap_or_default()).ok_or_else(|| {
                    bad(
                        &self.name,
                        format!("line {}: a binary message with bad hex", self.n),
                    )
                })?,
            ),
            _ => return Ok(None),
        };
        Ok(Some(Step {
            from_client,
            kind,
            payload,
            at: e["t"].as_f64(),
        }))
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if s.len() % 2 != 0 {
        return None;
    }
    s.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

/// HAR 1.2 with `_webSocketMessages` (`type` send/receive, `opcode` 1 text or 2
/// binary, `data`: binary as base64, `time` in seconds), every entry that has them, in
/// order.
fn har(name: &str, doc: &Value) -> Result<Vec<Step>, Error> {
    let entries = doc["log"]["entries"]
        .as_array()
        .ok_or_else(|| bad(name, "a HAR without log.entries".into()))?;
    let mut steps = Vec::new();
    for entry in entries {
        let Some(msgs) = entry["_webSocketMessages"].as_array() else {
            continue;
        };
        for m in msgs {
            let data = m["data"].as_str().unwrap_or_default();
            let (kind, payload) = match m["opcode"].as_u64() {
                Some(1) => (MsgType::Text, data.as_bytes().to_vec()),
                Some(2) => (
                    MsgType::Binary,
                    base64::engine::general_purpose::STANDARD
                        .decode(data)
                        .map_err(|e| bad(name, format!("binary data that is not base64 ({e})")))?,
                ),
                _ => continue,
            };
            let from_client = match m["type"].as_str() {
                Some("send") => true,
                Some("receive") => false,
                _ => continue,
            };
            // Browsers write seconds since the epoch; Playwright writes milliseconds
            // (a number past 1e11 cannot be seconds of this era).
            let at = m["time"]
                .as_f64()
                .map(|t| if t > 1e11 { t / 1000.0 } else { t });
            steps.push(Step {
                from_client,
                kind,
                payload,
                at,
            });
        }
    }
    Ok(steps)
}

/// The handshake headers a recording's client sent, for `--headers-from-recording`:
/// those of the first `handshake` event of a `--record` file (a client's), or of the
/// first HAR entry with `_webSocketMessages`; without those that belong to the
/// connection itself (Host, the upgrade, the key, the version, the extensions offer,
/// Content-Length), which wsdbg makes anew.
pub fn recorded_headers(text: &str) -> Vec<(String, String)> {
    const OWN: &[&str] = &[
        "host",
        "upgrade",
        "connection",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "content-length",
    ];
    let keep = |n: &str| !OWN.iter().any(|o| n.eq_ignore_ascii_case(o)) && !n.starts_with(':');
    let trimmed = text.trim_start();
    if let Ok(doc) = serde_json::from_str::<Value>(trimmed) {
        if let Some(entries) = doc["log"]["entries"].as_array() {
            let entry = entries
                .iter()
                .find(|e| e["_webSocketMessages"].is_array())
                .or(entries.first());
            return entry
                .and_then(|e| e["request"]["headers"].as_array())
                .into_iter()
                .flatten()
                .filter_map(|h| Some((h["name"].as_str()?, h["value"].as_str()?)))
                .filter(|(n, _)| keep(n))
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
        }
    }
    for line in text.lines() {
        let Ok(e) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if e["event"] == "handshake" {
            return e["request"]["headers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|h| Some((h[0].as_str()?, h[1].as_str()?)))
                .filter(|(n, _)| keep(n))
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
        }
    }
    Vec::new()
}

/// How a recording is replayed: how long each reply may take, what may differ
/// (`compare::Rules`, as words), and `--timing`.
#[derive(Debug, Clone)]
pub struct Plan {
    pub within: Duration,
    pub ignore: Vec<String>,
    pub ignore_json: Vec<String>,
    pub timing: Timing,
    /// The time of the step before (for `--timing original`).
    last: Option<f64>,
}

impl Plan {
    pub fn new(
        within: Duration,
        ignore: Vec<String>,
        ignore_json: Vec<String>,
        timing: Timing,
    ) -> Plan {
        Plan {
            within,
            ignore,
            ignore_json,
            timing,
            last: None,
        }
    }

    /// The commands of one step: what the client sent is sent (after the recorded pause,
    /// with `--timing original`); what the server sent is expected next, within
    /// `within`.
    pub fn commands(&mut self, s: &Step) -> Vec<Command> {
        let mut out = Vec::new();
        let last = self.last;
        self.last = s.at.or(last);
        if s.from_client {
            if let (Timing::Original, Some(at), Some(before)) = (self.timing, s.at, last) {
                let gap = ((at - before) * 1000.0).round();
                if gap >= 1.0 && gap.is_finite() {
                    out.push(Command::Sleep(Duration::from_millis(gap as u64)));
                }
            }
            out.push(match s.kind {
                MsgType::Text => Command::Text(String::from_utf8_lossy(&s.payload).into_owned()),
                MsgType::Binary => Command::Binary(s.payload.clone()),
            });
        } else {
            out.push(Command::Expect {
                what: Expect::Equal {
                    binary: s.kind == MsgType::Binary,
                    payload: s.payload.clone(),
                    ignore: self.ignore.clone(),
                    ignore_json: self.ignore_json.clone(),
                },
                within: Some(self.within),
                next: true,
            });
        }
        out
    }

    /// `--to-script`: the same as lines of the grammar, to edit and run (`wsdbg URL <
    /// FILE`). A text with a line break cannot be one line: it is left out with a
    /// comment; so is a rule with a space in it (the grammar splits words on spaces).
    pub fn script(&mut self, steps: &[Step]) -> String {
        let ms = self.within.as_millis();
        let mut out = String::from("# made by wsdbg replay --to-script\n");
        if self
            .ignore
            .iter()
            .chain(&self.ignore_json)
            .any(|r| r.contains(' '))
        {
            out.push_str(
                "# (an --ignore or --ignore-json with a space in it is left out: write \\s or \\x20)\n",
            );
        }
        let rules: String = self
            .ignore
            .iter()
            .filter(|r| !r.contains(' '))
            .map(|r| format!(" ignore={r}"))
            .chain(
                self.ignore_json
                    .iter()
                    .filter(|p| !p.contains(' '))
                    .map(|p| format!(" ignore-json={p}")),
            )
            .collect();
        for s in steps {
            if s.kind == MsgType::Text && s.payload.iter().any(|b| matches!(b, b'\n' | b'\r')) {
                out.push_str("# (a text message with a line break, left out)\n");
                continue;
            }
            for c in self.commands(s) {
                let line = match c {
                    Command::Sleep(d) => format!("/sleep {}", d.as_millis()),
                    Command::Text(t) => format!("/text {t}"),
                    Command::Binary(b) => format!("/binary {}", hex(&b)),
                    Command::Expect {
                        what:
                            Expect::Equal {
                                binary, payload, ..
                            },
                        ..
                    } => {
                        let data = if binary {
                            format!("binary {}", hex(&payload))
                        } else {
                            format!("text {}", String::from_utf8_lossy(&payload))
                        };
                        format!("/expect next equal{rules} {data} within {ms}")
                    }
                    _ => continue,
                };
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }
}

fn hex(p: &[u8]) -> String {
    p.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(from_client: bool, kind: MsgType, payload: &[u8], at: f64) -> Step {
        Step {
            from_client,
            kind,
            payload: payload.to_vec(),
            at: Some(at),
        }
    }

    fn plan(timing: Timing) -> Plan {
        Plan::new(Duration::from_millis(500), vec![], vec![], timing)
    }

    #[test]
    fn a_client_record_becomes_sends_and_expects() {
        let rec = r#"{"event":"handshake","t":0.0}
{"event":"message","dir":"out","type":"text","text":"hello","t":0.1}
{"event":"message","dir":"in","type":"text","text":"hello.*","t":0.2}
{"event":"message","dir":"out","type":"binary","hex":"00ff","t":0.75}
"#;
        let steps = read("r.jsonl", rec).unwrap();
        assert_eq!(
            steps,
            vec![
                step(true, MsgType::Text, b"hello", 0.1),
                step(false, MsgType::Text, b"hello.*", 0.2),
                step(true, MsgType::Binary, &[0, 0xff], 0.75),
            ]
        );
        let mut p = plan(Timing::Fast);
        let cmds: Vec<Command> = steps.iter().flat_map(|s| p.commands(s)).collect();
        assert_eq!(cmds.len(), 3, "no pauses: {cmds:?}");
        match &cmds[1] {
            Command::Expect {
                what:
                    Expect::Equal {
                        binary: false,
                        payload,
                        ..
                    },
                next: true,
                ..
            } => assert_eq!(payload, b"hello.*", "the text as it was, no regex"),
            other => panic!("{other:?}"),
        }
        // --timing original: the recorded pause before a send.
        let mut p = plan(Timing::Original);
        let cmds: Vec<Command> = steps.iter().flat_map(|s| p.commands(s)).collect();
        assert!(
            matches!(cmds[2], Command::Sleep(d) if d == Duration::from_millis(550)),
            "{cmds:?}"
        );
        let text = plan(Timing::Fast).script(&steps);
        assert!(
            text.contains("/text hello\n")
                && text.contains("/expect next equal text hello.* within 500\n")
                && text.contains("/binary 00ff\n"),
            "{text}"
        );
        for line in text.lines() {
            assert!(crate::command::parse(line).is_ok(), "{line}");
        }
        // The script's lines mean what the commands do.
        let exp = text.lines().find(|l| l.starts_with("/expect")).unwrap();
        assert_eq!(crate::command::parse(exp).unwrap(), cmds[1]);
    }

    #[test]
    fn rules_go_into_the_script_as_words() {
        let steps = vec![step(false, MsgType::Text, br#"{"t":1}"#, 0.0)];
        let mut p = Plan::new(
            Duration::from_millis(100),
            vec![r"\d+".into()],
            vec!["$.t".into()],
            Timing::Fast,
        );
        let text = p.script(&steps);
        let line = text.lines().last().unwrap();
        assert_eq!(
            line,
            r#"/expect next equal ignore=\d+ ignore-json=$.t text {"t":1} within 100"#
        );
        match crate::command::parse(line).unwrap() {
            Command::Expect {
                what:
                    Expect::Equal {
                        ignore,
                        ignore_json,
                        ..
                    },
                ..
            } => {
                assert_eq!(ignore, [r"\d+"]);
                assert_eq!(ignore_json, ["$.t"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn listen_records_and_hars_are_read_from_the_clients_side() {
        let rec = r#"{"event":"listening","addr":"127.0.0.1:1","tls":false,"t":0}
{"event":"message","dir":"in","type":"text","text":"q","t":0.1,"client":1}
{"event":"message","dir":"out","type":"text","text":"a","t":0.2,"client":1}
{"event":"message","dir":"out","type":"text","text":"a","t":0.2,"client":1,"leg":"server"}
"#;
        let steps = read("l.jsonl", rec).unwrap();
        assert_eq!(
            steps,
            vec![
                step(true, MsgType::Text, b"q", 0.1),
                step(false, MsgType::Text, b"a", 0.2)
            ]
        );
        let har = r#"{"log":{"version":"1.2","entries":[{"request":{"headers":[
            {"name":"Host","value":"x"},{"name":"Cookie","value":"a=1"},
            {"name":"Sec-WebSocket-Key","value":"k"},{"name":"Origin","value":"http://o"}]},
            "_webSocketMessages":[
            {"type":"send","time":1.0,"opcode":1,"data":"hi"},
            {"type":"receive","time":1.1,"opcode":2,"data":"AP8="}]}]}}"#;
        let steps = read("s.har", har).unwrap();
        assert_eq!(
            steps,
            vec![
                step(true, MsgType::Text, b"hi", 1.0),
                step(false, MsgType::Binary, &[0, 0xff], 1.1)
            ]
        );
        assert_eq!(
            recorded_headers(har),
            [
                ("Cookie".to_string(), "a=1".to_string()),
                ("Origin".to_string(), "http://o".to_string())
            ]
        );
        let e = read("x", "not json\n").unwrap_err();
        assert!(e.msg.contains("line 1 is not JSON"), "{}", e.msg);
    }
}
