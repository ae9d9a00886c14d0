use proptest::prelude::*;

use super::*;

fn md(html: &str) -> String {
    let converted = html_to_markdown(html);
    assert_eq!(converted.stopped, None, "{html}");
    converted.markdown
}

fn stopped(html: &str) -> Option<Stop> {
    html_to_markdown(html).stopped
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
    let markdown = html_to_markdown(PAGE).markdown;
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
    let markdown = md("<p>a &lt;script&gt; tag and 1 < 2</p>");
    assert!(
        markdown.contains("<script>") || markdown.contains("\\<script>"),
        "{markdown}"
    );
    assert!(markdown.contains('2'), "{markdown}");
}

#[test]
fn an_empty_page_converts_to_an_empty_document() {
    assert_eq!(md(""), "\n");
    assert_eq!(md("<!DOCTYPE html><html></html>"), "\n");
}

#[test]
fn a_body_over_the_source_limit_stops_at_the_limit() {
    let html = "a".repeat(MAX_SOURCE_BYTES + 1);
    let converted = html_to_markdown(&html);
    assert_eq!(converted.stopped, Some(Stop::TooLarge));
    assert!(
        converted.markdown.contains("(too_large)"),
        "the last line says why"
    );
    assert!(converted.markdown.len() < MAX_SOURCE_BYTES + 200);
    let html = "a".repeat(MAX_SOURCE_BYTES);
    assert_eq!(stopped(&html), None);
}

#[test]
fn the_source_limit_counts_bytes_across_chunks() {
    let mut converter = Converter::new();
    let chunk = vec![b'a'; 64 * 1024];
    for _ in 0..16 {
        let _ = converter.write(&chunk);
    }
    assert_eq!(converter.stopped(), None);
    let _ = converter.write(b"b");
    assert_eq!(converter.stopped(), Some(Stop::TooLarge));
}

#[test]
fn deep_nesting_stops_at_once() {
    let started = std::time::Instant::now();
    let html = "<div>".repeat(100_000);
    assert_eq!(stopped(&html), Some(Stop::TooDeep));
    let html = "<ul><li>".repeat(MAX_NESTING_DEPTH);
    assert_eq!(stopped(&html), Some(Stop::TooDeep));
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
}

#[test]
fn nesting_up_to_the_limit_converts() {
    let html = format!("{}x", "<div>".repeat(MAX_NESTING_DEPTH - 8));
    assert_eq!(md(&html), "x\n");
}

#[test]
fn formatting_elements_left_open_stop_at_the_depth_limit() {
    let mut html = String::new();
    for k in 0..10_000 {
        html.push_str(&format!("<b id={k}>"));
    }
    assert_eq!(stopped(&html), Some(Stop::TooDeep));
}

#[test]
fn open_formatting_elements_cost_nothing_more() {
    // html5ever's reconstruction of active formatting elements made this quadratic; a
    // streaming writer keeps no such list.
    let html = format!("{}{}", "<b>".repeat(150), "<div>x</div>".repeat(20_000));
    let started = std::time::Instant::now();
    assert_eq!(stopped(&html), None);
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
}

#[test]
fn many_tags_deep_down_stay_within_the_work_budget() {
    let html = format!("{}{}", "<div>".repeat(240), "<p>x</p>".repeat(100_000));
    // Each `</p>` closes the element on top of the parser's stack: one step, not 240.
    assert_eq!(stopped(&html), None);
}

#[test]
fn end_tags_the_parser_must_search_for_are_charged() {
    // lol_html closes no omitted end tag: 4,000 `<p>` stay open in its stack and every
    // unmatched end tag walks all of them (8 × 10⁸ steps, seconds natively, without the budget).
    let html = format!("{}{}", "<p>x".repeat(4_000), "</b>".repeat(200_000));
    let started = std::time::Instant::now();
    assert_eq!(stopped(&html), Some(Stop::TooCostly));
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
}

#[test]
fn the_parsers_stack_is_capped() {
    let html = format!(
        "{}{}",
        "<li>x".repeat(MAX_PARSER_DEPTH + 1),
        "</b>".repeat(1_000)
    );
    assert_eq!(stopped(&html), Some(Stop::TooDeep));
}

