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
fn a_q_value_without_digits_after_the_point_is_zero() {
    assert_eq!(parse_qvalue("0."), Some(0));
    assert_eq!(parse_qvalue("1."), Some(1000));
    assert_eq!(parse_qvalue("0.5"), Some(500));
    assert_eq!(parse_qvalue("0.25"), Some(250));
    assert_eq!(parse_qvalue(".5"), None);
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

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Deploying gatehouse</title>
  <style>body { color: red; }</style>
  <script>window.secret = "do-not-leak";</script>
</head>
<body>
  <nav><ul><li><a href="/">Home</a></li><li><a href="/docs">Docs</a></li>
    <li><a href="https://example.com/blog?a=1&amp;b=2">Blog</a></li></ul></nav>
  <noscript>Enable JavaScript please</noscript>
  <main>
    <h1>Deploying gatehouse</h1>
    <p>gatehouse runs as a <strong>Cloudflare Worker</strong> in front of <em>your</em> app.
       See <a href="/docs/install" title="Install" onclick="steal()">the install guide</a>.</p>
    <h2>Steps</h2>
    <ol>
      <li>Install <code>wrangler</code></li>
      <li>Run the setup script
        <ul><li>nested item one</li><li>nested item two</li></ul>
      </li>
    </ol>
    <pre><code class="language-sh">wrangler deploy
echo "done" &lt;ok&gt;</code></pre>
    <table>
      <thead><tr><th>Setting</th><th>Default</th></tr></thead>
      <tbody><tr><td>CODE_TTL_SECS</td><td>60</td></tr></tbody>
    </table>
    <blockquote><p>Quoted text</p></blockquote>
    <svg viewBox="0 0 10 10"><path d="M0 0"/><text>icon label</text></svg>
    <img src="/logo.png" alt="Logo">
  </main>
  <script src="/app.js"></script>
  <!-- build 1234 -->
  <footer>&copy; 2026</footer>
</body>
</html>
"#;

#[test]
fn a_realistic_page_keeps_its_structure_and_loses_its_scripts() {
    let markdown = html_to_markdown(PAGE).unwrap();
    for expected in [
        "- [Home](/)",
        "- [Docs](/docs)",
        "[Blog](https://example.com/blog?a=1",
        "# Deploying gatehouse",
        "**Cloudflare Worker**",
        "*your*",
        "[the install guide](/docs/install \"Install\")",
        "## Steps",
        "1. Install `wrangler`",
        "   - nested item one",
        "```sh\nwrangler deploy\necho \"done\" <ok>\n```",
        "| Setting | Default |",
        "| CODE_TTL_SECS | 60 |",
        "> Quoted text",
        "![Logo](/logo.png)",
        "© 2026",
    ] {
        assert!(
            markdown.contains(expected),
            "missing {expected:?} in\n{markdown}"
        );
    }
    for absent in [
        "do-not-leak",
        "color: red",
        "Enable JavaScript",
        "app.js",
        "build 1234",
        "steal",
        "icon label",
        "<p",
        "<a",
        "<svg",
        "<script",
    ] {
        assert!(
            !markdown.contains(absent),
            "{absent:?} leaked into\n{markdown}"
        );
    }
    assert!(markdown.ends_with("©\u{a0}2026\n") || markdown.ends_with("© 2026\n"));
}

#[test]
fn markup_in_text_stays_text() {
    let markdown = html_to_markdown("<p>a &lt;script&gt; tag and 1 < 2</p>").unwrap();
    assert!(
        markdown.contains("<script>") || markdown.contains("\\<script>"),
        "{markdown}"
    );
    assert!(markdown.contains('2'), "{markdown}");
}

#[test]
fn an_empty_page_converts_to_an_empty_document() {
    assert_eq!(html_to_markdown("").unwrap(), "\n");
    assert_eq!(
        html_to_markdown("<!DOCTYPE html><html></html>").unwrap(),
        "\n"
    );
}

#[test]
fn a_body_over_the_source_limit_is_given_back() {
    let html = "a".repeat(MAX_MARKDOWN_SOURCE_BYTES + 1);
    assert_eq!(html_to_markdown(&html), Err(Unconverted::TooLarge));
    let html = "a".repeat(MAX_MARKDOWN_SOURCE_BYTES);
    assert!(html_to_markdown(&html).is_ok());
}

#[test]
fn deep_nesting_is_given_back_at_once() {
    // 100,000 nested `<div>`s: html5ever alone needs minutes (its scope checks walk the stack).
    let html = "<div>".repeat(100_000);
    assert_eq!(html_to_markdown(&html), Err(Unconverted::TooDeep));
    let html = "<ul><li>".repeat(MAX_MARKDOWN_NESTING_DEPTH);
    assert_eq!(html_to_markdown(&html), Err(Unconverted::TooDeep));
}

#[test]
fn nesting_up_to_the_limit_converts() {
    let html = format!("{}x", "<div>".repeat(MAX_MARKDOWN_NESTING_DEPTH - 8));
    assert_eq!(html_to_markdown(&html).unwrap(), "x\n");
}

#[test]
fn formatting_elements_left_open_cost_too_much() {
    // html5ever issue #289 territory: 10,000 distinct `<b>` tags take html5ever seconds.
    let mut html = String::new();
    for k in 0..10_000 {
        html.push_str(&format!("<b id={k}>"));
    }
    assert_eq!(html_to_markdown(&html), Err(Unconverted::TooDeep));
    let html = format!("{}{}", "<b>".repeat(150), "<div>x</div>".repeat(20_000));
    assert_eq!(html_to_markdown(&html), Err(Unconverted::TooCostly));
}

#[test]
fn many_tags_deep_down_cost_too_much() {
    let html = format!("{}{}", "<div>".repeat(240), "<p>x</p>".repeat(100_000));
    assert_eq!(html_to_markdown(&html), Err(Unconverted::TooCostly));
}

#[test]
fn misnested_formatting_does_not_accumulate() {
    // Each `</b>` closes the `<div>` opened inside it, so nothing stays open.
    let html = "<b><div>x</b>".repeat(5_000);
    assert!(html_to_markdown(&html).is_ok());
    let html = "<p><b>x</p>".repeat(5_000);
    assert!(html_to_markdown(&html).is_ok());
}

#[test]
fn markdown_that_would_repeat_deep_prefixes_is_given_back() {
    // Every line inside 64 block quotes carries 128 columns of `> `.
    let html = format!(
        "{}<pre>{}</pre>",
        "<blockquote>".repeat(64),
        "\n".repeat(100_000)
    );
    assert_eq!(html_to_markdown(&html), Err(Unconverted::OutputTooLarge));
}

#[test]
fn a_table_whose_grid_would_be_huge_is_given_back() {
    let html = format!(
        "<table><tr>{}{}</table>",
        "<td>".repeat(50_000),
        "<tr>".repeat(50_000)
    );
    assert_eq!(html_to_markdown(&html), Err(Unconverted::OutputTooLarge));
}

#[test]
fn refusal_reasons_have_log_names() {
    assert_eq!(Unconverted::TooLarge.as_str(), "too_large");
    assert_eq!(Unconverted::TooDeep.as_str(), "too_deep");
    assert_eq!(Unconverted::TooCostly.as_str(), "too_costly");
    assert_eq!(Unconverted::OutputTooLarge.as_str(), "output_too_large");
}

proptest! {
    // Each HTML case runs html5ever and the converter; in a debug build that is milliseconds.
    #![proptest_config(ProptestConfig::with_cases(96))]

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

    #[test]
    fn html_to_markdown_never_panics(html in any::<String>().prop_map(|s| s.chars().take(512).collect::<String>())) {
        let _ = html_to_markdown(&html);
    }

    #[test]
    fn html_to_markdown_never_panics_on_tag_soup(
        pieces in proptest::collection::vec(
            prop_oneof![
                Just("<p>"), Just("</p>"), Just("<div>"), Just("</div>"), Just("<b>"), Just("</b>"),
                Just("<a href=\"x\">"), Just("</a>"), Just("<ul>"), Just("<li>"), Just("</ul>"),
                Just("<table>"), Just("<tr>"), Just("<td>"), Just("</table>"), Just("<pre>"),
                Just("</pre>"), Just("<blockquote>"), Just("<svg>"), Just("</svg>"), Just("<script>"),
                Just("</script>"), Just("<!--"), Just("-->"), Just("<br/>"), Just("<h1>"), Just("text"),
                Just("\n"), Just("<"), Just(">"), Just("&amp;"), Just("'"), Just("\""), Just("<x y='"),
                Just("<template>"), Just("</td>"), Just("<code class=language-rs>"), Just("é"),
            ],
            0..80,
        )
    ) {
        let html = pieces.concat();
        if let Ok(markdown) = html_to_markdown(&html) {
            prop_assert!(markdown.ends_with('\n'));
        }
    }
}
