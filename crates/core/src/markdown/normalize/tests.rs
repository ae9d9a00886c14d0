use super::*;

fn work_of(html: &str) -> u64 {
    let mut rewrite = Rewrite::new(html.len());
    rewrite.run(html).unwrap();
    rewrite.work
}

#[test]
fn scratch_work() {
    let page = std::fs::read_to_string("/tmp/h2m/page.html").unwrap();
    let mut big = String::new();
    while big.len() + page.len() < 1 << 20 {
        big.push_str(&page);
    }
    println!(
        "realistic 1MiB work={} of {}",
        work_of(&big),
        MAX_PARSE_WORK
    );
}
