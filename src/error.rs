//! `Error` and its `Kind`: what went wrong, said so a user can act on it.
//! Owns the mapping from a failure to the JSON `error.kind` and to an exit code
//! for failures before a session opens. Knows nothing of output formats.

use std::fmt;

/// The JSON `error.kind` values of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Usage,
    Connect,
    Tls,
    Handshake,
    Protocol,
    Io,
    Timeout,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Usage => "usage",
            Kind::Connect => "connect",
            Kind::Tls => "tls",
            Kind::Handshake => "handshake",
            Kind::Protocol => "protocol",
            Kind::Io => "io",
            Kind::Timeout => "timeout",
        }
    }
}

/// A refused handshake: what the server answered instead of 101.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    /// At most 4 KiB of the body.
    pub body: Vec<u8>,
    /// The upgrade request that was refused, as sent (shown with `-v`, and in the JSON
    /// `error` event).
    pub request: Option<crate::event::HttpHead>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: Kind,
    pub msg: String,
    /// The RFC rule broken, for protocol errors (`"RFC 6455 5.1"`).
    pub rule: Option<&'static str>,
    pub refusal: Option<Box<Refusal>>,
}

impl Error {
    pub fn new(kind: Kind, msg: impl Into<String>) -> Error {
        Error {
            kind,
            msg: msg.into(),
            rule: None,
            refusal: None,
        }
    }
    pub fn usage(msg: impl Into<String>) -> Error {
        Error::new(Kind::Usage, msg)
    }
    pub fn connect(msg: impl Into<String>) -> Error {
        Error::new(Kind::Connect, msg)
    }
    pub fn tls(msg: impl Into<String>) -> Error {
        Error::new(Kind::Tls, msg)
    }
    pub fn handshake(msg: impl Into<String>) -> Error {
        Error::new(Kind::Handshake, msg)
    }
    pub fn io(msg: impl Into<String>) -> Error {
        Error::new(Kind::Io, msg)
    }
    pub fn timeout(msg: impl Into<String>) -> Error {
        Error::new(Kind::Timeout, msg)
    }
    pub fn protocol(msg: impl Into<String>, rule: &'static str) -> Error {
        Error {
            rule: Some(rule),
            ..Error::new(Kind::Protocol, msg)
        }
    }

    /// Exit code for an error that ended the program before a session was open.
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            Kind::Usage => crate::exit::USAGE,
            Kind::Protocol | Kind::Io => crate::exit::LOST,
            _ => crate::exit::CONNECT,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.msg)?;
        if let Some(rule) = self.rule {
            write!(f, " ({rule})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
