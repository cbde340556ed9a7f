//! Finger minutiae records: ISO/IEC 19794-2:2005 (read and write) and
//! ANSI INCITS 378-2004 (read).
//!
//! Both are a record header then one or more finger views, each a view
//! header, six bytes per minutia and an extended data block; big-endian
//! throughout. They differ in three places, which [`Standard`] names:
//!
//! | | ISO/IEC 19794-2:2005 | ANSI INCITS 378-2004 |
//! |---|---|---|
//! | record length | 4 bytes | 2 bytes, or 0 then 4 bytes |
//! | after the length | — | CBEFF product identifier, 4 bytes |
//! | angle unit | 360/256° | 2° (0–179) |
//!
//! A minutia is `type:2 x:14`, `reserved:2 y:14`, angle, quality; type 1
//! is a ridge ending, 2 a bifurcation, 0 other. Coordinates are pixels from
//! the top-left corner; the angle is counter-clockwise, as the engine's
//! [`Template`] holds it, so reading is exact. Extended data (ridge counts,
//! cores and deltas, vendor data) is checked for length and skipped.
//!
//! Some records in use state an extended data block that runs past the end
//! of the record (NIST's own `fmr.iso2005` sample, by one byte), or leave
//! bytes between the last view and the stated end (`fmr.ansi2004`, two).
//! Both are accepted and reported in [`Record::notes`]; anything else that
//! disagrees with the stated lengths is an error naming the byte offset and
//! the field.

use std::path::{Path, PathBuf};

use hitdex_engine::fingerprint::{Angle, Minutia, MinutiaKind, Template};

/// Which standard a record follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standard {
    /// ISO/IEC 19794-2:2005.
    Iso2005,
    /// ANSI INCITS 378-2004.
    Ansi2004,
}

/// A finger minutiae record: its finger views as templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The standard it follows.
    pub standard: Standard,
    /// Capture equipment identifier (12 bits) and compliance (4 bits).
    pub equipment: u16,
    /// One template per finger view, in record order.
    pub views: Vec<Template>,
    /// What was accepted leniently (see the module documentation).
    pub notes: Vec<String>,
}

/// Why a record cannot be read or written. Displayed as
/// `file: byte N (field): problem`.
#[derive(Debug, thiserror::Error)]
#[error("{}: byte {offset} ({field}): {problem}", path.display())]
pub struct FmrError {
    /// The file (or the name given to [`read`]).
    pub path: PathBuf,
    /// Offset of the field in the record.
    pub offset: usize,
    /// The field, e.g. `finger view 2, minutia 7, x`.
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

const MAGIC: &[u8; 4] = b"FMR\0";
const VERSION_20: &[u8; 4] = b" 20\0";
const MINUTIA_BYTES: usize = 6;

/// Big-endian reads over a record, each naming its field on failure.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    source: &'a Path,
}

impl<'a> Reader<'a> {
    fn error(&self, offset: usize, field: impl Into<String>, problem: impl Into<String>) -> FmrError {
        FmrError { path: self.source.to_path_buf(), offset, field: field.into(), problem: problem.into() }
    }

