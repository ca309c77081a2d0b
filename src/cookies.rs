//! `--cookie` and `--cookie-jar`: the cookies a handshake sends and the ones its
//! responses set, matched by RFC 6265's rules (domain, path, secure, expiry) through
//! `cookie_store`, and read from and written to curl's Netscape cookie-jar format. The
//! one I/O here is `Jar::save` (`--cookie-jar`, at the end of the client or the relay);
//! `cli` reads the file.

use cookie_store::{CookieStore, RawCookie};
use url::Url;

use crate::error::Error;
use crate::target::Target;

/// The cookies of one client session.
#[derive(Debug, Clone, Default)]
pub struct Jar {
    /// `--cookie 'a=1; b=2'`: sent as they are to every host, as curl does.
    literal: Option<String>,
    store: CookieStore,
}

/// The http(s) URL a WebSocket target's cookies are matched against (RFC 6455 4.1:
/// cookies as for the HTTP request): `ws` as `http`, `wss` as `https` (secure).
fn http_url(target: &Target) -> Option<Url> {
    let scheme = if target.tls { "https" } else { "http" };
    let host = if target.host.contains(':') {
        format!("[{}]", target.host)
    } else {
        target.host.clone()
    };
    Url::parse(&format!("{scheme}://{host}:{}{}", target.port, target.path)).ok()
}

impl Jar {
    /// `--cookie VALUE`: `name=value; ...` as it is, or the text of a Netscape cookie
    /// file (`file` names it in errors).
    pub fn from_cookie_arg(
        literal: Option<String>,
        file: Option<(&str, &str)>,
    ) -> Result<Jar, Error> {
        let mut jar = Jar {
            literal,
            store: CookieStore::default(),
        };
        if let Some((name, text)) = file {
            jar.read_netscape(name, text)?;
        }
        Ok(jar)
    }

