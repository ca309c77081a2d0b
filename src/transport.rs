//! An open connection as an event loop sees it, for both roles: a non-blocking socket
//! registered with `mio`, plain or with rustls on top (client or server). Reads give
//! plaintext; writes take plaintext and report how much was taken. A server's TLS
//! handshake runs here too, driven by the reads. No framing here.

use std::io::{self, Read, Write};

use mio::net::TcpStream;
use rustls::Connection;

use crate::connect::Stream;
use crate::error::Error;

/// Outcome of a read attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// This many plaintext bytes were appended.
    Data(usize),
    /// Nothing more now.
    WouldBlock,
    /// The peer closed the connection (TCP FIN or TLS close_notify).
    Eof,
}

pub struct Transport {
    pub sock: TcpStream,
    tls: Option<Box<Connection>>,
}

/// Most plaintext rustls may hold for sending before it pushes back.
const TLS_BUFFER_LIMIT: usize = 1 << 20;

impl Transport {
    /// Turn the blocking stream used for the client's handshake into a non-blocking
    /// transport.
    pub fn new(stream: Stream) -> Result<Transport, Error> {
        let (tls, std_sock) = match stream {
            Stream::Plain(s) => (None, s),
            Stream::Tls(c, s) => (Some(Connection::Client(*c)), s),
        };
        std_sock
            .set_read_timeout(None)
            .and_then(|_| std_sock.set_write_timeout(None))
            .and_then(|_| std_sock.set_nonblocking(true))
            .map_err(|e| Error::io(format!("socket: {e}")))?;
        Ok(Transport::with(TcpStream::from_std(std_sock), tls))
    }

    /// A non-blocking socket, with a TLS connection (a server's, still to shake hands)
    /// or none.
    pub fn with(sock: TcpStream, tls: Option<Connection>) -> Transport {
        let tls = tls.map(|mut c| {
            c.set_buffer_limit(Some(TLS_BUFFER_LIMIT));
            Box::new(c)
        });
        Transport { sock, tls }
    }

    /// Read what is available into `buf[end..]`, growing nothing: the caller makes room.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<ReadOutcome, Error> {
        match &mut self.tls {
            None => loop {
                match self.sock.read(buf) {
                    Ok(0) => return Ok(ReadOutcome::Eof),
                    Ok(n) => return Ok(ReadOutcome::Data(n)),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        return Ok(ReadOutcome::WouldBlock)
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(io_error(e)),
                }
            },
            Some(tls) => loop {
                // Plaintext rustls already holds comes first.
                match tls.reader().read(buf) {
                    Ok(0) => return Ok(ReadOutcome::Eof),
                    Ok(n) => return Ok(ReadOutcome::Data(n)),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        return Ok(ReadOutcome::Eof)
                    }
                    Err(e) => return Err(io_error(e)),
                }
                match tls.read_tls(&mut self.sock) {
                    Ok(0) => return Ok(ReadOutcome::Eof),
                    Ok(_) => {
                        if let Err(e) = tls.process_new_packets() {
                            // Send the alert rustls queued, then report.
                            let _ = tls.write_tls(&mut self.sock);
                            return Err(Error::tls(format!(
                                "TLS: {}",
                                crate::connect::tls_words(&e)
                            )));
                        }
                        // Handshake messages (a server's), session tickets: best effort
                        // now, the rest with the next write.
                        while tls.wants_write() {
                            match tls.write_tls(&mut self.sock) {
                                Ok(n) if n > 0 => {}
                                _ => break,
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        return Ok(ReadOutcome::WouldBlock)
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(io_error(e)),
                }
            },
        }
    }

    /// Write as much of `data` as the socket takes now; returns how much was taken.
    pub fn write(&mut self, data: &[u8]) -> Result<usize, Error> {
        match &mut self.tls {
            None => {
                let mut done = 0;
                while done < data.len() {
                    match self.sock.write(&data[done..]) {
                        Ok(0) => return Err(Error::io("the connection accepts no more data")),
                        Ok(n) => done += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(io_error(e)),
                    }
                }
                Ok(done)
            }
            Some(tls) => {
                let mut done = 0;
                loop {
                    if done < data.len() {
                        match tls.writer().write(&data[done..]) {
                            Ok(n) => done += n,
                            Err(e) => return Err(io_error(e)),
                        }
                    }
                    if !tls.wants_write() {
                        // Everything taken was sent, or rustls took nothing more.
                        return Ok(done);
                    }
                    match tls.write_tls(&mut self.sock) {
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(done),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(io_error(e)),
                    }
                }
            }
        }
    }

    /// Bytes rustls holds that the socket has not taken yet.
    pub fn has_pending(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    /// End our side: TLS close_notify, then a TCP shutdown. Best effort.
    pub fn shutdown(&mut self) {
        if let Some(tls) = &mut self.tls {
            tls.send_close_notify();
            while tls.wants_write() {
                if tls.write_tls(&mut self.sock).is_err() {
                    break;
                }
            }
        }
        let _ = self.sock.shutdown(std::net::Shutdown::Write);
    }
}

impl crate::outq::WriteSome for Transport {
    fn write_some(&mut self, data: &[u8]) -> Result<usize, Error> {
        self.write(data)
    }
}

fn io_error(e: io::Error) -> Error {
    Error::io(format!("connection: {e}"))
}
