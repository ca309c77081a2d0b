//! Issue 4: mutual TLS with client keys in each PEM form (PKCS#8, PKCS#1, SEC1), and
//! `wsdbg listen --tls-cert --tls-key` serving wss:// to wsdbg itself. The PKCS#1 and
//! SEC1 keys are made with the `openssl` command (in the base image; required under CI).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::peers::Peer;
use common::*;

fn openssl(dir: &Path, args: &[&str]) -> bool {
    let ok = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var("CI").as_deref() == Ok("true") {
        panic!("openssl {args:?} failed (the openssl command is needed under CI)");
    }
    ok
}

/// A server that requires client certificates issued by the CA in `client_ca_pem`.
fn server_config(pki: &Pki, client_ca_pem: &Path) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(client_ca_pem).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let chain: Vec<_> = CertificateDer::pem_file_iter(&pki.server_cert_pem)
        .unwrap()
        .map(|c| c.unwrap())
        .collect();
    let key = PrivateKeyDer::from_pem_file(&pki.server_key_pem).unwrap();
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .unwrap(),
    )
}

fn mtls_session(pki: &Pki, client_ca: &Path, cert: &Path, key: &Path) {
    let server = Server::builder()
        .tls(server_config(pki, client_ca))
        .run(|c| c.echo_until_close());
    let out = run(wsdbg()
        .args(["--json", "--cacert"])
        .arg(&pki.ca_pem)
        .arg("--cert")
        .arg(cert)
        .arg("--key")
        .arg(key)
        .arg(server.wss_url("/"))
        .write_stdin("mutual\n/wait 1 3000\n"));
    server.finish();
    out.clean_close();
    assert_eq!(out.texts("in"), vec!["mutual"], "{out}");
}

