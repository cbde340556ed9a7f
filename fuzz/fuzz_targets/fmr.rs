//! The ISO/IEC 19794-2 and ANSI INCITS 378 readers on arbitrary bytes: they
//! must never panic, and what the ISO reader accepts must write back and
//! read back as the same finger views.
#![no_main]

use std::path::Path;

use hitdex_formats::fingerprint::fmr::{read, write_iso, Standard};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = Path::new("fuzz.fmr");
    let _ = read(data, Standard::Ansi2004, source);
    if let Ok(record) = read(data, Standard::Iso2005, source) {
        if record.views.is_empty() {
            return;
        }
        let written = write_iso(&record.views).expect("views read from ISO can be written");
        let back = read(&written, Standard::Iso2005, source).expect("written records read back");
        assert_eq!(back.views, record.views, "round trip");
    }
});
