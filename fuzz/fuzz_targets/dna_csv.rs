//! The DNA CSV reader on arbitrary bytes: it must never panic, and whatever
//! it accepts as profiles to store must write back and read back identical.
#![no_main]

use std::path::Path;

use hitdex_engine::dna::Locus;
use hitdex_formats::dna_csv::{read_bytes, Layout, Mode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = Path::new("fuzz.csv");
    // Queries: any answer but a panic (bad bytes get an error naming the line).
    let _ = read_bytes(data, source, Mode::Query);
    if let Ok(profiles) = read_bytes(data, source, Mode::Store) {
        let loci: Vec<Locus> = Locus::all().collect();
        let layout = Layout::new(&loci).with_amelogenin(true);
        let mut written = Vec::new();
        layout.write_header(&mut written).expect("writing to memory");
        layout.write_profiles(&mut written, &profiles).expect("writing to memory");
        let back = read_bytes(&written, source, Mode::Store).expect("written profiles read back");
        assert_eq!(back, profiles, "round trip");
    }
});