    /// Lines of curl's format: `domain TAB include-subdomains TAB path TAB secure TAB
    /// expiry TAB name TAB value`; `#` comments (and the `#HttpOnly_` prefix) as curl
    /// writes them; blank lines skipped.
    fn read_netscape(&mut self, file: &str, text: &str) -> Result<(), Error> {
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            let (line, http_only) = match line.strip_prefix("#HttpOnly_") {
                Some(rest) => (rest, true),
                None => (line, false),
            };
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            let [domain, subdomains, path, secure, expiry, name, value] = f[..] else {
                return Err(Error::usage(format!(
                    "--cookie {file}: line {}: expected 7 tab-separated fields (domain, subdomains, path, secure, expiry, name, value), got {}",
                    n + 1,
                    f.len()
                )));
            };
            let host = domain.trim_start_matches('.');
            let secure = secure.eq_ignore_ascii_case("TRUE");
            let mut c = RawCookie::new(name.to_string(), value.to_string());
            if subdomains.eq_ignore_ascii_case("TRUE") {
                c.set_domain(host.to_string());
            }
            c.set_path(path.to_string());
            c.set_secure(secure);
            c.set_http_only(http_only);
            if let Ok(secs) = expiry.parse::<i64>() {
                if secs > 0 {
                    if let Ok(t) = time::OffsetDateTime::from_unix_timestamp(secs) {
                        c.set_expires(t);
                    }
                }
            }
            let scheme = if secure { "https" } else { "http" };
            let Ok(url) = Url::parse(&format!("{scheme}://{host}{path}")) else {
                return Err(Error::usage(format!(
                    "--cookie {file}: line {}: {domain:?} is not a host name",
                    n + 1
                )));
            };
            // An expired cookie is refused by the store: that is what the file says.
            let _ = self.store.insert_raw(&c, &url);
        }
        Ok(())
    }

    /// The `Cookie` header for a request to `target`, if any cookie applies.
    pub fn header(&self, target: &Target) -> Option<String> {
        let mut parts: Vec<String> = self.literal.iter().cloned().collect();
        if let Some(url) = http_url(target) {
            parts.extend(
                self.store
                    .get_request_values(&url)
                    .map(|(n, v)| format!("{n}={v}")),
            );
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// Take the `Set-Cookie` lines of a response to a request for `target`.
    pub fn absorb(&mut self, target: &Target, headers: &[(String, String)]) {
        let Some(url) = http_url(target) else { return };
        let cookies = headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| RawCookie::parse(v.clone()).ok());
        self.store.store_response_cookies(cookies, &url);
    }

    /// `--cookie-jar FILE`: write the jar; the warning to show when it cannot be.
    pub fn save(&self, path: &std::path::Path) -> Result<(), String> {
        std::fs::write(path, self.netscape())
            .map_err(|e| format!("--cookie-jar {}: could not write it: {e}", path.display()))
    }

    /// The jar as curl writes it (`--cookie-jar FILE`): every cookie still unexpired,
    /// sent or set.
    pub fn netscape(&self) -> String {
        let mut out = String::from("# Netscape HTTP Cookie File\n# written by wsdbg\n\n");
        for c in self.store.iter_unexpired() {
            let (domain, sub) = match &c.domain {
                cookie_store::CookieDomain::Suffix(d) => (format!(".{d}"), "TRUE"),
                cookie_store::CookieDomain::HostOnly(d) => (d.clone(), "FALSE"),
                _ => continue,
            };
            let expiry = match c.expires {
                cookie_store::CookieExpiration::AtUtc(t) => t.unix_timestamp(),
                cookie_store::CookieExpiration::SessionEnd => 0,
            };
            let prefix = if c.http_only().unwrap_or(false) {
                "#HttpOnly_"
            } else {
                ""
            };
            out.push_str(&format!(
                "{prefix}{domain}\t{sub}\t{}\t{}\t{expiry}\t{}\t{}\n",
                String::from(&c.path),
                if c.secure().unwrap_or(false) {
                    "TRUE"
                } else {
                    "FALSE"
                },
                c.name(),
                c.value()
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(url: &str) -> Target {
        crate::target::parse(url).unwrap()
    }

    #[test]
    fn netscape_cookies_match_by_domain_path_secure_and_expiry() {
        let file = "# Netscape HTTP Cookie File\n\
            .example.com\tTRUE\t/\tFALSE\t0\tsid\tabc\n\
            api.example.com\tFALSE\t/chat\tFALSE\t0\tchat\t1\n\
            secure.test\tFALSE\t/\tTRUE\t0\ts\t2\n\
            old.test\tFALSE\t/\tFALSE\t1\tgone\t3\n";
        let jar = Jar::from_cookie_arg(None, Some(("jar.txt", file))).unwrap();
        assert_eq!(
            jar.header(&t("ws://www.example.com/")).as_deref(),
            Some("sid=abc")
        );
        let chat = jar.header(&t("ws://api.example.com/chat/room")).unwrap();
        assert!(
            chat.contains("sid=abc") && chat.contains("chat=1"),
            "{chat}"
        );
        assert!(!jar
            .header(&t("ws://api.example.com/"))
            .unwrap()
            .contains("chat=1"));
        assert_eq!(
            jar.header(&t("ws://secure.test/")),
            None,
            "secure: wss only"
        );
        assert_eq!(jar.header(&t("wss://secure.test/")).as_deref(), Some("s=2"));
        assert_eq!(jar.header(&t("ws://old.test/")), None, "expired");
        assert_eq!(jar.header(&t("ws://example.org/")), None, "another domain");
        assert!(Jar::from_cookie_arg(None, Some(("f", "a\tb\n"))).is_err());
    }

    #[test]
    fn set_cookie_is_kept_and_written_back() {
        let mut jar = Jar::from_cookie_arg(Some("pre=0".into()), None).unwrap();
        let target = t("ws://127.0.0.1:9001/x");
        jar.absorb(&target, &[("Set-Cookie".into(), "sid=42; Path=/".into())]);
        assert_eq!(jar.header(&target).as_deref(), Some("pre=0; sid=42"));
        let text = jar.netscape();
        assert!(
            text.contains("127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\t42"),
            "{text}"
        );
        let again = Jar::from_cookie_arg(None, Some(("jar", &text))).unwrap();
        assert_eq!(again.header(&target).as_deref(), Some("sid=42"));
    }
}
