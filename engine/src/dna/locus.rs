//! The loci Hitdex knows, their canonical names, accepted spellings and
//! repeat unit.
//!
//! Loci are numbered in a fixed canonical order: the twelve loci of the
//! European Standard Set first (indices `0..ESS_COUNT`), then the other
//! internationally exchanged loci. Amelogenin, the sex marker, is kept apart:
//! it is never compared.

/// Number of comparable loci (Amelogenin excluded).
pub const LOCUS_COUNT: usize = 28;
/// The first `ESS_COUNT` loci are the European Standard Set.
pub const ESS_COUNT: usize = 12;

/// Static facts about one locus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocusInfo {
    /// Canonical name, as written in output.
    pub name: &'static str,
    /// Repeat unit length used for microvariant positions.
    pub repeat: u8,
}

const fn l(name: &'static str, repeat: u8) -> LocusInfo {
    LocusInfo { name, repeat }
}

/// All comparable loci in canonical order.
pub const LOCI: [LocusInfo; LOCUS_COUNT] = [
    l("D3S1358", 4),
    l("vWA", 4),
    l("D8S1179", 4),
    l("D21S11", 4),
    l("D18S51", 4),
    l("TH01", 4),
    l("FGA", 4),
    l("D1S1656", 4),
    l("D2S441", 4),
    l("D10S1248", 4),
    l("D12S391", 4),
    l("D22S1045", 4),
    l("TPOX", 4),
    l("CSF1PO", 4),
    l("D13S317", 4),
    l("D7S820", 4),
    l("D5S818", 4),
    l("D16S539", 4),
    l("D2S1338", 4),
    l("D19S433", 4),
    l("SE33", 4),
    l("Penta D", 5),
    l("Penta E", 5),
    l("FES", 4),
    l("F13A1", 4),
    l("F13B", 4),
    l("CD4", 5),
    l("GABA", 4),
];

/// Canonical name of the sex marker.
pub const AMELOGENIN: &str = "Amelogenin";

/// A comparable locus, by its index in [`LOCI`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Locus(u8);

impl Locus {
    /// The locus at canonical index `i`, if there is one.
    pub fn from_index(i: usize) -> Option<Locus> {
        (i < LOCUS_COUNT).then_some(Locus(i as u8))
    }

    /// Canonical index.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// Canonical name.
    pub fn name(self) -> &'static str {
        LOCI[self.index()].name
    }

    /// Repeat unit (5 for Penta D, Penta E and CD4, 4 elsewhere).
    pub fn repeat(self) -> u8 {
        LOCI[self.index()].repeat
    }

    /// Whether the locus belongs to the European Standard Set.
    pub fn is_ess(self) -> bool {
        self.index() < ESS_COUNT
    }

    /// Every comparable locus in canonical order.
    pub fn all() -> impl Iterator<Item = Locus> {
        (0..LOCUS_COUNT as u8).map(Locus)
    }

    /// Looks a locus up by any common spelling (`vWA`/`VWA`, `THO1`,
    /// `F13A01`, `FESFPS`, `Penta_D`/`PENTA D`, ...). Returns `None` for
    /// Amelogenin (see [`is_amelogenin`](Self::is_amelogenin)) and unknown names.
    pub fn parse(name: &str) -> Option<Locus> {
        let key = normalise(name);
        let alias = match key.as_str() {
            "THO1" => "TH01",
            "F13A01" => "F13A1",
            "FESFPS" => "FES",
            other => other,
        };
        LOCI.iter()
            .position(|info| normalise(info.name) == alias)
            .map(|i| Locus(i as u8))
    }

    /// Whether `name` is a spelling of Amelogenin (`Amelogenin`, `AMEL`, `Amel`).
    pub fn is_amelogenin(name: &str) -> bool {
        matches!(normalise(name).as_str(), "AMELOGENIN" | "AMEL")
    }
}

/// Upper-case, without spaces, underscores, hyphens, dots or slashes.
fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '.' | '/'))
        .flat_map(char::to_uppercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_spellings_map_to_one_canonical_name() {
        for (spelling, canonical) in [
            ("vWA", "vWA"),
            ("VWA", "vWA"),
            ("THO1", "TH01"),
            ("TH01", "TH01"),
            ("F13A01", "F13A1"),
            ("FESFPS", "FES"),
            ("FES/FPS", "FES"),
            ("Penta_D", "Penta D"),
            ("PENTA D", "Penta D"),
            ("penta e", "Penta E"),
            ("d21s11", "D21S11"),
        ] {
            assert_eq!(Locus::parse(spelling).map(Locus::name), Some(canonical), "{spelling}");
        }
        assert_eq!(Locus::parse("D6S1043"), None);
        assert_eq!(Locus::parse("Amelogenin"), None);
        assert!(Locus::is_amelogenin("AMEL"));
    }

    #[test]
    fn ess_loci_come_first_and_repeat_units_are_right() {
        assert!(Locus::all().take(ESS_COUNT).all(|l| l.is_ess() && l.repeat() == 4));
        for name in ["Penta D", "Penta E", "CD4"] {
            assert_eq!(Locus::parse(name).unwrap().repeat(), 5);
        }
    }
}
