use proptest::prelude::*;

use super::*;

#[test]
fn plates_written_differently_are_one_plate() {
    for variant in ["B-AB 123", "b ab 123", "BAB123", " B.AB-123 ", "Ｂ－ＡＢ１２３", "B‐AB·123"] {
        assert_eq!(plate(variant).unwrap(), "BAB123", "{variant}");
    }
    // Cyrillic look-alikes (a Bulgarian plate typed on a Cyrillic keyboard).
    assert_eq!(plate("СА 1234 ВХ").unwrap(), "CA1234BX");
    assert_eq!(plate("са 1234 вх").unwrap(), "CA1234BX");
    // Croatian diacritics.
    assert_eq!(plate("ČK 123-AB").unwrap(), "CK123AB");
    assert_ne!(plate("B-AB 123").unwrap(), plate("B-AB 124").unwrap());
}

#[test]
fn bad_plates_are_errors() {
    for bad in ["", "  - ", "AB#12", "ЖК 123", "ABCDEFGHIJKLMNOP"] {
        let e = plate(bad).unwrap_err();
        assert_eq!(e.column, "plate", "{bad}: {e}");
    }
}

#[test]
fn vin_check_digit_is_checked_in_north_america_only() {
    // Real VINs with correct check digits (X stands for 10).
    assert_eq!(vin("1M8GDM9AXKP042788").unwrap(), "1M8GDM9AXKP042788");
    assert_eq!(vin("1hgcm82633a004352").unwrap(), "1HGCM82633A004352");
    assert_eq!(vin("1HG CM82 633A 004352").unwrap(), "1HGCM82633A004352");
    assert_eq!(vin_check_digit(b"1M8GDM9AXKP042788"), 'X');
    // One character changed: the check digit no longer fits.
    let e = vin("1M8GDM9AXKP042789").unwrap_err();
    assert!(e.problem.contains("check digit") && e.problem.contains("expected"), "{e}");
    assert!(vin("2T1BURHE0JC074123").unwrap_err().problem.contains("expected 9"));
    // A European VIN has no check digit at position 9 (a Z here): accepted.
    assert_eq!(vin("WVWZZZ1JZXW000001").unwrap(), "WVWZZZ1JZXW000001");
    // Japanese VIN (J): not checked.
    assert!(vin("JH4KA7561PC008260").is_ok());
}

#[test]
fn malformed_vins_are_errors() {
    assert!(vin("1M8GDM9AXKP04278").unwrap_err().problem.contains("17"));
    assert!(vin("1M8GDM9AXKP0427888").unwrap_err().problem.contains("17"));
    assert!(vin("1M8GDM9AXKPO42788").unwrap_err().problem.contains("never holds O"));
    assert!(vin("WVWZZZ1JZXW00000#").is_err());
}

#[test]
fn phone_numbers_national_and_international_are_equal() {
    let e164 = "+493012345678";
    for (text, region) in [
        ("+49 30 12345678", None),
        ("0049 30 12345678", None),
        ("030 12345678", Some("DE")),
        ("030/123 456-78", Some("de")),
        ("(030) 1234 5678", Some("DE")),
        ("+49 (0)30 12345678", Some("FR")),
        ("tel:+49-30-12345678", None),
    ] {
        assert_eq!(phone(text, region).unwrap(), e164, "{text} {region:?}");
    }
    assert_eq!(phone("06 12 34 56 78", Some("FR")).unwrap(), "+33612345678");
    assert_eq!(phone("+33 6 12 34 56 78", None).unwrap(), "+33612345678");
    assert_eq!(phone("(202) 555-0123", Some("US")).unwrap(), "+12025550123");
    assert_ne!(phone("030 12345678", Some("DE")).unwrap(), phone("030 12345679", Some("DE")).unwrap());
}

#[test]
fn bad_phone_numbers_are_errors() {
    assert!(phone("030 12345678", None).unwrap_err().problem.contains("needs a region"));
    assert_eq!(phone("030 12345678", Some("XX")).unwrap_err().column, "region");
    assert!(phone("hello", Some("DE")).is_err());
    assert!(phone("+49 1", None).is_err());
    assert!(phone("+999 123456789", None).is_err());
}

