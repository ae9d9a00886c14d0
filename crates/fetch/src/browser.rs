//! Opening the system browser, and knowing when there is none (then the device grant is the
//! better choice, RFC 8628 §1).

use std::process::{Command, Stdio};
use url::Url;

/// Whether a browser can plausibly be opened here: on Linux and the BSDs, only with a display
/// (`DISPLAY`, `WAYLAND_DISPLAY`) or an explicit `BROWSER`.
pub fn available() -> bool {
    if cfg!(any(target_os = "macos", target_os = "windows")) {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY", "BROWSER"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()))
}

/// Asks the system to open `url`; `false` when no opener could be started.
pub fn open(url: &Url) -> bool {
    let program = std::env::var("BROWSER").ok().filter(|b| !b.is_empty());
    let (program, args): (String, Vec<&str>) = match program {
        Some(b) => (b, vec![url.as_str()]),
        None if cfg!(target_os = "macos") => ("open".into(), vec![url.as_str()]),
        None if cfg!(target_os = "windows") => (
            "rundll32".into(),
            vec!["url.dll,FileProtocolHandler", url.as_str()],
        ),
        None => ("xdg-open".into(), vec![url.as_str()]),
    };
    // The URL is one argument to the program, never a shell string.
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .is_ok()
}
