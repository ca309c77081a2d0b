//! `wsdbg replay FILE URL`: a recording becomes a script of the one command grammar, so
//! the session engine does the sending, the waiting and the comparing (`/expect next`),
//! and the client driver runs it like any script. Reads `--record` JSON lines (of the
//! client, of `listen`, or of `relay`'s client leg) and HAR files
//! (`_webSocketMessages`, as Chrome, Firefox and Playwright save them). No I/O here.

use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use crate::command::{Command, Expect};
use crate::error::Error;
use crate::event::MsgType;

/// One message of the recording, from the client's point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The client sent it: replay sends it.
    Send(MsgType, Vec<u8>),
    /// The server sent it: replay expects it next.
    Expect(MsgType, Vec<u8>),
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
    json_lines(name, text)
}

fn bad(name: &str, why: String) -> Error {
    Error::usage(format!(
        "replay {name}: expected a --record file (JSON lines) or a HAR file, {why}"
    ))
}

/// `--record` JSON lines: the `message` events. In a client's record `out` is what the
/// client sent; in `listen`'s (it starts with `listening`) `in` is; in `relay`'s the
/// client leg's `in` is.
fn json_lines(name: &str, text: &str) -> Result<Vec<Step>, Error> {
    let mut events = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line)
            .map_err(|e| bad(name, format!("line {} is not JSON ({e})", n + 1)))?;
        events.push(v);
    }
    let server_side = events.iter().any(|e| e["event"] == "listening");
    let relayed = events.iter().any(|e| e.get("leg").is_some());
    let mut steps = Vec::new();
    for e in &events {
        if e["event"] != "message" {
            continue;
        }
        if relayed && e["leg"] != "client" {
            continue;
        }
        let from_client = match e["dir"].as_str() {
            Some("out") => !(server_side || relayed),
            Some("in") => server_side || relayed,
            _ => continue,
        };
        let (kind, payload) = match e["type"].as_str() {
            Some("text") => (
                MsgType::Text,
                e["text"].as_str().unwrap_or_default().as_bytes().to_vec(),
            ),
            Some("binary") => (
                MsgType::Binary,
                unhex(e["hex"].as_str().unwrap_or_default())
                    .ok_or_else(|| bad(name, "a binary message with bad hex".into()))?,
            ),
            _ => continue,
        };
        steps.push(if from_client {
            Step::Send(kind, payload)
        } else {
            Step::Expect(kind, payload)
        });
    }
    Ok(steps)
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
/// binary, `data`: binary as base64), every entry that has them, in order.
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
            match m["type"].as_str() {
                Some("send") => steps.push(Step::Send(kind, payload)),
                Some("receive") => steps.push(Step::Expect(kind, payload)),
                _ => {}
            }
        }
    }
    Ok(steps)
}

/// The regex that matches exactly this text, except that what `ignore` matches in
/// it (`--ignore REGEX`: times, ids) may be anything `ignore` matches in the reply.
fn exactly(text: &str, ignore: &[regex::Regex]) -> String {
    let mut spans: Vec<(usize, usize, &str)> = ignore
        .iter()
        .flat_map(|r| {
            r.find_iter(text)
                .map(move |m| (m.start(), m.end(), r.as_str()))
        })
        .filter(|(s, e, _)| e > s)
        .collect();
    spans.sort_by_key(|&(s, e, _)| (s, std::cmp::Reverse(e)));
    let mut out = String::from("(?s)^");
    let mut at = 0;
    for (s, e, re) in spans {
        if s < at {
            continue;
        }
        out.push_str(&regex::escape(&text[at..s]));
        out.push_str(&format!("(?:{re})"));
        at = e;
    }
    out.push_str(&regex::escape(&text[at..]));
    out.push('$');
    out
}

/// The script: each message the client sent, then `/expect next` for each the server
/// sent after it, each within `within`.
pub fn commands(steps: &[Step], within: Duration, ignore: &[regex::Regex]) -> Vec<Command> {
    steps
        .iter()
        .map(|s| match s {
            Step::Send(MsgType::Text, p) => Command::Text(String::from_utf8_lossy(p).into_owned()),
            Step::Send(MsgType::Binary, p) => Command::Binary(p.clone()),
            Step::Expect(kind, p) => Command::Expect {
                what: match kind {
                    MsgType::Text => Expect::Text(exactly(&String::from_utf8_lossy(p), ignore)),
                    MsgType::Binary => Expect::Binary(p.clone()),
                },
                within: Some(within),
                next: true,
            },
        })
        .collect()
}

