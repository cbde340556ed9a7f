//! The CSV reader of the key-only categories (vehicle, phone, identity) on
//! arbitrary bytes: it must never panic (the `phonenumber` and Unicode
//! normalisation it calls included), and every value it accepts must be a
//! fixed point of its normaliser.
#![no_main]

use std::path::Path;

use hitdex_engine::index::container::Category;
use hitdex_engine::keyed::Field;
use hitdex_formats::keyed::{self, csv::read_bytes};
use hitdex_formats::Mode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else { return };
    let category = [Category::Vehicle, Category::Phone, Category::Identity][usize::from(which % 3)];
    let source = Path::new("fuzz.csv");
    let _ = read_bytes(bytes, source, category, Mode::Store, Some("DE"));
    if let Ok(rows) = read_bytes(bytes, source, category, Mode::Query, None) {
        for v in rows.iter().flat_map(|r| &r.values) {
            let again = match v.field {
                Field::Plate => keyed::plate(&v.text),
                Field::Vin => keyed::vin(&v.text),
                Field::Phone => keyed::phone(&v.text, None),
                Field::Identity => Ok(v.text.clone()),
            };
            assert_eq!(again.as_ref(), Ok(&v.text), "normalising a canonical value changes it");
        }
    }
});
