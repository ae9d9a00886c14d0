use proptest::prelude::*;

use super::*;

/// RFC 9110 §12.5.1 (Accept, media-range precedence) and §12.4.2 (quality values).
#[test]
fn markdown_is_preferred_only_when_it_outweighs_html() {
    let cases: &[(Option<&str>, bool, &str)] = &[
        (
            None,
            false,
            "§12.5.1: no Accept means any type; the origin's HTML stands",
        ),
        (Some(""), false, "an empty list names no type"),
        (
            Some("text/markdown"),
            true,
            "§12.4.2: no q means 1; HTML is not listed",
        ),
        (Some("text/markdown, text/html;q=0.9"), true, "1 > 0.9"),
        (
            Some("text/html, text/markdown"),
            false,
            "equal weights: a tie keeps HTML",
        ),
        (
            Some("text/html;q=0.5, text/markdown;q=0.5"),
            false,
            "a tie keeps HTML",
        ),
        (
            Some("*/*"),
            false,
            "§12.5.1: */* gives both the same weight",
        ),
        (Some("text/*"), false, "text/* gives both the same weight"),
        (
            Some("text/markdown;q=0.5, */*;q=0.1"),
            true,
            "0.5 > HTML's 0.1 from */*",
        ),
        (
            Some("text/markdown;q=0.5, text/*;q=0.6"),
            false,
            "HTML's 0.6 from text/*",
        ),
        (
            Some("text/markdown;q=0.5, text/html;q=0.4, */*;q=0.9"),
            true,
            "§12.5.1: the most specific range has precedence, so HTML is 0.4, not 0.9",
        ),
        (
            Some("text/*;q=0.3, text/markdown"),
            true,
            "text/markdown overrides text/*",
        ),
        (
            Some("text/markdown;q=0"),
            false,
            "§12.4.2: 0 means not acceptable",
        ),
        (
            Some("text/markdown;q=0, */*"),
            false,
            "q=0 on the exact type wins over */*",
        ),
        (
            Some("text/markdown;q=0.001"),
            true,
            "0.001 is the least preferred, not zero",
        ),
        (
            Some("TEXT/Markdown"),
            true,
            "§8.3.1: type and subtype are case-insensitive",
        ),
        (
            Some("text/markdown;Q=0.2, text/html;q=0.1"),
            true,
            "§5.6.6: `Q` is `q`",
        ),
        (
            Some("text/markdown ; q=0.8 , text/html ; q=0.7"),
            true,
            "§5.6.6: OWS around `;`",
        ),
        (
            Some("text/markdown;charset=utf-8;variant=GFM"),
            true,
            "other parameters do not change the weight",
        ),
        (
            Some("text/markdown;x=\"a,b;q=0\", text/html;q=0.5"),
            true,
            "§5.6.4: separators inside a quoted string do not split",
        ),
        (
            Some("text/markdown;q=2, text/html;q=0.5"),
            false,
            "§12.4.2: q above 1 is malformed and the member is skipped",
        ),
        (
            Some("text/markdown;q=0.1234"),
            false,
            "§12.4.2: at most three decimals",
        ),
        (
            Some("text/markdown;q=1.001"),
            false,
            "§12.4.2: 1 takes only zeros after the point",
        ),
        (Some("text/markdown;q=1.000"), true, "1.000 is 1"),
        (
            Some("text/markdown;q=0."),
            false,
            "§12.4.2: `0.` is a qvalue, and it is 0",
        ),
        (Some("text/markdown;q="), false, "an empty q is malformed"),
        (
            Some("text/markdown;q=abc"),
            false,
            "a non-numeric q is malformed",
        ),
        (Some("markdown"), false, "no `/`: malformed"),
        (
            Some("*/markdown"),
            false,
            "§12.5.1: `*/subtype` is not a media range",
        ),
        (
            Some("text /markdown"),
            false,
            "no whitespace inside a media range",
        ),
        (
            Some("text/markdown;q=\"0.9\""),
            false,
            "a quoted q is not a qvalue",
        ),
        (
            Some("garbage, text/markdown"),
            true,
            "a malformed member is skipped, the rest counts",
        ),
        (
            Some(",,text/markdown,,"),
            true,
            "§5.6.1: empty list members are allowed",
        ),
        (
            Some("text/markdown;\"unterminated"),
            false,
            "an unterminated quote is malformed",
        ),
        (
            Some("text/html;level=1;q=0.2, text/markdown;q=0.3"),
            true,
            "media-type parameters on HTML's range are ignored",
        ),
    ];
    for (accept, expected, why) in cases {
        assert_eq!(prefers_markdown(*accept), *expected, "{accept:?}: {why}");
    }
}