    fn take(&mut self, n: usize, field: &dyn Fn() -> String) -> Result<&'a [u8], FmrError> {
        match self.bytes.get(self.at..self.at + n) {
            Some(b) => {
                self.at += n;
                Ok(b)
            }
            None => Err(self.error(self.at, field(), format!("the record ends after {} bytes; {n} more were expected", self.bytes.len()))),
        }
    }

    fn u8(&mut self, field: &dyn Fn() -> String) -> Result<u8, FmrError> {
        Ok(self.take(1, field)?[0])
    }

    fn u16(&mut self, field: &dyn Fn() -> String) -> Result<u16, FmrError> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, field: &dyn Fn() -> String) -> Result<u32, FmrError> {
        let b = self.take(4, field)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// A field name for a reader call.
fn name(s: &'static str) -> impl Fn() -> String {
    move || s.to_string()
}

/// Reads a record of `standard`; `source` names it in errors.
///
/// # Errors
/// [`FmrError`] for a wrong magic or version, lengths that disagree with
/// the bytes, coordinates outside the stated image, angles, qualities or
/// minutia types out of range.
pub fn read(bytes: &[u8], standard: Standard, source: &Path) -> Result<Record, FmrError> {
    let mut r = Reader { bytes, at: 0, source };
    if r.take(4, &name("format identifier"))? != MAGIC {
        return Err(r.error(0, "format identifier", "not a finger minutiae record (expected \"FMR\\0\")"));
    }
    let version = r.take(4, &name("version"))?;
    if version != VERSION_20 {
        return Err(r.error(4, "version", format!("version {:?} is not supported (expected \" 20\": ISO/IEC 19794-2:2005 or ANSI INCITS 378-2004)", String::from_utf8_lossy(&version[..3]))));
    }
    let length = match standard {
        Standard::Iso2005 => r.u32(&name("record length"))? as usize,
        Standard::Ansi2004 => match r.u16(&name("record length"))? {
            0 => r.u32(&name("record length (long form)"))? as usize,
            n => usize::from(n),
        },
    };
    if length != bytes.len() {
        let problem = if length > bytes.len() { "the record is truncated" } else { "bytes follow the record" };
        return Err(r.error(8, "record length", format!("the record says {length} bytes but there are {}: {problem}", bytes.len())));
    }
    if standard == Standard::Ansi2004 {
        r.u32(&name("CBEFF product identifier"))?;
    }
    let equipment = r.u16(&name("capture equipment"))?;
    let width = r.u16(&name("image width"))?;
    let height = r.u16(&name("image height"))?;
    let x_resolution = r.u16(&name("horizontal resolution"))?;
    let y_resolution = r.u16(&name("vertical resolution"))?;
    let count = r.u8(&name("number of finger views"))?;
    r.u8(&name("reserved byte"))?;
    let mut record = Record { standard, equipment, views: Vec::with_capacity(usize::from(count)), notes: Vec::new() };
    for v in 1..=count {
        let last = v == count;
        let view = |what: &'static str| move || format!("finger view {v}, {what}");
        let finger = r.u8(&view("finger position"))?;
        let kind = r.u8(&view("view and impression type"))?;
        let quality = r.u8(&view("finger quality"))?;
        if quality > 100 {
            return Err(r.error(r.at - 1, view("finger quality")(), format!("quality {quality} is above 100")));
        }
        let n = r.u8(&view("number of minutiae"))?;
        let mut template = Template { width, height, x_resolution, y_resolution, finger, impression: kind & 0x0f, quality, minutiae: Vec::with_capacity(usize::from(n)) };
        for m in 1..=n {
            template.minutiae.push(read_minutia(&mut r, standard, (width, height), v, m)?);
        }
        let field = view("extended data length");
        let ext = usize::from(r.u16(&field)?);
        let remaining = bytes.len() - r.at;
        if ext > remaining && last {
            record.notes.push(format!("finger view {v}: the extended data block states {ext} bytes but only {remaining} remain in the record; accepted (it is skipped)"));
            r.at = bytes.len();
        } else {
            r.take(ext, &view("extended data"))?;
        }
        record.views.push(template);
    }
    if r.at != bytes.len() {
        record.notes.push(format!("{} bytes inside the stated record length follow the last finger view; ignored", bytes.len() - r.at));
    }
    Ok(record)
}

fn read_minutia(r: &mut Reader<'_>, standard: Standard, (width, height): (u16, u16), v: u8, m: u8) -> Result<Minutia, FmrError> {
    let field = |what: &'static str| move || format!("finger view {v}, minutia {m}, {what}");
    let at = r.at;
    let tx = r.u16(&field("type and x"))?;
    let y = r.u16(&field("y"))? & 0x3fff;
    let angle = r.u8(&field("angle"))?;
    let quality = r.u8(&field("quality"))?;
    let x = tx & 0x3fff;
    let kind = match tx >> 14 {
        0 => MinutiaKind::Other,
        1 => MinutiaKind::Ending,
        2 => MinutiaKind::Bifurcation,
        _ => return Err(r.error(at, field("type")(), "minutia type 3 is reserved")),
    };
    if width > 0 && x >= width {
        return Err(r.error(at, field("x")(), format!("x {x} is outside the image width {width}")));
    }
    if height > 0 && y >= height {
        return Err(r.error(at + 2, field("y")(), format!("y {y} is outside the image height {height}")));
    }
    let angle = match standard {
        Standard::Iso2005 => Angle::from_iso(angle),
        Standard::Ansi2004 => Angle::from_ansi(angle).ok_or_else(|| r.error(at + 4, field("angle")(), format!("angle {angle} is above 179 (2° units)")))?,
    };
    if quality > 100 {
        return Err(r.error(at + 5, field("quality")(), format!("quality {quality} is above 100")));
    }
    Ok(Minutia { x, y, angle, kind, quality })
}

/// Writes `views` as one ISO/IEC 19794-2:2005 record, without extended
/// data. Image size and resolution come from the first view. Angles are
/// rounded to the nearest 360/256° (exact for angles read from ISO).
///
/// # Errors
/// [`FmrError`] (with `path` empty) if there are no views or more than
/// 255, a view has more than 255 minutiae, a coordinate does not fit in
/// 14 bits or lies outside the stated image, or the views disagree on the
/// image.
pub fn write_iso(views: &[Template]) -> Result<Vec<u8>, FmrError> {
    let fail = |field: String, problem: String| FmrError { path: PathBuf::new(), offset: 0, field, problem };
    let Some(first) = views.first() else { return Err(fail("number of finger views".into(), "a record needs at least one finger view".into())) };
    let count = u8::try_from(views.len()).map_err(|_| fail("number of finger views".into(), format!("{} views; at most 255 fit", views.len())))?;
    let mut out = Vec::with_capacity(26 + views.iter().map(|t| 6 + t.minutiae.len() * MINUTIA_BYTES).sum::<usize>());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(VERSION_20);
    out.extend_from_slice(&[0; 4]); // length, set below
    out.extend_from_slice(&0u16.to_be_bytes());
    for v in [first.width, first.height, first.x_resolution, first.y_resolution] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(&[count, 0]);
    for (v, t) in views.iter().enumerate() {
        if (t.width, t.height, t.x_resolution, t.y_resolution) != (first.width, first.height, first.x_resolution, first.y_resolution) {
            return Err(fail(format!("finger view {}", v + 1), "views of one record share the image size and resolution".into()));
        }
        let n = u8::try_from(t.minutiae.len()).map_err(|_| fail(format!("finger view {}", v + 1), format!("{} minutiae; at most 255 fit", t.minutiae.len())))?;
        out.extend_from_slice(&[t.finger, t.impression & 0x0f, t.quality.min(100), n]);
        for (i, m) in t.minutiae.iter().enumerate() {
            if m.x > 0x3fff || m.y > 0x3fff {
                return Err(fail(format!("finger view {}, minutia {}", v + 1, i + 1), format!("({}, {}) does not fit in 14 bits", m.x, m.y)));
            }
            // What the reader would refuse is not written.
            if (t.width > 0 && m.x >= t.width) || (t.height > 0 && m.y >= t.height) {
                return Err(fail(format!("finger view {}, minutia {}", v + 1, i + 1), format!("({}, {}) is outside the image ({} × {})", m.x, m.y, t.width, t.height)));
            }
            let kind: u16 = match m.kind {
                MinutiaKind::Other => 0,
                MinutiaKind::Ending => 1,
                MinutiaKind::Bifurcation => 2,
            };
            out.extend_from_slice(&(kind << 14 | m.x).to_be_bytes());
            out.extend_from_slice(&m.y.to_be_bytes());
            out.extend_from_slice(&[m.angle.round_iso(), m.quality.min(100)]);
        }
        out.extend_from_slice(&0u16.to_be_bytes());
    }
    let length = u32::try_from(out.len()).map_err(|_| fail("record length".into(), "the record exceeds 4 GiB".into()))?;
    out[8..12].copy_from_slice(&length.to_be_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_file(path: &Path, standard: Standard) -> Result<Record, FmrError> {
        read(&std::fs::read(path).unwrap(), standard, path)
    }

    #[test]
    fn nist_iso_sample_reads_with_its_overlong_core_delta_block_noted() {
        let Some(d) = crate::fingerprint::test_data("nist_iso_sample_reads_with_its_overlong_core_delta_block_noted") else { return };
        let r = read_file(&d.join("format-samples/fmr.iso2005"), Standard::Iso2005).unwrap();
        assert_eq!(r.views.len(), 2);
        let v = &r.views[0];
        assert_eq!((v.width, v.height, v.x_resolution, v.finger, v.quality), (512, 512, 197, 7, 90));
        assert_eq!(v.minutiae.len(), 27);
        // First minutia: 40 64 00 0e 50 5a: ending at (100, 14), angle 0x50 = 80 × 1.40625° = 112.5°, quality 90.
        assert_eq!(v.minutiae[0], Minutia { x: 100, y: 14, angle: Angle::from_iso(0x50), kind: MinutiaKind::Ending, quality: 90 });
        assert_eq!(v.minutiae[0].angle.degrees(), 112.5);
        assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
        assert!(r.notes[0].contains("finger view 2"), "{:?}", r.notes);
    }

    #[test]
    fn nist_ansi_sample_reads_and_agrees_with_the_iso_one() {
        let Some(d) = crate::fingerprint::test_data("nist_ansi_sample_reads_and_agrees_with_the_iso_one") else { return };
        let ansi = read_file(&d.join("format-samples/fmr.ansi2004"), Standard::Ansi2004).unwrap();
        assert_eq!(ansi.views.len(), 3);
        assert_eq!(ansi.views.iter().map(|v| v.minutiae.len()).collect::<Vec<_>>(), [27, 22, 28]);
        assert_eq!(ansi.notes, ["2 bytes inside the stated record length follow the last finger view; ignored"]);
        // The same first view as the ISO sample: same points, angle 0x38 × 2° = 112°
        // where ISO says 112.5°: the two units cannot both hold one value.
        assert_eq!(ansi.views[0].minutiae[0], Minutia { x: 100, y: 14, angle: Angle::from_degrees(112), kind: MinutiaKind::Ending, quality: 90 });
        let iso = read_file(&d.join("format-samples/fmr.iso2005"), Standard::Iso2005).unwrap();
        for (a, i) in ansi.views[0].minutiae.iter().zip(&iso.views[0].minutiae) {
            assert_eq!((a.x, a.y, a.kind), (i.x, i.y, i.kind));
            let diff = (a.angle.units() as i64 - i.angle.units() as i64).rem_euclid(Angle::FULL_TURN as i64);
            assert!(diff.min(Angle::FULL_TURN as i64 - diff) <= (Angle::ANSI_STEP / 2 + Angle::ISO_STEP / 2) as i64, "{a:?} {i:?}");
        }
    }

    #[test]
    fn other_versions_are_named_not_misread() {
        let Some(d) = crate::fingerprint::test_data("other_versions_are_named_not_misread") else { return };
        let err = read_file(&d.join("format-samples/fmr.ansi2007"), Standard::Ansi2004).unwrap_err();
        assert!(err.to_string().contains("version \"030\" is not supported"), "{err}");
    }

    #[test]
    fn every_fvc2002_iso_record_reads_and_round_trips() {
        let Some(d) = crate::fingerprint::test_data("every_fvc2002_iso_record_reads_and_round_trips") else { return };
        let mut n = 0;
        for db in 1..=4 {
            let dir = d.join(format!("fvc2002/DB{db}_B/iso"));
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let r = read_file(&path, Standard::Iso2005).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(r.views.len(), 1);
                assert!(r.notes.is_empty(), "{path:?}: {:?}", r.notes);
                let t = &r.views[0];
                assert_eq!((t.width, t.height, t.x_resolution), (300, 400, 197), "{path:?}");
                assert!(t.minutiae.len() >= 5, "{path:?}");
                let written = write_iso(&r.views).unwrap();
                assert_eq!(written, std::fs::read(&path).unwrap(), "{path:?}: written back byte for byte");
                n += 1;
            }
        }
        assert_eq!(n, 320);
    }

    fn sample_template() -> Template {
        let minutiae = (0..40u16).map(|i| Minutia { x: i * 7, y: 399 - i * 3, angle: Angle::from_iso((i * 37 % 256) as u8), kind: [MinutiaKind::Ending, MinutiaKind::Bifurcation, MinutiaKind::Other][usize::from(i % 3)], quality: (i * 2) as u8 }).collect();
        Template { width: 300, height: 400, x_resolution: 197, y_resolution: 197, finger: 3, impression: 1, quality: 60, minutiae }
    }

    #[test]
    fn written_records_read_back_identical() {
        let t = sample_template();
        let mut other = t.clone();
        other.finger = 4;
        other.minutiae.truncate(3);
        let bytes = write_iso(&[t.clone(), other.clone()]).unwrap();
        let back = read(&bytes, Standard::Iso2005, Path::new("mem")).unwrap();
        assert_eq!(back.views, vec![t, other]);
    }

    #[test]
    fn damaged_records_give_errors_naming_the_field_never_a_panic() {
        let bytes = write_iso(&[sample_template()]).unwrap();
        for len in 0..bytes.len() {
            let err = read(&bytes[..len], Standard::Iso2005, Path::new("t.iso")).unwrap_err();
            assert!(err.to_string().starts_with("t.iso: byte "), "{err}");
        }
        for at in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[at] ^= 1 << bit;
                let _ = read(&b, Standard::Iso2005, Path::new("t.iso"));
                let _ = read(&b, Standard::Ansi2004, Path::new("t.iso"));
            }
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(read(&long, Standard::Iso2005, Path::new("t.iso")).unwrap_err().to_string().contains("bytes follow the record"));
        let mut outside = bytes.clone();
        outside[28..30].copy_from_slice(&(300u16 | 1 << 14).to_be_bytes());
        let err = read(&outside, Standard::Iso2005, Path::new("t.iso")).unwrap_err();
        assert_eq!(err.to_string(), "t.iso: byte 28 (finger view 1, minutia 1, x): x 300 is outside the image width 300");
        let mut quality = bytes;
        quality[26] = 101;
        let err = read(&quality, Standard::Iso2005, Path::new("t.iso")).unwrap_err();
        assert_eq!(err.to_string(), "t.iso: byte 26 (finger view 1, finger quality): quality 101 is above 100");
    }
}