fn first_pem_label(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

#[test]
fn client_key_pkcs8() {
    let pki = pki();
    assert_eq!(
        first_pem_label(&pki.client_key_pem),
        "-----BEGIN PRIVATE KEY-----"
    );
    mtls_session(&pki, &pki.ca_pem, &pki.client_cert_pem, &pki.client_key_pem);
}

#[test]
fn client_key_sec1() {
    let pki = pki();
    let dir = pki.dir.path();
    let sec1: PathBuf = dir.join("client.sec1.key");
    if !openssl(dir, &["ec", "-in", "client.key", "-out", "client.sec1.key"]) {
        eprintln!("skipped: no openssl");
        return;
    }
    assert_eq!(first_pem_label(&sec1), "-----BEGIN EC PRIVATE KEY-----");
    mtls_session(&pki, &pki.ca_pem, &pki.client_cert_pem, &sec1);
}

#[test]
fn client_key_pkcs1_rsa() {
    let pki = pki();
    let dir = pki.dir.path();
    std::fs::write(
        dir.join("ext"),
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n",
    )
    .unwrap();
    let steps: &[&[&str]] = &[
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "rsa-ca.key",
            "-out",
            "rsa-ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=wsdbg rsa test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
        &["genrsa", "-traditional", "-out", "client.rsa.key", "2048"],
        &[
            "req",
            "-new",
            "-key",
            "client.rsa.key",
            "-subj",
            "/CN=rsa client",
            "-out",
            "c.csr",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "c.csr",
            "-CA",
            "rsa-ca.pem",
            "-CAkey",
            "rsa-ca.key",
            "-CAcreateserial",
            "-out",
            "client.rsa.pem",
            "-days",
            "2",
            "-extfile",
            "ext",
        ],
    ];
    for step in steps {
        if !openssl(dir, step) {
            eprintln!("skipped: openssl {step:?} failed");
            return;
        }
    }
    let key = dir.join("client.rsa.key");
    assert_eq!(first_pem_label(&key), "-----BEGIN RSA PRIVATE KEY-----");
    mtls_session(
        &pki,
        &dir.join("rsa-ca.pem"),
        &dir.join("client.rsa.pem"),
        &key,
    );
}

#[test]
fn listen_serves_wss() {
    let pki = pki();
    let cert = pki.server_cert_pem.to_str().unwrap().to_string();
    let key = pki.server_key_pem.to_str().unwrap().to_string();
    let listen = Listen::json_with(&["--tls-cert", &cert, "--tls-key", &key]);
    assert!(
        listen.first_line.contains("\"tls\":true"),
        "{}",
        listen.first_line
    );
    let port = listen.addr.rsplit_once(':').unwrap().1.to_string();
    let out = run(wsdbg()
        .args(["--json", "--cacert"])
        .arg(&pki.ca_pem)
        .arg(format!("wss://localhost:{port}/"))
        .write_stdin("over tls\n/wait 1 3000\n"));
    out.clean_close();
    assert_eq!(out.texts("in"), vec!["over tls"], "{out}");
}

#[test]
fn listen_needs_both_cert_and_key() {
    let pki = pki();
    let out = run(wsdbg()
        .args(["listen", "--port", "0", "--tls-cert"])
        .arg(&pki.server_cert_pem));
    out.code(2);
    assert!(out.stderr.contains("--tls-key"), "{out}");
}

/// Issue 17: the ordinary `openssl req -x509` self-signed certificate (CA:TRUE, used by
/// the server itself) given to `--cacert` is accepted, as websocat and Python accept it
/// (webpki alone refuses it as `CaUsedAsEndEntity`); another such certificate is still
/// refused, in plain words (no `Other(`, no Debug syntax).
#[test]
fn issue17_a_self_signed_server_certificate_given_as_cacert_is_trusted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    for name in ["own", "other"] {
        let step = [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ];
        if !openssl(d, &step) {
            eprintln!("skipped: openssl {step:?} failed");
            return;
        }
    }
    let text = std::fs::read_to_string(d.join("own.pem")).unwrap();
    assert!(text.contains("BEGIN CERTIFICATE"), "{text}");
    let (cert, key) = (d.join("own.pem"), d.join("own.key"));
    let listen = Listen::json_with(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    let port = listen.addr.rsplit_once(':').unwrap().1.to_string();
    let url = format!("wss://localhost:{port}/");
    let out = run(wsdbg()
        .args(["--json", "--cacert"])
        .arg(&cert)
        .arg(&url)
        .write_stdin("self-signed\n/wait 1 3000\n"));
    out.clean_close();
    assert_eq!(out.texts("in"), vec!["self-signed"], "{out}");
    // Another self-signed certificate for the same name is not this server's.
    let out = run(wsdbg()
        .args(["--json", "--cacert"])
        .arg(d.join("other.pem"))
        .arg(&url)
        .write_stdin("no\n"));
    assert_eq!(out.code, Some(1), "{out}");
    let err = out
        .stderr
        .lines()
        .find(|l| l.contains("TLS"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        err.contains("the server's certificate was refused")
            && !err.contains("Other(")
            && !err.contains("Error("),
        "{err}"
    );
    drop(listen.unused());
}

/// Issue 17: the wrong scheme is said as such: `ws://` to a TLS port names `wss://`
/// (it said "closed in the middle of the response head (7 bytes)"), and `wss://` to a
/// plain port names `ws://`.
#[test]
fn issue17_the_wrong_scheme_is_named() {
    let pki = pki();
    let cert = pki.server_cert_pem.to_str().unwrap().to_string();
    let key = pki.server_key_pem.to_str().unwrap().to_string();
    let tls = Listen::json_with(&["--tls-cert", &cert, "--tls-key", &key]);
    let out = run(wsdbg()
        .arg(format!("ws://{}/", tls.addr))
        .write_stdin("x\n"));
    assert_ne!(out.code, Some(0), "{out}");
    assert!(
        out.stderr.contains("it speaks wss:// on this port"),
        "{out}"
    );
    drop(tls.unused());
    // A plain server that is not ours: Python websockets answers the TLS ClientHello
    // with an HTTP 400 or a close.
    let Some(py) = Peer::websockets() else {
        return;
    };
    let url = py.url("/").replacen("ws://", "wss://", 1);
    let out = run(wsdbg()
        .args(["--connect-timeout", "5", "--cacert"])
        .arg(&pki.ca_pem)
        .arg(&url)
        .write_stdin("x\n"));
    assert_ne!(out.code, Some(0), "{out}");
    let err = out.stderr.lines().next().unwrap_or_default().to_string();
    assert!(err.contains("try ws://"), "{out}");
    assert!(!err.contains("Invalid") && !err.contains("Error("), "{err}");
}
