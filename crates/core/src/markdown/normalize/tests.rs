use super::*;

fn rewrite(html: &str) -> String {
    normalize(html)
        .unwrap()
        .strip_prefix("<!DOCTYPE html>")
        .unwrap()
        .to_owned()
}

fn work_of(html: &str) -> u64 {
    let mut rewrite = Rewrite::new(html.len());
    rewrite.run(html).unwrap();
    rewrite.work
}

#[test]
fn omitted_end_tags_are_written_out() {
    let cases = [
        ("<p>a<p>b", "<p>a</p><p>b</p>"),
        ("<p><em>a<div>b</div>", "<p><em>a</em></p><div>b</div>"),
        ("<ul><li>a<li>b</ul>", "<ul><li>a</li><li>b</li></ul>"),
        (
            "<ul><li>a<ul><li>b</ul><li>c</ul>",
            "<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>",
        ),
        (
            "<dl><dt>a<dd>b<dt>c</dl>",
            "<dl><dt>a</dt><dd>b</dd><dt>c</dt></dl>",
        ),
        ("<h1>a<h2>b", "<h1>a</h1><h2>b</h2>"),
        (
            "<a href=x>a<a href=y>b",
            "<a href=\"x\">a</a><a href=\"y\">b</a>",
        ),
        (
            "<table><tr><td>a<td>b<tr><td>c</table>",
            "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>",
        ),
        (
            "<table><thead><tr><th>a<tbody><tr><td>b</table>",
            "<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>b</td></tr></tbody></table>",
        ),
        ("<div><span>a</div>b", "<div><span>a</span></div>b"),
        ("<b><i>a</b>c</i>", "<b><i>a</i></b>c"),
        ("a</br>b", "a<br>b"),
        ("</p>a</div>", "a"),
    ];
    for (html, expected) in cases {
        assert_eq!(rewrite(html), expected, "{html}");
    }
}

#[test]
fn table_parts_outside_a_table_are_unwrapped() {
    assert_eq!(rewrite("<td>a</td><tr>b"), "ab");
}

#[test]
fn only_the_attributes_the_markdown_uses_are_kept() {
    assert_eq!(
        rewrite("<a HREF='/x?a=\"1\"' onclick=steal() title=t id=i>a</a>"),
        "<a href=\"/x?a=&quot;1&quot;\" title=\"t\">a</a>"
    );
    assert_eq!(
        rewrite("<img src=a.png alt=\"A\" style=x><p class=c>t"),
        "<img src=\"a.png\" alt=\"A\"><p>t</p>"
    );
    assert_eq!(
        rewrite("<a href=1 href=2>x"),
        "<a href=\"1\">x</a>",
        "HTML §13.2.5.33: the first of duplicate attributes wins"
    );
    assert_eq!(rewrite("<a href=>x"), "<a href=\"\">x</a>");
}

#[test]
fn a_less_than_sign_in_text_is_escaped() {
    assert_eq!(rewrite("1 < 2 <3 <"), "1 &lt; 2 &lt;3 &lt;");
    assert_eq!(rewrite("a &lt;b&gt;"), "a &lt;b&gt;");
}

#[test]
fn scripts_styles_and_comments_leave_nothing() {
    assert_eq!(
        rewrite("a<script>if (a < b) { x('</p>') }</script>b<style>p{}</STYLE >c"),
        "abc"
    );
    assert_eq!(rewrite("a<!-- <p> -->b<!-->c<!--->d<!-- x --!>e"), "abcde");
    assert_eq!(rewrite("a<!-- never closed <p>b"), "a");
    assert_eq!(
        rewrite("a<?php echo 1 ?>b<!DOCTYPE html>c</ x>d</>e"),
        "abcde"
    );
    assert_eq!(rewrite("<title>T</title><noscript><p>n</noscript>x"), "x");
}

#[test]
fn a_script_end_tag_needs_a_delimiter() {
    assert_eq!(rewrite("<script>a</scripts>b</script>c"), "c");
}

#[test]
fn xmp_and_plaintext_become_preformatted_text() {
    assert_eq!(rewrite("<xmp><b>x</b></xmp>"), "<pre>&lt;b>x&lt;/b></pre>");
    assert_eq!(rewrite("<plaintext><p>rest"), "<pre>&lt;p>rest</pre>");
}

#[test]
fn svg_and_templates_are_dropped_with_their_content() {
    assert_eq!(rewrite("a<svg><path/><text>t</text></svg>b"), "ab");
    assert_eq!(rewrite("a<svg/>b"), "ab");
    assert_eq!(rewrite("a<template><p>t</template>b"), "ab");
    assert_eq!(
        rewrite("a<svg><foreignObject><div>in</div></foreignObject></svg>b"),
        "ab"
    );
}

#[test]
fn html_after_an_unclosed_svg_is_kept() {
    // HTML §13.2.6.5: a `<p>` start tag ends foreign content.
    assert_eq!(rewrite("<svg><g><p>after"), "<p>after</p>");
    // An end tag of an element open outside the subtree ends it too.
    assert_eq!(rewrite("<div><select><option>x</div>y"), "<div></div>y");
}

#[test]
fn an_unfinished_tag_at_the_end_is_dropped() {
    assert_eq!(rewrite("a<div class='x"), "a");
    assert_eq!(rewrite("a<div"), "a");
    assert_eq!(rewrite("a</"), "a&lt;/");
}

#[test]
fn legacy_elements_are_written_as_their_modern_equivalents() {
    assert_eq!(rewrite("<listing>x</listing>"), "<pre>x</pre>");
    assert_eq!(rewrite("<tt>x</tt>"), "<code>x</code>");
    assert_eq!(rewrite("<center>x</center>"), "<div>x</div>");
    assert_eq!(rewrite("<font color=red>x</font>"), "x");
    assert_eq!(rewrite("<my-widget><p>x</my-widget>"), "<p>x</p>");
}

#[test]
fn a_shallow_page_spends_a_small_part_of_the_work_budget() {
    let section = "<section><h2>Title</h2><p>Some <a href=\"/x\">link</a> and <code>code</code>.</p>\
                   <ul><li><a href=\"/a\">a</a></li><li><a href=\"/b\">b</a></li></ul></section>\n";
    let page = section.repeat((1 << 20) / section.len());
    assert!(work_of(&page) < MAX_PARSE_WORK / 8, "{}", work_of(&page));
}

#[test]
fn work_grows_with_depth_times_tokens() {
    let shallow = work_of(&"<p>x</p>".repeat(1000));
    let deep = work_of(&format!(
        "{}{}",
        "<div>".repeat(100),
        "<p>x</p>".repeat(1000)
    ));
    assert!(deep > shallow * 10, "{shallow} {deep}");
}
