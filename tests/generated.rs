//! The committed man page, completion scripts and the README's generated blocks (the
//! JSON event table and the exit status table, between `<!-- NAME:begin -->` and
//! `<!-- NAME:end -->` markers) match what the code generates.
//! Regenerate them with: UPDATE_GENERATED=1 cargo test --test generated

use std::path::Path;

use wsdbg::generation::{completion, man_page, SHELLS};

fn check(path: &Path, want: &[u8]) -> Option<String> {
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, want).unwrap();
        return None;
    }
    match std::fs::read(path) {
        Ok(have) if have == want => None,
        Ok(_) => Some(format!(
            "{} differs from what the code generates",
            path.display()
        )),
        Err(e) => Some(format!("{}: {e}", path.display())),
    }
}

/// The text between the markers `<!-- NAME:begin -->` and `<!-- NAME:end -->` in `path`
/// is `want` (with a blank line each side). The markers themselves are written by hand.
fn check_block(path: &Path, name: &str, want: &str) -> Option<String> {
    let have = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => return Some(format!("{}: {e}", path.display())),
    };
    let (begin, end) = (
        format!("<!-- {name}:begin -->\n"),
        format!("<!-- {name}:end -->"),
    );
    let (Some(b), Some(e)) = (have.find(&begin), have.find(&end)) else {
        return Some(format!(
            "{}: no {begin:?} ... {end:?} markers",
            path.display()
        ));
    };
    let from = b + begin.len();
    if e < from {
        return Some(format!("{}: {name} markers out of order", path.display()));
    }
    let want = format!("\n{want}\n");
    if have[from..e] == want {
        return None;
    }
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        let new = format!("{}{want}{}", &have[..from], &have[e..]);
        std::fs::write(path, new).unwrap();
        return None;
    }
    Some(format!(
        "{}: the {name} block differs from what the code generates",
        path.display()
    ))
}

#[test]
fn readme_tables_match_their_sources() {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let problems: Vec<String> = [
        check_block(&readme, "events", &wsdbg::events_doc::markdown()),
        check_block(&readme, "exit", &wsdbg::exit::markdown()),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(
        problems.is_empty(),
        "{}\nregenerate with: UPDATE_GENERATED=1 cargo test --test generated",
        problems.join("\n")
    );
}

#[test]
fn committed_files_match_the_cli_definition() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    problems.extend(check(&root.join("man/wsdbg.1"), &man_page()));
    for (file, page) in wsdbg::generation::sub_man_pages() {
        problems.extend(check(&root.join("man").join(file), &page));
    }
    for (shell, file) in SHELLS {
        problems.extend(check(
            &root.join("completions").join(file),
            &completion(*shell),
        ));
    }
    assert!(
        problems.is_empty(),
        "{}\nregenerate with: UPDATE_GENERATED=1 cargo test --test generated",
        problems.join("\n")
    );
}

#[test]
fn man_page_has_the_contract_sections() {
    let man = String::from_utf8(man_page()).unwrap();
    for s in [
        ".SH COMMANDS",
        ".SH JSON EVENTS",
        ".SH EXIT STATUS",
        ".SH ENVIRONMENT",
        "close",
        "\\-\\-json",
    ] {
        assert!(man.contains(s), "man page lacks {s}");
    }
}

/// Issue 8: every event and exit code is in the man page, the proxy variables are in
/// ENVIRONMENT, and no page that is not shipped is referred to.
#[test]
fn man_page_lists_every_event_exit_code_and_proxy_variable() {
    let man = String::from_utf8(man_page()).unwrap();
    let sect = |title: &str| -> String {
        let at = man
            .find(&format!(".SH {title}\n"))
            .unwrap_or_else(|| panic!("no {title}"));
        let rest = &man[at + 4..];
        rest[..rest.find("\n.SH ").unwrap_or(rest.len())].to_string()
    };
    let events = sect("JSON EVENTS");
    for ev in wsdbg::events_doc::EVENTS {
        assert!(
            events.contains(&format!(".TP\n\\fB{}\\fR\n", ev.name)),
            "JSON EVENTS lacks {}",
            ev.name
        );
    }
    for key in ["reply_ms", "received", "body_hex", "client"] {
        assert!(events.contains(&format!("\\fB{key}\\fR")), "{key}");
    }
    let exit = sect("EXIT STATUS");
    for (code, _) in wsdbg::exit::CODES {
        assert!(exit.contains(&format!(".TP\n\\fB{code}\\fR\n")), "{code}");
    }
    assert!(exit.contains("the script (a pipe or \\fB\\-x\\fR) did not run as written"));
    let env = sect("ENVIRONMENT");
    for var in ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"] {
        let lower = var.to_lowercase();
        assert!(
            env.contains(&format!("\\fB{lower}, {var}\\fR")),
            "ENVIRONMENT lacks {var}"
        );
    }
    assert!(!man.contains("wsdbg\\-help"), "refers to wsdbg-help(1)");
    for (file, _) in wsdbg::generation::sub_man_pages() {
        let page = file.trim_end_matches(".1").replace('-', "\\-");
        assert!(
            man.contains(&format!("{page}(1)")),
            "{page}(1) not referred to"
        );
    }
}

#[test]
fn every_option_in_the_man_page_has_its_text() {
    let man = String::from_utf8(man_page()).unwrap();
    // Options hidden from -h (only in --help) once came out with no description.
    for needle in [
        "\\-\\-close\\-timeout",
        "\\-\\-chunk\\-size",
        "\\-\\-backoff\\-max",
    ] {
        let at = man
            .find(&format!(".TP\n\\fB{needle}"))
            .unwrap_or_else(|| panic!("{needle} missing"));
        let entry: Vec<&str> = man[at..].lines().take(3).collect();
        assert!(
            entry.len() == 3 && !entry[2].starts_with('.') && !entry[2].is_empty(),
            "{needle} has no text: {entry:?}"
        );
    }
}

#[test]
fn completions_subcommand_prints_the_same_script() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wsdbg"))
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, completion(clap_complete::Shell::Bash));
}
