//! Arbitrary bytes through the streaming converter, cut into chunks at the positions the input's
//! first byte picks: it never panics, always ends its Markdown with a line break, and never
//! writes more than its output limit (plus the closing line of a stop).
#![no_main]

use gatehouse_markdown::{Converter, MAX_OUTPUT_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, page)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut converter = Converter::new();
    let mut markdown = String::new();
    for piece in page.chunks(chunk) {
        markdown.push_str(&converter.write(piece));
    }
    markdown.push_str(&converter.finish());
    assert!(markdown.ends_with('\n'));
    assert!(markdown.len() <= MAX_OUTPUT_BYTES + 256);
});
