//! `cargo xtask check-readme`: the README's "Using the crate" program compiles as printed,
//! as a new crate whose manifest has the README's dependency block, with the crate taken from
//! this checkout instead of the repository's git URL the block gives (the same source, with
//! this checkout's changes and no network).

use std::{fs, path::Path, process::Command};

/// The first fenced block of `language` after `heading` in `readme`.
pub fn block<'a>(readme: &'a str, heading: &str, language: &str) -> Option<&'a str> {
    let section = &readme[readme.find(heading)?..];
    let fence = format!("```{language}\n");
    let start = section.find(&fence)? + fence.len();
    let end = section[start..].find("```")?;
    Some(&section[start..start + end])
}

/// Writes the downstream crate under `target/readme-downstream` and checks it with the
/// workspace's lock file and target directory (so nothing already built is built again).
///
/// # Errors
/// Which block is missing, or cargo's failure.
pub fn run(workspace: &Path) -> Result<(), String> {
    let readme = fs::read_to_string(workspace.join("README.md")).map_err(|e| e.to_string())?;
    let heading = "## Using the crate";
    let manifest = block(&readme, heading, "toml").ok_or("no toml block under the heading")?;
    let program =
        block(&readme, heading, "rust,no_run").ok_or("no rust block under the heading")?;
    // The README's live line takes the crate from the repository; the check builds this
    // checkout instead. The crates.io line, for after publication, is a comment there.
    let from_git = "twilio-conversations = { git = \"https://github.com/twilio-conversations-rs/twilio-conversations\" }";
    let published = "twilio-conversations = \"0.1\"";
    let live = |line: &str| manifest.lines().any(|l| l.trim_start().starts_with(line));
    if !live(from_git) {
        return Err(format!("the dependency block has no `{from_git}` line"));
    }
    if !manifest.contains(published) {
        return Err(format!("the dependency block does not name `{published}`"));
    }
    let path = workspace.display().to_string();
    let manifest = manifest.replacen(
        from_git,
        &format!("twilio-conversations = {{ path = {path:?} }}"),
        1,
    );
    let dir = workspace.join("target/readme-downstream");
    fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
    let cargo_toml = format!(
        "[package]\nname = \"readme-downstream\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [workspace]\n\n{manifest}"
    );
    fs::write(dir.join("Cargo.toml"), cargo_toml).map_err(|e| e.to_string())?;
    fs::write(dir.join("src/main.rs"), program).map_err(|e| e.to_string())?;
    fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock")).map_err(|e| e.to_string())?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["check", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", workspace.join("target"))
        .status()
        .map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "the README program does not compile as a new crate ({})",
            dir.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_block_after_the_heading() {
        let text = "# x\n```toml\nno\n```\n## Using\ntext\n```toml\nyes = 1\n```\n";
        assert_eq!(block(text, "## Using", "toml"), Some("yes = 1\n"));
        assert_eq!(block(text, "## Using", "rust"), None);
    }
}
