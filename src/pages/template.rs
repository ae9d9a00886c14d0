//! What every page shares: the escaper of every `{{ value }}` in `templates/*.html` (askama.toml
//! names it), rendering a page, and dates as the pages say them.

use std::fmt;

use askama::Template;

/// The escaper of every `.html` template (`askama.toml` names it): `&`, `<`, `>`, `"` and `'`,
/// the characters that can end a text node or a quoted attribute value, become character
/// references; everything else passes unchanged.
/// Named references (not askama's `&#60;`) because the pages' readers, people's browsers and the
/// test suites' form helpers alike, have always been given these.
#[derive(Clone, Copy, Debug, Default)]
pub struct Html;

impl askama::filters::Escaper for Html {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, string: &str) -> fmt::Result {
        let mut rest = string;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            let (plain, tail) = rest.split_at(at);
            dest.write_str(plain)?;
            let mut chars = tail.chars();
            if let Some(c) = chars.next() {
                dest.write_str(reference(c))?;
            }
            rest = chars.as_str();
        }
        dest.write_str(rest)
    }

    fn write_escaped_char<W: fmt::Write>(&self, mut dest: W, c: char) -> fmt::Result {
        match c {
            '&' | '<' | '>' | '"' | '\'' => dest.write_str(reference(c)),
            c => dest.write_char(c),
        }
    }
}

/// The character reference for one of the five characters [`Html`] escapes.
fn reference(c: char) -> &'static str {
    match c {
        '&' => "&amp;",
        '<' => "&lt;",
        '>' => "&gt;",
        '"' => "&quot;",
        '\'' => "&#x27;",
        _ => "",
    }
}

/// Renders a page. A template's only failure is a value whose `Display` fails, and every value
/// here is a string or a number; should one ever fail, the person gets a plain error page, not a
/// half-written one.
pub(super) fn render(page: &impl Template) -> String {
    page.render().unwrap_or_else(|_| {
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error · gatehouse\
         </title></head><body><h1>This page could not be shown</h1></body></html>"
            .to_owned()
    })
}

/// `YYYY-MM-DD HH:MM UTC` for Unix seconds.
pub(super) fn utc(secs: u64) -> String {
    let c = gatehouse_core::time::UnixTime(secs).civil();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        c.year, c.month, c.day, c.hour, c.minute
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_escaper_turns_the_five_markup_characters_into_references() {
        use askama::filters::Escaper as _;
        let mut out = String::new();
        Html.write_escaped_str(&mut out, "a&b<c>d\"e'f é €")
            .unwrap();
        assert_eq!(out, "a&amp;b&lt;c&gt;d&quot;e&#x27;f é €");
        for (c, expected) in [('<', "&lt;"), ('\'', "&#x27;"), ('x', "x"), ('é', "é")] {
            let mut out = String::new();
            Html.write_escaped_char(&mut out, c).unwrap();
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(
            utc(1_795_996_800 + 3600 * 13 + 60 * 7),
            "2026-11-30 13:07 UTC"
        );
    }
}
