//! The one internal form of a finger minutiae template.
//!
//! Every format converts to and from this form (`hitdex-formats`), so the
//! conventions are fixed here once:
//!
//! - **Coordinates** are pixels with the origin at the top-left corner of
//!   the image, x to the right and y down (ISO/IEC 19794-2, ANSI INCITS
//!   378). NIST `xyt` puts the origin bottom-left with y up: `y = height -
//!   y_xyt`, as NBIS does.
//! - **Angles** are counted counter-clockwise (as seen on the image) from
//!   the x axis, in the ISO/ANSI sense of the minutia direction, and stored
//!   exactly in units of 1/128 degree: an ISO unit (360/256°) is 180 units,
//!   an ANSI unit (2°) 256, a degree 128, so every format's angle is held
//!   without loss. NIST `xyt` points the other way along the ridge (NBIS:
//!   "opposite direction from M1"): its angle plus 180°.

use std::fmt;

/// A minutia direction, exactly, in units of 1/128 degree in `0..FULL_TURN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Angle(u16);

impl Angle {
    /// Units in one degree.
    pub const PER_DEGREE: u32 = 128;
    /// Units in a full turn (360°).
    pub const FULL_TURN: u32 = 360 * Self::PER_DEGREE;
    /// Units in one ISO/IEC 19794-2 step (360/256° = 1.40625°).
    pub const ISO_STEP: u32 = Self::FULL_TURN / 256;
    /// Units in one ANSI INCITS 378 step (2°).
    pub const ANSI_STEP: u32 = 2 * Self::PER_DEGREE;

    /// The angle of `units` (1/128°), taken modulo a full turn.
    pub fn from_units(units: u32) -> Angle {
        Angle((units % Self::FULL_TURN) as u16)
    }

    /// The angle of whole `degrees`, modulo 360.
    pub fn from_degrees(degrees: u32) -> Angle {
        Angle::from_units(degrees % 360 * Self::PER_DEGREE)
    }

    /// The angle of an ISO/IEC 19794-2 angle byte (360/256° steps).
    pub fn from_iso(step: u8) -> Angle {
        Angle::from_units(u32::from(step) * Self::ISO_STEP)
    }

    /// The angle of an ANSI INCITS 378 angle byte (2° steps, 0 to 179).
    pub fn from_ansi(step: u8) -> Option<Angle> {
        (step < 180).then(|| Angle::from_units(u32::from(step) * Self::ANSI_STEP))
    }

    /// Units of 1/128 degree, `0..FULL_TURN`.
    pub fn units(self) -> u32 {
        u32::from(self.0)
    }

    /// Degrees, exactly (a multiple of 1/128).
    pub fn degrees(self) -> f64 {
        f64::from(self.0) / f64::from(Self::PER_DEGREE)
    }

    /// Radians.
    pub fn radians(self) -> f64 {
        self.degrees().to_radians()
    }

    /// The nearest whole degree, `0..360` (halves round up).
    pub fn round_degrees(self) -> u16 {
        Self::round(self.units(), Self::PER_DEGREE, 360) as u16
    }

    /// The nearest ISO/IEC 19794-2 step, `0..256`.
    pub fn round_iso(self) -> u8 {
        Self::round(self.units(), Self::ISO_STEP, 256) as u8
    }

    /// The nearest ANSI INCITS 378 step, `0..180`.
    pub fn round_ansi(self) -> u8 {
        Self::round(self.units(), Self::ANSI_STEP, 180) as u8
    }

    /// This angle plus a half turn.
    pub fn opposite(self) -> Angle {
        Angle::from_units(self.units() + Self::FULL_TURN / 2)
    }

    /// `units / step`, rounded to nearest, modulo `steps`.
    fn round(units: u32, step: u32, steps: u32) -> u32 {
        (units + step / 2) / step % steps
    }
}

impl fmt::Display for Angle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}°", self.degrees())
    }
}

/// What a minutia is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MinutiaKind {
    /// A ridge ending.
    Ending,
    /// A ridge bifurcation.
    Bifurcation,
    /// Another or unknown kind.
    #[default]
    Other,
}

/// One minutia: position, direction, kind and quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Minutia {
    /// Pixels from the left edge.
    pub x: u16,
    /// Pixels from the top edge.
    pub y: u16,
    /// Direction (see the module documentation).
    pub angle: Angle,
    /// Ending, bifurcation or other.
    pub kind: MinutiaKind,
    /// Quality 0–100 (0: not reported).
    pub quality: u8,
}

/// The minutiae of one finger impression, with what is known of its image.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    /// Image width in pixels (0: unknown).
    pub width: u16,
    /// Image height in pixels (0: unknown).
    pub height: u16,
    /// Horizontal resolution in pixels per centimetre (0: unknown; 500 ppi is 197).
    pub x_resolution: u16,
    /// Vertical resolution in pixels per centimetre.
    pub y_resolution: u16,
    /// Finger position code (ISO/IEC 19794-2 and ANSI/NIST: 0 unknown,
    /// 1 right thumb ... 10 left little finger).
    pub finger: u8,
    /// Impression type code (0 live-scan plain, 1 live-scan rolled, ...).
    pub impression: u8,
    /// Finger quality 0–100 (0: not reported).
    pub quality: u8,
    /// The minutiae.
    pub minutiae: Vec<Minutia>,
}

/// 500 pixels per inch in pixels per centimetre, as the standards round it.
pub const PPCM_500_PPI: u16 = 197;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_step_is_exact() {
        for step in 0..=255u8 {
            assert_eq!(Angle::from_iso(step).round_iso(), step);
        }
        for step in 0..180u8 {
            assert_eq!(Angle::from_ansi(step).unwrap().round_ansi(), step);
        }
        assert_eq!(Angle::from_ansi(180), None);
        for d in 0..360 {
            assert_eq!(Angle::from_degrees(d).round_degrees(), d as u16);
        }
        // 64 ISO steps are exactly 90°, 45 ANSI steps too.
        assert_eq!(Angle::from_iso(64), Angle::from_degrees(90));
        assert_eq!(Angle::from_ansi(45), Some(Angle::from_degrees(90)));
        assert_eq!(Angle::from_iso(1).degrees(), 1.40625);
    }

    #[test]
    fn rounding_wraps_at_a_full_turn() {
        // 359.5° is nearer 0° than 359°.
        let a = Angle::from_units(Angle::FULL_TURN - Angle::PER_DEGREE / 2);
        assert_eq!(a.round_degrees(), 0);
        assert_eq!(Angle::from_units(Angle::FULL_TURN - 1).round_iso(), 0);
        assert_eq!(Angle::from_degrees(359).round_ansi(), 0);
        assert_eq!(Angle::from_degrees(10).opposite(), Angle::from_degrees(190));
        assert_eq!(Angle::from_degrees(270).opposite(), Angle::from_degrees(90));
    }
}
