//! How a message that came is compared with the one a recording holds: `replay` (its
//! `/expect next equal ...` lines), `listen --replay` (each client message against the
//! recorded one). One rule, here, with no I/O:
//!
//! - the kinds must be the same (text or binary); binary must be byte for byte equal;
//! - a text is equal when it matches the recorded text, where each `--ignore REGEX`
//!   matched in the recorded text may be anything that REGEX matches in the new one;
//! - else, when both are JSON, they are equal when their values are, once the
//!   `--ignore-json PATH`s are taken out of both (so key order and spacing do not
//!   count); the difference is then the paths that differ;
//! - else the difference is a word diff of the two texts.

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use crate::event::MsgType;

/// `--ignore-json PATH`: `a.b.0.c`, `$.a.b[0].c`, with `*` for any key or index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath(Vec<Seg>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
    Any,
}

impl JsonPath {
    pub fn parse(s: &str) -> Result<JsonPath, String> {
        let expected = || format!("a JSON path like a.b, $.items[0].id or data.*.ts, got {s:?}");
        let body = s.strip_prefix('$').unwrap_or(s);
        let body = body.strip_prefix('.').unwrap_or(body);
        let mut segs = Vec::new();
        for part in body.split('.') {
            // `name[0][1]`: the name, then each index.
            let (name, mut rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            match name {
                "" if rest.is_empty() => return Err(expected()),
                "" => {}
                "*" => segs.push(Seg::Any),
                n => match n.parse::<usize>() {
                    Ok(i) => segs.push(Seg::Index(i)),
                    Err(_) => segs.push(Seg::Key(n.to_string())),
                },
            }
            while !rest.is_empty() {
                let Some(end) = rest.find(']').filter(|_| rest.starts_with('[')) else {
                    return Err(expected());
                };
                match &rest[1..end] {
                    "*" => segs.push(Seg::Any),
                    i => segs.push(Seg::Index(i.parse().map_err(|_| expected())?)),
                }
                rest = &rest[end + 1..];
            }
        }
        if segs.is_empty() {
            return Err(expected());
        }
        Ok(JsonPath(segs))
    }

    /// Take what the path names out of `v` (every match, for `*`).
    fn remove(&self, v: &mut Value) {
        fn go(v: &mut Value, segs: &[Seg]) {
            let [seg, rest @ ..] = segs else { return };
            let last = rest.is_empty();
            match (seg, v) {
                (Seg::Key(k), Value::Object(m)) => {
                    if last {
                        m.remove(k);
                    } else if let Some(c) = m.get_mut(k) {
                        go(c, rest);
                    }
                }
                (Seg::Index(i), Value::Array(a)) => {
                    if last {
                        // Kept in place (as null), so the other indices still line up.
                        if let Some(c) = a.get_mut(*i) {
                            *c = Value::Null;
                        }
                    } else if let Some(c) = a.get_mut(*i) {
                        go(c, rest);
                    }
                }
                (Seg::Any, Value::Object(m)) => {
                    if last {
                        m.clear();
                    } else {
                        m.values_mut().for_each(|c| go(c, rest));
                    }
                }
                (Seg::Any, Value::Array(a)) => {
                    if last {
                        a.iter_mut().for_each(|c| *c = Value::Null);
                    } else {
                        a.iter_mut().for_each(|c| go(c, rest));
                    }
                }
                _ => {}
            }
        }
        go(v, &self.0);
    }
}

/// What may differ between a recorded message and the new one.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub ignore: Vec<regex::Regex>,
    pub ignore_json: Vec<JsonPath>,
}

impl Rules {
    /// The rules from their words (`--ignore`, `--ignore-json`, or an `/expect equal`
    /// line's `ignore=` and `ignore-json=`).
    pub fn parse(ignore: &[String], ignore_json: &[String]) -> Result<Rules, String> {
        Ok(Rules {
            ignore: ignore
                .iter()
                .map(|r| {
                    regex::Regex::new(r).map_err(|e| {
                        let why = e.to_string();
                        let why = why.lines().last().unwrap_or("").trim().to_string();
                        format!("a regex, got {r:?} ({why})")
                    })
                })
                .collect::<Result<_, _>>()?,
            ignore_json: ignore_json
                .iter()
                .map(|p| JsonPath::parse(p))
                .collect::<Result<_, _>>()?,
        })
    }

