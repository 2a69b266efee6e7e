//! `dts-sync completions SHELL` and `dts-sync man`: both generated from the command-line
//! definition itself (the `clap::Command` main.rs derives), so they cannot drift from it.

use std::io::Write;

use clap_complete::Shell;

/// Writes the completion script for `shell` to `out`.
pub fn completions(shell: Shell, mut cmd: clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    let name = cmd.get_name().to_string();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, name.clone(), &mut script);
    if shell == Shell::Bash {
        script = fix_bash_dispatch(&String::from_utf8_lossy(&script), &name).into_bytes();
    }
    out.write_all(&script)
}

/// clap_complete 4.6's bash script names each subcommand's branch after the program with its
/// `-` spelled `__subcmd__` (`dts__subcmd__sync__subcmd__init)`), while the dispatch sets
/// `cmd="dts__sync__subcmd__init"`: no branch matched, so nothing after the subcommand
/// completed. The branches are renamed to what the dispatch sets.
fn fix_bash_dispatch(script: &str, name: &str) -> String {
    const SEP: &str = "__subcmd__";
    let wrong = format!("{}{SEP}", name.replace('-', SEP));
    let right = format!("{}{SEP}", name.replace('-', "__"));
    script.replace(&wrong, &right)
}

/// Writes the manual page (roff, section 1) to `out`: the name, synopsis and description of
/// the whole program, the list of commands, how to start and the exit status, then one section
/// per command with its synopsis, what it does and its options.
pub fn man(cmd: clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    let mut cmd = cmd.disable_help_subcommand(true);
    // Fills in every subcommand's bin name ("dts-sync run"), which its synopsis shows.
    cmd.build();
    let page = clap_mangen::Man::new(cmd.clone());
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    // clap_mangen's own list points at one page per command (dts-sync-run(1)); this page
    // holds them all, so its list names the sections below.
    writeln!(out, ".SH COMMANDS")?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        writeln!(out, ".TP\n\\fBdts\\-sync {}\\fR", escape(sub.get_name()))?;
        writeln!(out, "{}", escape(&sub.get_about().map(|a| a.to_string()).unwrap_or_default()))?;
    }
    // The after-help of the program: how to start and the exit status.
    let mut notes = Vec::new();
    page.render_extra_section(&mut notes)?;
    out.write_all(String::from_utf8_lossy(&notes).replacen(".SH EXTRA", ".SH NOTES", 1).as_bytes())?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        writeln!(out, ".SH \"DTS\\-SYNC {}\"", sub.get_name().to_uppercase())?;
        let sub_page = clap_mangen::Man::new(sub.clone());
        let mut section = Vec::new();
        sub_page.render_synopsis_section(&mut section)?;
        sub_page.render_description_section(&mut section)?;
        sub_page.render_options_section(&mut section)?;
        if sub.get_after_long_help().is_some() || sub.get_after_help().is_some() {
            sub_page.render_extra_section(&mut section)?;
        }
        out.write_all(&as_subsections(&section))?;
    }
    page.render_version_section(out)?;
    Ok(())
}

/// A command's sections become subsections of its own section: `.SH NAME` lines turn into
/// `.SS Name`, and its after-help's "EXTRA" heading into "Notes".
fn as_subsections(roff: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(roff);
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match line.strip_prefix(".SH ") {
            Some("EXTRA") => out.push_str(".SS Notes"),
            Some(heading) => {
                out.push_str(".SS ");
                out.push_str(&title_case(heading));
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// Text as roff shows it literally: backslashes and hyphens escaped, no line read as a request.
fn escape(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    escaped.lines().map(|l| format!("\\&{l}")).collect::<Vec<_>>().join("\n")
}

fn title_case(heading: &str) -> String {
    let lower = heading.to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_of_a_command_become_subsections() {
        let out = as_subsections(b".SH SYNOPSIS\n\\fBx\\fR\n.SH EXTRA\ntext\n");
        assert_eq!(String::from_utf8(out).unwrap(), ".SS Synopsis\n\\fBx\\fR\n.SS Notes\ntext\n");
    }

    #[test]
    fn bash_branches_are_named_as_the_dispatch_sets_them() {
        let s = "cmd=\"dts__sync__subcmd__init\"\n        dts__subcmd__sync__subcmd__init)\n";
        assert_eq!(
            fix_bash_dispatch(s, "dts-sync"),
            "cmd=\"dts__sync__subcmd__init\"\n        dts__sync__subcmd__init)\n"
        );
    }

    #[test]
    fn text_is_escaped_for_roff() {
        assert_eq!(escape(".a-b\\c\n'd"), "\\&.a\\-b\\ec\n\\&'d");
    }
}
