use super::*;
use std::fmt::Write as _;
use std::time::Instant;

fn run(name: &str, html: &str) {
    let t = Instant::now();
    let n = normalize::normalize(html);
    let nt = t.elapsed();
    let t = Instant::now();
    let r = html_to_markdown(html);
    let total = t.elapsed();
    println!(
        "{name:<28} in={:>8} norm={:?} {:?} total={:?} => {:?}",
        html.len(),
        n.as_ref().map(|s| s.len()),
        nt,
        total,
        r.as_ref().map(|s| s.len())
    );
}

#[test]
fn scratch() {
    let page = std::fs::read_to_string("/tmp/h2m/page.html").unwrap();
    let mut big = String::new();
    while big.len() + page.len() < MAX_MARKDOWN_SOURCE_BYTES {
        big.push_str(&page);
    }
    run("realistic x N", &big);
    run("deep div 100k", &"<div>".repeat(100_000));
    let mut s = String::new();
    for k in 0..10_000 {
        write!(s, "<b id={k}>").unwrap();
    }
    run("distinct b 10k", &s);
    let mut s = String::new();
    for k in 0..50_000 {
        write!(s, "<p><b id={k}>x</p>").unwrap();
    }
    s.truncate(MAX_MARKDOWN_SOURCE_BYTES - 10);
    run("p-b", &s);
    run("b-div-/b", &"<b><div></b>".repeat(80_000));
    let s = format!("{}{}", "<div>".repeat(240), "<p>x</p>".repeat(120_000));
    run("deep240 + p x 120k", &s);
    for n in [20_000usize, 40_000, 80_000] {
        let s = format!("{}{}", "<div>".repeat(200), "<p>x</p>".repeat(n));
        run(&format!("deep200 + p x {n}"), &s);
    }
    let s = format!("{}{}", "<i>".repeat(200), "<p>x</p>".repeat(100_000));
    run("i200 + p", &s);
    let mut s = String::new();
    for k in 0..100 {
        write!(s, "<b id={k}>").unwrap();
    }
    s.push_str(&"<div>x</div>".repeat(50_000));
    run("b100 + div", &s);
    let s = format!(
        "{}<pre>{}",
        "<blockquote>".repeat(64),
        "\n".repeat(1_000_000)
    );
    run("bq64 pre newlines", &s);
    let s = format!("{}{}", "<ul><li>".repeat(30), "x<br>".repeat(200_000));
    run("ul30 br", &s);
    let s = format!(
        "<table><tr>{}{}</table>",
        "<td>".repeat(100_000),
        "<tr>".repeat(100_000)
    );
    run("table grid", &s);
    let mut s = String::from("<a ");
    for k in 0..150_000 {
        write!(s, "a{k} ").unwrap();
    }
    s.push('>');
    run("many attributes", &s);
    run(
        "unclosed comment",
        &format!("<!--{}", "<div>".repeat(200_000)),
    );
    run("lt soup", &"<".repeat(1_000_000));
    run(
        "svg unclosed",
        &format!("<svg>{}<div>after</div>", "<g>".repeat(200)),
    );
    run("table soup", &"<table><td><b><tr><i>x".repeat(40_000));
    run("nested tables", &"<table><tr><td>".repeat(100));
    run("a nest", &"<a href=x><div>".repeat(80_000));
}
