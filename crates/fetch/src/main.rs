//! `gatehouse-fetch`: the agent-side client. Until it follows `WWW-Authenticate` to a token, it
//! says so instead of pretending to fetch anything.

use std::process::ExitCode;

const USAGE: &str = "\
usage: gatehouse-fetch URL

gatehouse-fetch will fetch URL like curl and, when the server answers with a Bearer challenge,
follow it through OAuth discovery, registration and login to a token, then retry.
This build does not implement the fetch yet: it only prints this text.";

fn main() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}