#[test]
fn misnested_formatting_does_not_accumulate() {
    // Each `</b>` closes the `<div>` opened inside it, so nothing stays open.
    let html = "<b><div>x</b>".repeat(5_000);
    assert_eq!(stopped(&html), None);
    let html = "<p><b>x</p>".repeat(5_000);
    assert_eq!(stopped(&html), None);
}

#[test]
fn markdown_that_would_repeat_deep_prefixes_stops_at_the_output_limit() {
    // Every line inside 64 block quotes carries 128 columns of `> `.
    let html = format!(
        "{}<pre>{}</pre>",
        "<blockquote>".repeat(64),
        "\n".repeat(100_000)
    );
    let converted = html_to_markdown(&html);
    assert_eq!(converted.stopped, Some(Stop::OutputTooLarge));
    assert!(converted.markdown.len() <= MAX_OUTPUT_BYTES + 200);
}

#[test]
fn a_table_is_written_row_by_row_without_a_grid() {
    // html5ever's converter padded every row to the widest: 50,000 × 50,000 cells. Rows
    // written as they come cost what the page costs.
    let html = format!(
        "<table><tr>{}{}</table>",
        "<td>".repeat(50_000),
        "<tr>".repeat(50_000)
    );
    let converted = html_to_markdown(&html);
    assert!(
        converted.markdown.len() < 8 * html.len(),
        "{}",
        converted.markdown.len()
    );
}

#[test]
fn stop_reasons_have_log_names() {
    assert_eq!(Stop::TooLarge.as_str(), "too_large");
    assert_eq!(Stop::TooDeep.as_str(), "too_deep");
    assert_eq!(Stop::TooCostly.as_str(), "too_costly");
    assert_eq!(Stop::OutputTooLarge.as_str(), "output_too_large");
}

#[test]
fn chunk_boundaries_do_not_change_the_markdown() {
    let whole = md(PAGE);
    for size in [1, 2, 3, 7, 64] {
        let mut converter = Converter::new();
        let mut markdown = String::new();
        for chunk in PAGE.as_bytes().chunks(size) {
            markdown.push_str(&converter.write(chunk));
        }
        markdown.push_str(&converter.finish());
        assert_eq!(markdown, whole, "chunks of {size}");
    }
}

#[test]
fn markdown_comes_out_before_the_page_ends() {
    let mut converter = Converter::new();
    let first = converter.write(b"<h1>Title</h1><p>one</p><p>tw");
    assert!(first.starts_with("# Title\n\none"), "{first:?}");
    let rest = converter.write(b"o</p>");
    assert_eq!(
        format!("{first}{rest}{}", converter.finish()),
        "# Title\n\none\n\ntwo\n"
    );
}

#[test]
fn output_keeps_pace_with_input() {
    // Nothing accumulates: each chunk's Markdown comes out with it, so memory is one chunk's
    // worth however long the page.
    let section = "<section><h2>Title</h2><p>Some <a href=\"/x\">link</a> and <code>code</code>.</p>\
                   <ul><li>a</li><li>b</li></ul><table><tr><td>1</td></tr></table></section>\n";
    let page = section.repeat((1 << 20) / section.len());
    let mut converter = Converter::new();
    let mut streamed = 0;
    for chunk in page.as_bytes().chunks(4096) {
        let markdown = converter.write(chunk);
        assert!(
            markdown.len() <= 2 * chunk.len() + 256,
            "{}",
            markdown.len()
        );
        streamed += markdown.len();
    }
    let rest = converter.finish();
    assert_eq!(converter.stopped(), None);
    assert!(
        rest.len() < 256,
        "{} bytes held back to the end",
        rest.len()
    );
    assert!(streamed > page.len() / 4, "{streamed}");
}

