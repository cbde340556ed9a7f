//! The ANSI/NIST-ITL reader on arbitrary bytes: it must never panic (bad
//! bytes get an error naming the record and field).
#![no_main]

use std::path::Path;

use hitdex_formats::fingerprint::an2k::read;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read(data, Path::new("fuzz.an2k"));
});