    /// The rules of `--ignore REGEX` and `--ignore-json PATH`, or a usage error naming
    /// the option.
    pub fn from_options(
        ignore: &[String],
        ignore_json: &[String],
    ) -> Result<Rules, crate::error::Error> {
        let usage =
            |opt: &str, e: String| crate::error::Error::usage(format!("{opt}: expected {e}"));
        let r = Rules::parse(ignore, &[]).map_err(|e| usage("--ignore", e))?;
        let j = Rules::parse(&[], ignore_json).map_err(|e| usage("--ignore-json", e))?;
        Ok(Rules {
            ignore: r.ignore,
            ignore_json: j.ignore_json,
        })
    }

    /// `None` when `got` counts as the recorded message; else what differs, in a few
    /// lines for a person.
    pub fn differs(
        &self,
        want_kind: MsgType,
        want: &[u8],
        got_kind: MsgType,
        got: &[u8],
    ) -> Option<String> {
        match (want_kind, got_kind) {
            (MsgType::Binary, MsgType::Binary) => binary_diff(want, got),
            (MsgType::Text, MsgType::Text) => {
                let (w, g) = (String::from_utf8_lossy(want), String::from_utf8_lossy(got));
                if self.text_matches(&w, &g) {
                    return None;
                }
                if let (Ok(mut wv), Ok(mut gv)) = (
                    serde_json::from_str::<Value>(&w),
                    serde_json::from_str::<Value>(&g),
                ) {
                    for p in &self.ignore_json {
                        p.remove(&mut wv);
                        p.remove(&mut gv);
                    }
                    let mut lines = Vec::new();
                    json_diff("$", &wv, &gv, &mut lines);
                    if lines.is_empty() {
                        return None;
                    }
                    let more = lines.len().saturating_sub(MAX_LINES);
                    lines.truncate(MAX_LINES);
                    if more > 0 {
                        lines.push(format!("... and {more} more"));
                    }
                    return Some(lines.join("\n"));
                }
                Some(text_diff(&w, &g))
            }
            (MsgType::Text, MsgType::Binary) => {
                Some("a binary message came where a text was recorded".to_string())
            }
            (MsgType::Binary, MsgType::Text) => {
                Some("a text message came where a binary one was recorded".to_string())
            }
        }
    }

    fn text_matches(&self, want: &str, got: &str) -> bool {
        if self.ignore.is_empty() {
            return want == got;
        }
        regex::Regex::new(&exactly(want, &self.ignore)).is_ok_and(|r| r.is_match(got))
    }
}

/// How many lines a difference shows at most.
const MAX_LINES: usize = 12;
/// How much of a text a diff shows, in chars, around what changed.
const MAX_CHARS: usize = 240;

/// The regex that matches exactly this text, except that what `ignore` matches in it
/// may be anything `ignore` matches (`--ignore REGEX`: times, ids).
pub fn exactly(text: &str, ignore: &[regex::Regex]) -> String {
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

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// The paths where two JSON values differ, as `PATH: recorded X, got Y`.
fn json_diff(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    if out.len() > MAX_LINES * 4 {
        return;
    }
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                let p = format!("{path}.{k}");
                match g.get(k) {
                    Some(gv) => json_diff(&p, wv, gv, out),
                    None => out.push(format!("{p}: recorded {}, missing", short(wv))),
                }
            }
            for (k, gv) in g {
                if !w.contains_key(k) {
                    out.push(format!("{path}.{k}: not recorded, got {}", short(gv)));
                }
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            for i in 0..w.len().max(g.len()) {
                let p = format!("{path}[{i}]");
                match (w.get(i), g.get(i)) {
                    (Some(wv), Some(gv)) => json_diff(&p, wv, gv, out),
                    (Some(wv), None) => out.push(format!("{p}: recorded {}, missing", short(wv))),
                    (None, Some(gv)) => out.push(format!("{p}: not recorded, got {}", short(gv))),
                    (None, None) => {}
                }
            }
        }
        (w, g) if w == g => {}
        (w, g) => out.push(format!("{path}: recorded {}, got {}", short(w), short(g))),
    }
}

/// A word diff: `[-recorded-]{+got+}` where they differ, what is equal around it cut
/// short.
fn text_diff(want: &str, got: &str) -> String {
    let diff = TextDiff::from_words(want, got);
    let mut out = String::new();
    for c in diff.iter_all_changes() {
        let v = c.value();
        match c.tag() {
            ChangeTag::Equal => {
                let n = v.chars().count();
                if n > 40 {
                    let head: String = v.chars().take(16).collect();
                    let tail: String = v.chars().skip(n - 16).collect();
                    out.push_str(&format!("{head}...{tail}"));
                } else {
                    out.push_str(v);
                }
            }
            ChangeTag::Delete => out.push_str(&format!("[-{v}-]")),
            ChangeTag::Insert => out.push_str(&format!("{{+{v}+}}")),
        }
        if out.chars().count() > MAX_CHARS {
            let cut: String = out.chars().take(MAX_CHARS).collect();
            return format!("{cut}...");
        }
    }
    out
}