#[test]
fn omitted_end_tags_are_closed() {
    let cases = [
        ("<p>a<p>b", "a\n\nb\n"),
        ("<p><em>a<div>b</div>", "*a*\n\nb\n"),
        ("<ul><li>a<li>b</ul>", "- a\n- b\n"),
        ("<ul><li>a<ul><li>b</ul><li>c</ul>", "- a\n  - b\n- c\n"),
        ("<h1>a<h2>b", "# a\n\n## b\n"),
        ("<a href=x>a<a href=y>b", "[a](x)[b](y)\n"),
        (
            "<table><tr><td>a<td>b<tr><td>c</table>",
            "| a | b |\n| --- | --- |\n| c |\n",
        ),
        (
            "<table><thead><tr><th>a<tbody><tr><td>b</table>",
            "| a |\n| --- |\n| b |\n",
        ),
        ("<div><span>a</div>b", "a\n\nb\n"),
        ("<b><i>a</b>c</i>", "***a***c\n"),
        ("</p>a</div>", "a\n"),
    ];
    for (html, expected) in cases {
        assert_eq!(md(html), expected, "{html}");
    }
}

#[test]
fn table_parts_outside_a_table_are_unwrapped() {
    assert_eq!(md("<td>a</td><tr>b"), "ab\n");
}

#[test]
fn only_the_attributes_the_markdown_uses_are_kept() {
    assert_eq!(
        md("<a HREF='/x?a=\"1\"' onclick=steal() title=t id=i>a</a>"),
        "[a](/x?a=\"1\" \"t\")\n"
    );
    assert_eq!(
        md("<img src=a.png alt=\"A\" style=x><p class=c>t"),
        "![A](a.png)\n\nt\n"
    );
    assert_eq!(
        md("<a href=1 href=2>x"),
        "[x](1)\n",
        "HTML §13.2.5.33: the first of duplicate attributes wins"
    );
    assert_eq!(md("<a href='a b(c)'>x</a>"), "[x](a%20b%28c%29)\n");
}

#[test]
fn markdown_characters_in_text_are_escaped() {
    assert_eq!(md("1 < 2 <3 <"), "1 \\< 2 \\<3 \\<\n");
    assert_eq!(md("a &lt;b&gt;"), "a \\<b>\n");
    assert_eq!(
        md("*not emphasis* [not a link]"),
        "\\*not emphasis\\* \\[not a link\\]\n"
    );
    assert_eq!(md("<p># not a heading"), "\\# not a heading\n");
    assert_eq!(md("<code>a*b</code>"), "`a*b`\n");
}

#[test]
fn scripts_styles_and_comments_leave_nothing() {
    assert_eq!(
        md("a<script>if (a < b) { x('</p>') }</script>b<style>p{}</STYLE >c"),
        "abc\n"
    );
    assert_eq!(md("a<!-- <p> -->b<!-->c<!--->d<!-- x --!>e"), "abcde\n");
    assert_eq!(md("a<!-- never closed <p>b"), "a\n");
    assert_eq!(md("<title>T</title><noscript><p>n</noscript>x"), "x\n");
}

#[test]
fn a_script_end_tag_needs_a_delimiter() {
    assert_eq!(md("<script>a</scripts>b</script>c"), "c\n");
}

#[test]
fn xmp_and_plaintext_become_code_blocks() {
    assert_eq!(md("<xmp><b>x</b></xmp>"), "```\n<b>x</b>\n```\n");
    assert_eq!(md("<plaintext><p>rest"), "```\n<p>rest\n```\n");
}

#[test]
fn svg_and_templates_are_dropped_with_their_content() {
    assert_eq!(md("a<svg><path/><text>t</text></svg>b"), "ab\n");
    assert_eq!(md("a<svg/>b"), "ab\n");
    assert_eq!(md("a<template><p>t</template>b"), "ab\n");
    assert_eq!(
        md("a<svg><foreignObject><div>in</div></foreignObject></svg>b"),
        "ab\n"
    );
}

#[test]
fn text_after_an_unclosed_svg_is_dropped_with_it() {
    // lol_html does not end foreign content at an HTML start tag (HTML §13.2.6.5), so an
    // `<svg>` never closed hides the rest of the page, where html5ever would have shown it.
    assert_eq!(md("a<svg><g><p>after"), "a\n");
}

#[test]
fn an_unfinished_tag_at_the_end_is_dropped() {
    assert_eq!(md("a<div class='x"), "a\n");
    assert_eq!(md("a<div"), "a\n");
}

