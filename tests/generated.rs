//! The committed man page and completion scripts match what the code generates.
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
        "close",
        "\\-\\-json",
    ] {
        assert!(man.contains(s), "man page lacks {s}");
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
