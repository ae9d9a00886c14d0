//! The person the agent acts for: asked for consent before an authorization starts, shown where
//! to log in, or the user code of the device grant. The library asks through the `Person`
//! trait; `Terminal` is the CLI's implementation on stderr and the controlling terminal.

use crate::Error;
use crate::device::DeviceAuthorization;
use std::io::{BufRead, IsTerminal, Write};
use url::Url;

/// What the person is asked to agree to before any authorization starts.
pub struct ConsentPrompt<'a> {
    /// The resource the token will be for.
    pub resource: &'a Url,
    /// The authorization server that will ask them to log in.
    pub issuer: &'a str,
    /// The scopes asked for (empty: the server's default).
    pub scopes: &'a [String],
    /// Whether this is a step-up for more scopes than a token already has.
    pub step_up: bool,
}

/// The person's side of an authorization.
pub trait Person {
    /// Whether they agree to start the authorization.
    fn consent(&mut self, prompt: &ConsentPrompt<'_>) -> Result<bool, Error>;
    /// Shows the authorization URL; `opened` says whether a browser was started with it.
    fn visit(&mut self, url: &Url, opened: bool);
    /// Shows the device grant's user code and where to enter it (RFC 8628 §3.3).
    fn enter_code(&mut self, device: &DeviceAuthorization);
}

/// Asks on the terminal, writes on stderr.
pub struct Terminal {
    yes: bool,
    quiet: bool,
}

impl Terminal {
    /// `yes`: consent without asking (non-interactive use); `quiet`: fewer progress notes.
    pub fn new(yes: bool, quiet: bool) -> Self {
        Terminal { yes, quiet }
    }
}

/// What the person is asked, without the program's name: the CLI prefixes its own lines with
/// `gatehouse-fetch:`, and an error carrying the question is printed with that prefix once.
fn question(prompt: &ConsentPrompt<'_>) -> String {
    let scopes = if prompt.scopes.is_empty() {
        "the server's default scopes".to_string()
    } else {
        prompt.scopes.join(" ")
    };
    let what = if prompt.step_up {
        "more access to"
    } else {
        "access to"
    };
    format!(
        "{} asks you to log in at {} to grant {what} it ({scopes}).",
        prompt.resource, prompt.issuer
    )
}

impl Person for Terminal {
    fn consent(&mut self, prompt: &ConsentPrompt<'_>) -> Result<bool, Error> {
        let question = question(prompt);
        if self.yes {
            if !self.quiet {
                eprintln!("gatehouse-fetch: {question} Consent given by --yes.");
            }
            return Ok(true);
        }
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Err(Error::ConsentDeclined(format!(
                "{question} There is no terminal to ask on: pass --yes to consent."
            )));
        }
        eprint!("gatehouse-fetch: {question}\nStart the authorization? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        stdin
            .lock()
            .read_line(&mut answer)
            .map_err(|e| Error::ConsentDeclined(e.to_string()))?;
        Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
    }

    fn visit(&mut self, url: &Url, opened: bool) {
        if opened {
            eprintln!("gatehouse-fetch: opened your browser; if it did not appear, open:\n{url}");
        } else {
            eprintln!("gatehouse-fetch: open this URL in a browser to log in and approve:\n{url}");
        }
    }

    fn enter_code(&mut self, device: &DeviceAuthorization) {
        eprintln!(
            "gatehouse-fetch: on any device, open {} and enter the code {}",
            device.verification_uri, device.user_code
        );
        if let Some(complete) = &device.verification_uri_complete {
            eprintln!("gatehouse-fetch: or open {complete}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_question_carries_no_program_prefix_so_errors_print_it_once() {
        // Issue 17: "gatehouse-fetch: consent: gatehouse-fetch: …" on stderr.
        let resource = Url::parse("https://wiki.example/api").unwrap();
        let prompt = ConsentPrompt {
            resource: &resource,
            issuer: "https://wiki.example",
            scopes: &["read".to_owned()],
            step_up: false,
        };
        let text = question(&prompt);
        assert!(!text.contains("gatehouse-fetch"), "{text}");
        assert!(text.starts_with("https://wiki.example/api asks you to log in"));
        let printed = format!("gatehouse-fetch: {}", Error::ConsentDeclined(text));
        assert_eq!(printed.matches("gatehouse-fetch:").count(), 1, "{printed}");
    }
}