#[test]
fn legacy_elements_are_written_as_their_modern_equivalents() {
    assert_eq!(md("<listing>x</listing>"), "```\nx\n```\n");
    assert_eq!(md("<tt>x</tt>"), "`x`\n");
    assert_eq!(md("<center>x</center>"), "x\n");
    assert_eq!(md("<font color=red>x</font>"), "x\n");
    assert_eq!(md("<my-widget><p>x</my-widget>"), "x\n");
}

#[test]
fn character_references_cut_by_a_chunk_boundary_are_decoded() {
    let mut converter = Converter::new();
    let mut markdown = converter.write(b"<p>caf&ea");
    markdown.push_str(&converter.write(b"cute; &amp"));
    markdown.push_str(&converter.write(b"; &#x41;</p>"));
    markdown.push_str(&converter.finish());
    assert_eq!(markdown, "caf\u{e9} & A\n");
}

#[test]
fn quotes_and_lists_prefix_every_line() {
    assert_eq!(
        md("<blockquote><p>a</p><p>b</p></blockquote>"),
        "> a\n>\n> b\n"
    );
    assert_eq!(
        md("<ol><li><p>a</p><pre>x\ny</pre></li></ol>"),
        "1. a\n\n   ```\n   x\n   y\n   ```\n"
    );
    assert_eq!(md("<ul><li></li></ul>"), "- \n");
    assert_eq!(md("<p>a</p><blockquote>q</blockquote>"), "a\n\n> q\n");
}

#[test]
fn blocks_after_a_table_cell_or_code_block_keep_their_blank_line() {
    assert_eq!(
        md("<pre>x</pre><table><tr><td><p>3</p><p>4</p><td>1<br>2</table><p>after"),
        "```\nx\n```\n\n| 3 4 | 1 2 |\n| --- | --- |\n\nafter\n"
    );
}

#[test]
fn empty_inline_elements_leave_no_markers() {
    assert_eq!(md("<p>a<b></b>b<a href=x></a>c<h2></h2>"), "abc\n");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn html_to_markdown_never_panics(html in any::<String>().prop_map(|s| s.chars().take(512).collect::<String>())) {
        let converted = html_to_markdown(&html);
        prop_assert!(converted.markdown.ends_with('\n'));
    }

    #[test]
    fn the_converter_never_panics_on_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..1024),
        split in 0usize..1024,
    ) {
        let mut converter = Converter::new();
        let (a, b) = bytes.split_at(split.min(bytes.len()));
        let mut markdown = converter.write(a);
        markdown.push_str(&converter.write(b));
        markdown.push_str(&converter.finish());
        prop_assert!(markdown.ends_with('\n'));
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
                Just("<img src=i alt=a>"), Just("<hr>"), Just("</li>"), Just("<ol>"), Just("</ol>"),
                Just("<th>"), Just("</tr>"), Just("<xmp>"), Just("&"), Just("&#"), Just("|"),
            ],
            0..80,
        )
    ) {
        let html = pieces.concat();
        let converted = html_to_markdown(&html);
        prop_assert!(converted.markdown.ends_with('\n'));
        prop_assert!(converted.markdown.len() <= 64 * (html.len() + 16));
    }
}

#[test]
fn the_void_element_list_is_lol_htmls() {
    // The Worker's parser (`HTMLRewriter`) does not say whether an element can have content;
    // the Worker asks `is_void_element`, which must agree with the parser's own rule.
    use lol_html::{HtmlRewriter, Settings, element};
    let names = [
        "area", "base", "basefont", "bgsound", "br", "col", "embed", "hr", "img", "input",
        "keygen", "link", "meta", "param", "source", "track", "wbr", "frame", "image", "p", "a",
        "div", "li", "td", "pre", "xmp", "svg", "template", "menuitem", "nobr",
    ];
    for name in names {
        let seen = std::cell::Cell::new(None);
        let mut rewriter = HtmlRewriter::new(
            Settings {
                element_content_handlers: vec![element!("*", |el| {
                    seen.set(Some(el.can_have_content()));
                    Ok(())
                })],
                ..Settings::new()
            },
            |_: &[u8]| {},
        );
        rewriter.write(format!("<{name}>").as_bytes()).unwrap();
        rewriter.end().unwrap();
        assert_eq!(seen.get(), Some(!is_void_element(name)), "<{name}>");
    }
}