fn binary_diff(want: &[u8], got: &[u8]) -> Option<String> {
    if want == got {
        return None;
    }
    let at = want
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    let hex = |b: &[u8]| -> String {
        let s: String = b.iter().take(16).map(|x| format!("{x:02x}")).collect();
        if b.len() > 16 {
            format!("{s}...")
        } else {
            s
        }
    };
    Some(format!(
        "{} bytes recorded, {} came; they differ from byte {at}: recorded {}, got {}",
        want.len(),
        got.len(),
        hex(&want[at.min(want.len())..]),
        hex(&got[at.min(got.len())..])
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(ignore: &[&str], json: &[&str]) -> Rules {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Rules::parse(&s(ignore), &s(json)).unwrap()
    }

    fn text(r: &Rules, want: &str, got: &str) -> Option<String> {
        r.differs(
            MsgType::Text,
            want.as_bytes(),
            MsgType::Text,
            got.as_bytes(),
        )
    }

    #[test]
    fn texts_equal_or_a_word_diff() {
        let r = Rules::default();
        assert_eq!(text(&r, "hello world", "hello world"), None);
        assert_eq!(
            text(&r, "hello world", "hello there").as_deref(),
            Some("hello [-world-]{+there+}")
        );
        let r = rules(&[r"\d+"], &[]);
        assert_eq!(text(&r, "at 1700 ok", "at 1899 ok"), None);
        assert!(text(&r, "at 1700 ok", "at x ok").is_some());
    }

    #[test]
    fn json_by_value_and_the_paths_that_differ() {
        let r = Rules::default();
        assert_eq!(
            text(&r, r#"{"a":1,"b":2}"#, r#"{ "b": 2, "a": 1 }"#),
            None,
            "order and spaces"
        );
        let d = text(
            &r,
            r#"{"a":1,"b":{"c":[1,2]},"x":0}"#,
            r#"{"a":2,"b":{"c":[1]},"y":0}"#,
        )
        .unwrap();
        let lines: Vec<&str> = d.lines().collect();
        assert_eq!(
            lines,
            [
                "$.a: recorded 1, got 2",
                "$.b.c[1]: recorded 2, missing",
                "$.x: recorded 0, missing",
                "$.y: not recorded, got 0"
            ]
        );
        let r = rules(&[], &["ts", "items[*].id", "$.meta.*"]);
        assert_eq!(
            text(
                &r,
                r#"{"ts":1,"items":[{"id":"a","n":1}],"meta":{"k":1}}"#,
                r#"{"ts":2,"items":[{"id":"b","n":1}],"meta":{"j":2}}"#
            ),
            None
        );
        assert_eq!(
            text(
                &r,
                r#"{"ts":1,"items":[{"id":"a","n":1}]}"#,
                r#"{"ts":2,"items":[{"id":"b","n":2}]}"#
            )
            .as_deref(),
            Some("$.items[0].n: recorded 1, got 2")
        );
    }

    #[test]
    fn kinds_and_bytes() {
        let r = Rules::default();
        assert!(r
            .differs(MsgType::Text, b"a", MsgType::Binary, b"a")
            .is_some());
        assert_eq!(
            r.differs(MsgType::Binary, b"ab", MsgType::Binary, b"ab"),
            None
        );
        let d = r
            .differs(MsgType::Binary, &[1, 2, 3], MsgType::Binary, &[1, 9, 3])
            .unwrap();
        assert!(d.contains("from byte 1: recorded 0203, got 0903"), "{d}");
    }

    #[test]
    fn paths_parse_or_say_what_was_expected() {
        assert_eq!(
            JsonPath::parse("$.a[0].b").unwrap(),
            JsonPath(vec![
                Seg::Key("a".into()),
                Seg::Index(0),
                Seg::Key("b".into())
            ])
        );
        assert_eq!(
            JsonPath::parse("a.*.2").unwrap(),
            JsonPath(vec![Seg::Key("a".into()), Seg::Any, Seg::Index(2)])
        );
        for bad in ["", "$", "a..b", "a[x]", "a[1"] {
            let e = JsonPath::parse(bad).unwrap_err();
            assert!(e.starts_with("a JSON path like"), "{bad}: {e}");
        }
    }
}