#[test]
fn html_is_recognized_with_any_parameters_and_case() {
    let cases: &[(Option<&str>, bool)] = &[
        (Some("text/html"), true),
        (Some("text/html; charset=utf-8"), true),
        (Some("TEXT/HTML;charset=UTF-8"), true),
        (Some(" text/html ;q=1"), true),
        (Some("text/html\t; charset=iso-8859-1"), true),
        (Some("text/plain"), false),
        (Some("text/markdown"), false),
        (Some("application/xhtml+xml"), false),
        (Some("text/htmlx"), false),
        (Some("text / html"), false),
        (Some(""), false),
        (None, false),
    ];
    for (content_type, expected) in cases {
        assert_eq!(is_html(*content_type), *expected, "{content_type:?}");
    }
}

#[test]
fn only_statuses_with_content_are_converted() {
    for status in [200, 201, 203, 206, 404, 410, 500, 503] {
        assert!(status_has_content(status), "{status}");
    }
    for status in [101, 204, 205, 304] {
        assert!(!status_has_content(status), "{status}");
    }
}

proptest! {
    #[test]
    fn prefers_markdown_never_panics(accept in any::<Option<String>>()) {
        let _ = prefers_markdown(accept.as_deref());
    }

    #[test]
    fn prefers_markdown_never_panics_on_accept_like_input(
        accept in r#"([a-z*/;=,. "\\q0-9\t]|text/markdown|text/html|q=0\.[0-9]{1,4}){0,24}"#
    ) {
        let _ = prefers_markdown(Some(&accept));
    }

    #[test]
    fn is_html_never_panics(content_type in any::<String>()) {
        let _ = is_html(Some(&content_type));
    }
}

/// Accept, status, Content-Type, Content-Length, what the client gets, why.
type Case<'a> = (
    Option<&'a str>,
    u16,
    Option<&'a str>,
    Option<&'a str>,
    Representation,
    &'a str,
);

/// What the gatekeeper answers for each kind of origin response (RFC 9110 §12.5.1, §12.5.5).
#[test]
fn only_html_with_content_that_fits_is_converted() {
    use Representation::{AsSent, Html, Markdown};
    const MAX: u64 = 1 << 20;
    let md = Some("text/markdown");
    let html = Some("text/html; charset=utf-8");
    let cases: &[Case] = &[
        (
            md,
            200,
            html,
            None,
            Markdown,
            "HTML for an agent preferring Markdown",
        ),
        (
            md,
            200,
            html,
            Some("1048576"),
            Markdown,
            "exactly at the limit",
        ),
        (
            md,
            200,
            html,
            Some("1048577"),
            Html,
            "declared longer than the converter converts",
        ),
        (
            md,
            200,
            html,
            Some("x"),
            Markdown,
            "an unreadable length is no length",
        ),
        (md, 304, html, None, Html, "§15.4.5: a 304 has no content"),
        (md, 204, html, None, Html, "§15.3.5: a 204 has no content"),
        (Some("text/html"), 200, html, None, Html, "a browser"),
        (None, 200, html, None, Html, "no Accept"),
        (
            md,
            200,
            Some("application/json"),
            None,
            AsSent,
            "only HTML is converted",
        ),
        (md, 200, None, None, AsSent, "no Content-Type"),
    ];
    for &(accept, status, content_type, length, expected, why) in cases {
        assert_eq!(
            representation(accept, status, content_type, length, MAX),
            expected,
            "{why}"
        );
    }
}

#[test]
fn converted_answers_describe_the_markdown_not_the_html() {
    assert!(header_edits(Representation::AsSent).is_empty());
    assert_eq!(
        header_edits(Representation::Html),
        [HeaderEdit::Append("Vary", "Accept")]
    );
    let edits = header_edits(Representation::Markdown);
    assert!(edits.contains(&HeaderEdit::Append("Vary", "Accept")));
    assert!(edits.contains(&HeaderEdit::Set(
        "Content-Type",
        MARKDOWN_CONTENT_TYPE.to_owned()
    )));
    for stale in [
        "Content-Length",
        "Content-Encoding",
        "ETag",
        "Last-Modified",
    ] {
        assert!(edits.contains(&HeaderEdit::Delete(stale)), "{stale}");
    }
}