/// `--to-script`: the same as lines of the grammar, to edit and run (`wsdbg URL <
/// FILE`). A text with a line break cannot be one line: it is left out with a comment.
pub fn script(steps: &[Step], within: Duration, ignore: &[regex::Regex]) -> String {
    let ms = within.as_millis();
    let mut out = String::from("# made by wsdbg replay --to-script\n");
    for s in steps {
        match s {
            Step::Send(MsgType::Text, p) | Step::Expect(MsgType::Text, p) => {
                let t = String::from_utf8_lossy(p);
                if t.contains(['\n', '\r']) {
                    out.push_str("# (a text message with a line break, left out)\n");
                    continue;
                }
                match s {
                    Step::Send(..) => out.push_str(&format!("/text {t}\n")),
                    _ => out.push_str(&format!(
                        "/expect next text {} within {ms}\n",
                        exactly(&t, ignore)
                    )),
                }
            }
            Step::Send(MsgType::Binary, p) => out.push_str(&format!("/binary {}\n", hex(p))),
            Step::Expect(MsgType::Binary, p) => {
                out.push_str(&format!("/expect next binary {} within {ms}\n", hex(p)))
            }
        }
    }
    out
}

fn hex(p: &[u8]) -> String {
    p.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_record_becomes_sends_and_expects() {
        let rec = r#"{"event":"handshake","t":0.0}
{"event":"message","dir":"out","type":"text","text":"hello","t":0.1}
{"event":"message","dir":"in","type":"text","text":"hello.*","t":0.2}
{"event":"message","dir":"out","type":"binary","hex":"00ff","t":0.3}
"#;
        let steps = read("r.jsonl", rec).unwrap();
        assert_eq!(
            steps,
            vec![
                Step::Send(MsgType::Text, b"hello".to_vec()),
                Step::Expect(MsgType::Text, b"hello.*".to_vec()),
                Step::Send(MsgType::Binary, vec![0, 0xff]),
            ]
        );
        let cmds = commands(&steps, Duration::from_millis(500), &[]);
        match &cmds[1] {
            Command::Expect {
                what: Expect::Text(re),
                next: true,
                ..
            } => {
                let r = regex::Regex::new(re).unwrap();
                assert!(r.is_match("hello.*") && !r.is_match("helloX*") && !r.is_match("hello.*!"));
            }
            other => panic!("{other:?}"),
        }
        let text = script(&steps, Duration::from_millis(500), &[]);
        assert!(
            text.contains("/text hello\n") && text.contains("/binary 00ff\n"),
            "{text}"
        );
        for line in text.lines() {
            assert!(crate::command::parse(line).is_ok(), "{line}");
        }
    }

    #[test]
    fn ignored_parts_may_differ_as_the_regex_allows() {
        let ig = [regex::Regex::new(r#""t":\d+"#).unwrap()];
        let re = regex::Regex::new(&exactly(r#"{"id":1,"t":1700}"#, &ig)).unwrap();
        assert!(re.is_match(r#"{"id":1,"t":1899}"#));
        assert!(
            !re.is_match(r#"{"id":2,"t":1899}"#),
            "the rest still compared"
        );
        assert!(
            !re.is_match(r#"{"id":1,"t":"x"}"#),
            "the ignored part matches the regex"
        );
    }

    #[test]
    fn listen_records_and_hars_are_read_from_the_clients_side() {
        let rec = r#"{"event":"listening","addr":"127.0.0.1:1","tls":false,"t":0}
{"event":"message","dir":"in","type":"text","text":"q","t":0.1,"client":1}
{"event":"message","dir":"out","type":"text","text":"a","t":0.2,"client":1}
"#;
        let steps = read("l.jsonl", rec).unwrap();
        assert_eq!(
            steps,
            vec![
                Step::Send(MsgType::Text, b"q".to_vec()),
                Step::Expect(MsgType::Text, b"a".to_vec())
            ]
        );
        let har = r#"{"log":{"version":"1.2","entries":[{"request":{},"_webSocketMessages":[
            {"type":"send","time":1.0,"opcode":1,"data":"hi"},
            {"type":"receive","time":1.1,"opcode":2,"data":"AP8="}]}]}}"#;
        let steps = read("s.har", har).unwrap();
        assert_eq!(
            steps,
            vec![
                Step::Send(MsgType::Text, b"hi".to_vec()),
                Step::Expect(MsgType::Binary, vec![0, 0xff])
            ]
        );
        assert!(read("x", "not json\n").is_err());
    }
}