#[test]
fn names_differing_in_diacritics_case_and_spacing_are_equal() {
    let n = |t: &str| name(t, "family_name").unwrap();
    assert_eq!(n("Müller"), "muller");
    assert_eq!(n("MULLER"), n("Müller"));
    assert_eq!(n("Muller"), n("Müller"));
    assert_eq!(n("MÜLLER"), n("muller"));
    assert_eq!(n("José"), n("Jose"));
    assert_eq!(n("Jose\u{301}"), n("José"), "decomposed and precomposed é");
    assert_eq!(n("Jean-Pierre"), n("jean pierre"));
    assert_eq!(n("  Jean   Pierre "), n("JeanPierre"));
    assert_eq!(n("O'Brien"), n("OBRIEN"));
    assert_eq!(n("O’Brien"), n("O'Brien"));
    assert_eq!(n("Straße"), n("STRASSE"));
    assert_eq!(n("Łukasz"), "lukasz");
    assert_eq!(n("Søren"), "soren");
    assert_eq!(n("Ægir"), "aegir");
    assert_eq!(n("ΟΔΥΣΣΕΑΣ"), n("οδυσσεασ"));
    assert_eq!(n("İLKER"), n("ilker"));
    // Transliterations are not equated.
    assert_ne!(n("Mueller"), n("Müller"));
    assert_ne!(n("Muller"), n("Miller"));
}

#[test]
fn names_with_other_characters_are_errors() {
    for bad in ["Müller2", "a@b", "x\u{0}y"] {
        let e = name(bad, "given_names").unwrap_err();
        assert_eq!(e.column, "given_names", "{bad}");
    }
}

#[test]
fn identities_equal_only_with_the_same_date_of_birth() {
    let a = identity_value("Müller", "José", "1980-02-29").unwrap();
    assert_eq!(a, identity_value("MULLER", "JOSE", "1980-02-29").unwrap());
    assert_eq!(a, identity_value(" muller ", "jose", " 1980-02-29").unwrap());
    assert_ne!(a, identity_value("Müller", "José", "1980-03-01").unwrap());
    assert_ne!(a, identity_value("Müller", "Josef", "1980-02-29").unwrap());
    // Family and given names cannot trade letters.
    assert_ne!(identity_value("Ann", "Abel", "1980-01-01").unwrap(), identity_value("Anna", "Bel", "1980-01-01").unwrap());
    assert!(identity_value("", "José", "1980-02-29").is_err());
    assert!(identity_value("Tan", "", "1980-02-28").is_ok(), "given names may be empty");
}

#[test]
fn dates_of_birth_are_checked() {
    assert_eq!(date_of_birth("2000-02-29").unwrap(), "2000-02-29");
    for bad in ["1981-02-29", "1900-02-29", "1980-13-01", "1980-04-31", "1980-00-10", "1980-1-1", "01.02.1980", "1980-02-3x", "1849-12-31", "2999-01-01", ""] {
        let e = date_of_birth(bad).unwrap_err();
        assert_eq!(e.column, "date_of_birth", "{bad}");
    }
}

#[test]
fn vehicles_need_a_plate_or_a_vin_and_get_a_value_for_each() {
    let v = vehicle_values(Some("B-AB 123"), Some("1M8GDM9AXKP042788")).unwrap();
    assert_eq!(v.iter().map(|v| v.field).collect::<Vec<_>>(), [Field::Plate, Field::Vin]);
    assert_eq!(vehicle_values(Some(" "), Some("1M8GDM9AXKP042788")).unwrap().len(), 1);
    assert!(vehicle_values(None, Some("")).is_err());
}

proptest! {
    /// No text makes a normaliser panic, and what one accepts is a fixed
    /// point (normalising the canonical form again changes nothing).
    #[test]
    fn normalisers_never_panic_and_are_idempotent(text in "\\PC{0,24}", region in "[A-Za-z]{0,3}") {
        if let Ok(p) = plate(&text) {
            prop_assert_eq!(plate(&p).unwrap(), p);
        }
        if let Ok(v) = vin(&text) {
            prop_assert_eq!(vin(&v).unwrap(), v);
        }
        if let Ok(n) = name(&text, "family_name") {
            prop_assert_eq!(name(&n, "family_name").unwrap(), n);
        }
        if let Ok(p) = phone(&text, Some(&region)) {
            prop_assert_eq!(phone(&p, None).unwrap(), p);
        }
        let _ = date_of_birth(&text);
    }

    #[test]
    fn phone_parser_never_panics_on_digit_soup(text in "[+0-9 ()/.-]{0,30}", region in prop::sample::select(vec!["DE", "FR", "US", "GB", ""])) {
        if let Ok(p) = phone(&text, Some(region)) {
            prop_assert!(p.starts_with('+'));
        }
    }
}
