//! ANSI/NIST-ITL transaction files (traditional encoding, 2000 to 2013):
//! the finger minutiae of their Type-9 records, read into the engine's
//! [`Template`].
//!
//! A file is a run of records. The Type-1 record comes first and its field
//! 1.003 lists the type of every record after it, in order. A tagged record
//! is fields `T.NNN:value` separated by GS (0x1D), subfields by RS (0x1E)
//! and items by US (0x1F), ends with FS (0x1C), and states its length in
//! bytes in `T.001`; a binary record (Types 3 to 8) starts with its length
//! in four big-endian bytes. The reader moves from record to record by the
//! stated length only: image data (`T.999`, binary records) may hold any
//! byte, separators included. Records are numbered from 1 (the Type-1).
//!
//! # Minutiae and their conversion
//!
//! A Type-9 record can hold minutiae in three blocks; the first present in
//! this order is read ([`Encoding`]):
//!
//! 1. **M1** (INCITS 378, fields 9.126–9.150; ANSI/NIST-ITL 1-2011 §8.9.5):
//!    9.137 has one subfield `index~x~y~angle~type~quality` per minutia, x
//!    and y in pixels from the top-left corner, the angle in 2° units
//!    (0–179), type 0 other, 1 ending, 2 bifurcation, quality 0–100: the
//!    template's own conventions, taken as they are. 9.128/9.129 give the
//!    image size, 9.130–9.132 the resolution, 9.134 the finger, 9.135 its
//!    quality, 9.136 the count.
//! 2. **EFS** (Extended Feature Set, 9.300–9.399, 2011 on): 9.331 has
//!    `x~y~theta~type…`, x and y in 10 µm (0.01 mm) from the top-left corner
//!    of the region of interest, which 9.300 places at its horizontal and
//!    vertical offset (0.01 mm) in the image; theta in whole degrees
//!    counter-clockwise from the right, "up the ridge" of an ending and
//!    "down the valley" of a bifurcation: the M1 sense. Type E, B or X.
//! 3. **Legacy** NIST standard format (9.004 `S`): 9.012 has
//!    `index~XXXXYYYYTTT~quality~type~ridge counts…`, X and Y in 0.01 mm
//!    from the *bottom*-left corner, y up, and TTT in degrees pointing the
//!    other way along the ridge: NBIS `mindtct` (`to_type9.c`) writes "180
//!    degrees rotated" from its M1 direction, so the angle read is TTT +
//!    180°. Types A ending, B bifurcation, C compound and D undetermined
//!    (both other). The 0–63 quality (0 manual, 2 best) has no 0–100
//!    equivalent and is not carried.
//!
//! Lengths in 0.01 mm become pixels as `round(u · ppm / 100 000)`, `ppm`
//! being pixels per metre: from the image record with the Type-9's IDC
//! (Types 3–6: 19.69 px/mm, or the native resolution 1.011 if the ISR byte
//! says so; Types 13 and 14: 008 and 009, horizontal), else 1.011 (NSR), else
//! 19.69 px/mm (500 ppi, the standard's minimum scanning resolution) when
//! 1.011 is `00.00` or absent. A legacy y becomes `round(H − Y · ppm /
//! 100 000)`, H the height of that image, which undoes `mindtct`'s `Y =
//! H_mm − 0.01 − y_mm` (NBIS `dpyan2k` takes one pixel more off). **When no
//! image gives the height**, the template's height stays 0 (unknown) and y
//! is measured down from the highest minutia instead (y = 0 there): the
//! pattern keeps its shape and handedness and is only shifted, which a
//! matcher factors out. Resolutions in the template are pixels per cm,
//! `round(ppm / 100)`.
//!
//! The IDC reported is the record's own (9.002), which is what links it to
//! its image even where 1.003 says otherwise (as in `type9-15.an2k`). A
//! tag whose type is not the record's (`13.005` inside a Type-9 record of
//! `type9-13.an2k`) is skipped over but never looked up.

use std::collections::HashMap;
use std::fmt::Display;
use std::path::{Path, PathBuf};

use hitdex_engine::fingerprint::{Angle, Minutia, MinutiaKind, Template};

const FS: u8 = 0x1C;
const GS: u8 = 0x1D;
const RS: u8 = 0x1E;
const US: u8 = 0x1F;

/// 19.69 pixels per millimetre (500 ppi), in pixels per metre.
const DEFAULT_PPM: u32 = 19_690;

/// The block of a Type-9 record that the minutiae were read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// INCITS 378 ("M1") minutiae, fields 9.126–9.150.
    M1,
    /// Extended Feature Set minutiae, fields 9.300–9.399.
    Efs,
    /// The legacy NIST standard format, fields 9.004–9.012.
    Legacy,
}

/// The minutiae of one Type-9 record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerMinutiae {
    /// Position of the record in the file, from 1 (the Type-1 record).
    pub record: usize,
    /// The record's information designation character (9.002).
    pub idc: u32,
    /// The block read.
    pub encoding: Encoding,
    /// The minutiae in the template's conventions (module documentation).
    pub template: Template,
}

/// Why an ANSI/NIST-ITL file cannot be read, displayed as
/// `file: record 2 (Type-9), field 9.012, subfield 5: problem`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: record {record} (Type-{record_type}), {place}: {problem}", file.display())]
pub struct An2kError {
    /// The file (or the name given to [`read`]).
    pub file: PathBuf,
    /// Position of the record in the file, from 1.
    pub record: usize,
    /// The record's type, as field 1.003 lists it.
    pub record_type: u32,
    /// Where in the record: `field 9.012, subfield 5`, `length`, `end`, ...
    pub place: String,
    /// What is wrong.
    pub problem: String,
}

/// Reads the minutiae of every Type-9 record of an ANSI/NIST-ITL file;
/// records without minutiae are left out. `source` names the file in errors.
///
/// # Errors
///
/// Any content that is not a well-formed file as described in the module
/// documentation, naming record and field. No input makes it panic.
pub fn read(bytes: &[u8], source: &Path) -> Result<Vec<FingerMinutiae>, An2kError> {
    let file = Transaction::walk(bytes, source)?;
    let mut found = Vec::new();
    for record in &file.type9s {
        let idc = record.number(2, 255)?.unwrap_or(0);
        let Some(&encoding) = encodings(record).first() else {
            continue;
        };
        let template = decode(record, encoding, file.images.get(&idc), file.nsr)?;
        if !template.minutiae.is_empty() {
            let record = record.place.record;
            found.push(FingerMinutiae {
                record,
                idc,
                encoding,
                template,
            });
        }
    }
    Ok(found)
}

/// What the minutiae need from a file: its Type-9 records, its images by
/// IDC and its native scanning resolution (pixels per metre).
struct Transaction<'a> {
    type9s: Vec<Record<'a>>,
    images: HashMap<u32, Image>,
    nsr: Option<u32>,
}

impl<'a> Transaction<'a> {
    /// Walks the records that field 1.003 lists, by their stated lengths.
    fn walk(bytes: &'a [u8], source: &'a Path) -> Result<Self, An2kError> {
        let place = |record, kind| Place {
            file: source,
            record,
            kind,
        };
        let type1 = Record::parse(bytes, 0, place(1, 1))?;
        let kinds = type1.contents()?;
        let nsr = type1
            .get(11)
            .map(|v| resolution(first(v)).map_err(|p| type1.err(11, 0, p)));
        let nsr = nsr.transpose()?.filter(|&r| r > 0);
        let mut file = Transaction {
            type9s: Vec::new(),
            images: HashMap::new(),
            nsr,
        };
        let mut offset = type1.len;
        for (i, &kind) in kinds.iter().enumerate() {
            let place = place(i + 2, kind);
            if offset >= bytes.len() {
                return Err(place.err("header", "the file ends before this record"));
            }
            if (3..=8).contains(&kind) {
                let len = binary_len(&bytes[offset..]).map_err(|p| place.err("length", p))?;
                let record = &bytes[offset..offset + len];
                offset += len;
                if kind <= 6 && len >= 18 {
                    // Byte 12 (ISR): 0 for 19.69 px/mm, 1 for the native resolution.
                    let ppm = if record[12] == 0 { None } else { nsr };
                    let size = |at: usize| u16::from_be_bytes([record[at], record[at + 1]]);
                    let image = Image {
                        width: size(13),
                        height: size(15),
                        ppm,
                    };
                    file.images.entry(u32::from(record[4])).or_insert(image);
                }
                continue;
            }
            let record = Record::parse(bytes, offset, place)?;
            offset += record.len;
            if kind == 13 || kind == 14 {
                let idc = record.number(2, 255)?.unwrap_or(0);
                file.images.entry(idc).or_insert(record.image()?);
            } else if kind == 9 {
                file.type9s.push(record);
            }
        }
        if offset < bytes.len() {
            let last = place(kinds.len() + 1, kinds.last().copied().unwrap_or(1));
            let extra = bytes.len() - offset;
            return Err(last.err("end", format_args!("{extra} bytes follow the last record")));
        }
        Ok(file)
    }
}

/// The minutiae blocks present in a Type-9 record, in order of preference.
fn encodings(record: &Record) -> Vec<Encoding> {
    let has = |n| record.get(n).is_some();
    let standard = record.get(4).is_none_or(|f| f == b"S".as_slice());
    let blocks = [
        (Encoding::M1, has(136) || has(137)),
        (Encoding::Efs, has(331)),
        (Encoding::Legacy, standard && (has(10) || has(12))),
    ];
    blocks.into_iter().filter(|b| b.1).map(|b| b.0).collect()
}

/// The template of one block of a Type-9 record.
fn decode(
    r: &Record,
    block: Encoding,
    image: Option<&Image>,
    nsr: Option<u32>,
) -> Result<Template, An2kError> {
    let ppm = image.map_or(nsr, |i| i.ppm).unwrap_or(DEFAULT_PPM);
    let mut t = Template {
        width: image.map_or(0, |i| i.width),
        height: image.map_or(0, |i| i.height),
        x_resolution: per_cm(ppm),
        y_resolution: per_cm(ppm),
        finger: r.number(6, 255)?.unwrap_or(0) as u8,
        impression: r.number(3, 255)?.unwrap_or(0) as u8,
        ..Template::default()
    };
    let (count, list, stated) = match block {
        Encoding::M1 => {
            t.width = r.number(128, 65_535)?.map_or(t.width, |w| w as u16);
            t.height = r.number(129, 65_535)?.map_or(t.height, |h| h as u16);
            let slc = r.number(130, 2)?.unwrap_or(0);
            if let (Some(h), Some(v)) = (r.number(131, 99_999)?, r.number(132, 99_999)?) {
                t.x_resolution = per_metre(slc, h).map_or(t.x_resolution, per_cm);
                t.y_resolution = per_metre(slc, v).map_or(t.y_resolution, per_cm);
            }
            t.finger = r.number(134, 255)?.map_or(t.finger, |f| f as u8);
            // 254 and 255 mean "not available" and "failed": not reported.
            t.quality = r.number(135, 255)?.filter(|&q| q <= 100).unwrap_or(0) as u8;
            t.minutiae = r.each(137, m1_minutia)?;
            (136, 137, r.number(136, 9_999)?)
        }
        Encoding::Efs => {
            let roi = r
                .get(300)
                .map(|v| items(first_subfield(v)))
                .unwrap_or_default();
            let offset = |i: usize| match roi.get(i) {
                Some(o) if !o.is_empty() => number(o, "ROI offset", 99_999),
                _ => Ok(0),
            };
            let roi = (offset(2), offset(3));
            let roi = (
                roi.0.map_err(|p| r.err(300, 1, p))?,
                roi.1.map_err(|p| r.err(300, 1, p))?,
            );
            if let Some(fpp) = r.get(302) {
                let finger = number(first(fpp), "finger position", 255);
                t.finger = finger.map_err(|p| r.err(302, 1, p))? as u8;
            }
            t.minutiae = r.each(331, |s| efs_minutia(s, roi, ppm))?;
            return Ok(t);
        }
        Encoding::Legacy => {
            let found = r.each(12, |s| legacy_minutia(s, ppm))?;
            // Heights above the bottom edge, in 1/100 000 pixel, turned over
            // at the top of the image or, unknown, at the highest minutia.
            let top = match t.height {
                0 => found.iter().map(|m| m.1).max().unwrap_or(0),
                h => u64::from(h) * 100_000,
            };
            for (i, (mut m, up)) in found.into_iter().enumerate() {
                let fault = |p| r.err(12, i + 1, p);
                let y = (top + 50_000)
                    .checked_sub(up)
                    .ok_or_else(|| fault("above the image"))?;
                // A minutia on the bottom edge rounds to the row below the image.
                let y = if t.height > 0 {
                    (y / 100_000).min(u64::from(t.height) - 1)
                } else {
                    y / 100_000
                };
                m.y = u16::try_from(y).map_err(|_| fault("beyond 65 535 pixels"))?;
                t.minutiae.push(m);
            }
            (10, 12, r.number(10, 9_999)?)
        }
    };
    match stated {
        Some(n) if n as usize != t.minutiae.len() => {
            let found = t.minutiae.len();
            Err(r.err(
                count,
                0,
                format_args!("says {n} minutiae, field 9.{list:03} has {found}"),
            ))
        }
        _ => Ok(t),
    }
}

/// One 9.137 subfield: `index~x~y~angle~type~quality`.
fn m1_minutia(sub: &[u8]) -> Result<Minutia, String> {
    let [_, x, y, angle, kind, quality] = items(sub)[..] else {
        return Err(format!(
            "{} items, expected index~x~y~angle~type~quality",
            items(sub).len()
        ));
    };
    use MinutiaKind::{Bifurcation, Ending, Other};
    Ok(Minutia {
        x: number(x, "x", 65_535)? as u16,
        y: number(y, "y", 65_535)? as u16,
        angle: Angle::from_units(number(angle, "angle", 179)? * Angle::ANSI_STEP),
        kind: [Other, Ending, Bifurcation][number(kind, "type", 2)? as usize],
        quality: number(quality, "quality", 100)? as u8,
    })
}

/// One 9.331 subfield `x~y~theta~type…`, x and y in 0.01 mm from the region
/// of interest, which lies at `roi` (0.01 mm) in the image. A theta of 360
/// (NIST's own sample has one) is 0.
fn efs_minutia(sub: &[u8], roi: (u32, u32), ppm: u32) -> Result<Minutia, String> {
    let [x, y, theta, kind, ..] = items(sub)[..] else {
        return Err(format!(
            "{} items, expected x~y~theta~type",
            items(sub).len()
        ));
    };
    let kind = match kind {
        b"E" => MinutiaKind::Ending,
        b"B" => MinutiaKind::Bifurcation,
        b"X" => MinutiaKind::Other,
        _ => return Err(format!("type `{}` is not E, B or X", show(kind))),
    };
    Ok(Minutia {
        x: pixels(roi.0 + number(x, "x", 99_999)?, ppm)?,
        y: pixels(roi.1 + number(y, "y", 99_999)?, ppm)?,
        angle: Angle::from_degrees(number(theta, "theta", 360)?),
        kind,
        quality: 0,
    })
}

/// One 9.012 subfield, y still the height above the bottom edge in
/// 1/100 000 pixel.
fn legacy_minutia(sub: &[u8], ppm: u32) -> Result<(Minutia, u64), String> {
    let items = items(sub);
    let xyt = items.get(1).copied().unwrap_or_default();
    if xyt.len() != 11 {
        return Err(format!(
            "location `{}` is not 11 digits XXXXYYYYTTT",
            show(xyt)
        ));
    }
    if let Some(quality) = items.get(2) {
        number(quality, "quality", 63)?;
    }
    let kind = match items.get(3).copied() {
        Some(b"A") => MinutiaKind::Ending,
        Some(b"B") => MinutiaKind::Bifurcation,
        Some(b"C" | b"D") | None => MinutiaKind::Other,
        Some(other) => return Err(format!("type `{}` is not A, B, C or D", show(other))),
    };
    let x = pixels(number(&xyt[..4], "X", 9_999)?, ppm)?;
    let up = u64::from(number(&xyt[4..8], "Y", 9_999)?) * u64::from(ppm);
    let angle = Angle::from_degrees(number(&xyt[8..], "theta", 360)?).opposite();
    Ok((
        Minutia {
            x,
            y: 0,
            angle,
            kind,
            quality: 0,
        },
        up,
    ))
}

/// `hundredths` of a millimetre in whole pixels at `ppm` pixels per metre.
fn pixels(hundredths: u32, ppm: u32) -> Result<u16, String> {
    let pixels = (u64::from(hundredths) * u64::from(ppm) + 50_000) / 100_000;
    u16::try_from(pixels).map_err(|_| "position beyond 65 535 pixels".to_string())
}

/// Pixels per metre of a resolution `n` in scale units `slc` (1 per inch,
/// 2 per centimetre; 0, a pixel aspect ratio only, gives none).
fn per_metre(slc: u32, n: u32) -> Option<u32> {
    let ppm = match slc {
        1 => (n * 10_000 + 127) / 254,
        2 => n * 100,
        _ => 0,
    };
    (ppm > 0).then_some(ppm)
}

/// Pixels per centimetre of `ppm` pixels per metre (0 if out of range).
fn per_cm(ppm: u32) -> u16 {
    u16::try_from((ppm + 50) / 100).unwrap_or(0)
}

/// Size and resolution (pixels per metre) of an image record.
struct Image {
    width: u16,
    height: u16,
    ppm: Option<u32>,
}

/// A record's place in the file, for errors.
#[derive(Clone, Copy)]
struct Place<'a> {
    file: &'a Path,
    record: usize,
    kind: u32,
}

impl Place<'_> {
    fn err(&self, place: impl Display, problem: impl Display) -> An2kError {
        An2kError {
            file: self.file.to_path_buf(),
            record: self.record,
            record_type: self.kind,
            place: place.to_string(),
            problem: problem.to_string(),
        }
    }
}

/// A tagged record: its length and its fields `(type, number, value)`.
struct Record<'a> {
    place: Place<'a>,
    len: usize,
    fields: Vec<(u32, u32, &'a [u8])>,
}

impl<'a> Record<'a> {
    /// Reads the tagged record at `offset`: its stated length, then fields.
    fn parse(bytes: &'a [u8], offset: usize, place: Place<'a>) -> Result<Self, An2kError> {
        let rest = &bytes[offset.min(bytes.len())..];
        let header = rest
            .iter()
            .take(30)
            .position(|&b| b == GS || b == FS)
            .and_then(|end| {
                let (tag, len) = split_tag(&rest[..end])?;
                Some((tag, number(len, "", 999_999_999).ok()? as usize, end))
            });
        let Some(((kind, field), len, end)) = header else {
            let found = show(rest);
            return Err(place.err(
                "header",
                format_args!("expected `{}.001:`, found `{found}`", place.kind),
            ));
        };
        if (kind, field) != (place.kind, 1) {
            return Err(place.err(
                "header",
                format_args!("starts with field {kind}.{field:03}"),
            ));
        }
        if len <= end || len > rest.len() {
            let left = rest.len();
            return Err(place.err(
                "length",
                format_args!("{len} bytes stated, {left} left in the file"),
            ));
        }
        let Some((&FS, body)) = rest[..len].split_last() else {
            return Err(place.err(
                "length",
                format_args!("the {len} bytes stated do not end with FS"),
            ));
        };
        let mut fields: Vec<(u32, u32, &[u8])> = Vec::new();
        let mut left = body;
        while !left.is_empty() {
            let colon = left.iter().take(20).position(|&b| b == b':');
            let tag = colon.and_then(|c| Some((split_tag(&left[..=c])?.0, &left[c + 1..])));
            let Some(((kind, number), value)) = tag else {
                let after = fields.last().map_or("header".into(), |f| {
                    format!("after field {}.{:03}", f.0, f.1)
                });
                let found = show(left);
                return Err(place.err(
                    after,
                    format_args!("expected a tag `{}.NNN:`, found `{found}`", place.kind),
                ));
            };
            // Image data may hold any byte, separators too: it runs to the end.
            let end = match number {
                999 => value.len(),
                _ => value.iter().position(|&b| b == GS).unwrap_or(value.len()),
            };
            fields.push((kind, number, &value[..end]));
            left = value.get(end + 1..).unwrap_or_default();
        }
        Ok(Record { place, len, fields })
    }

    /// The value of field `number` of this record's type, if present.
    fn get(&self, number: u32) -> Option<&'a [u8]> {
        let field = self
            .fields
            .iter()
            .find(|f| (f.0, f.1) == (self.place.kind, number));
        field.map(|f| f.2)
    }

    fn err(&self, field: u32, subfield: usize, problem: impl Display) -> An2kError {
        let kind = self.place.kind;
        let sub = if subfield > 0 {
            format!(", subfield {subfield}")
        } else {
            String::new()
        };
        self.place
            .err(format_args!("field {kind}.{field:03}{sub}"), problem)
    }

    /// Field `field` as a number up to `max` (its first item), if present.
    fn number(&self, field: u32, max: u32) -> Result<Option<u32>, An2kError> {
        let parse = |v| number(first(v), "value", max).map_err(|p| self.err(field, 0, p));
        self.get(field).map(parse).transpose()
    }

    /// Every subfield of `field` decoded by `one`, errors naming the subfield.
    fn each<T>(
        &self,
        field: u32,
        one: impl Fn(&[u8]) -> Result<T, String>,
    ) -> Result<Vec<T>, An2kError> {
        let subfields = self
            .get(field)
            .into_iter()
            .flat_map(|v| v.split(|&b| b == RS));
        let decode = |(i, s)| one(s).map_err(|p| self.err(field, i + 1, p));
        subfields.enumerate().map(decode).collect()
    }

    /// The record types that field 1.003 lists after the Type-1 record.
    fn contents(&self) -> Result<Vec<u32>, An2kError> {
        let entries = self.each(3, |s| match items(s)[..] {
            [kind, idc] => Ok((
                number(kind, "record type", 99)?,
                number(idc, "count or IDC", 9_999)?,
            )),
            _ => Err(format!("{} items, expected type~IDC", items(s).len())),
        })?;
        match entries.split_first() {
            Some(((1, count), rest)) if *count as usize == rest.len() => {
                Ok(rest.iter().map(|e| e.0).collect())
            }
            Some(((1, count), rest)) => Err(self.err(
                3,
                1,
                format_args!("says {count} records, lists {}", rest.len()),
            )),
            _ => Err(self.err(3, 1, "missing, or not starting with `1~<count>`")),
        }
    }

    /// Size and resolution of a Type-13 or Type-14 image (fields 006–010).
    fn image(&self) -> Result<Image, An2kError> {
        let (width, height) = (self.number(6, 65_535)?, self.number(7, 65_535)?);
        let slc = self.number(8, 2)?.unwrap_or(0);
        let ppm = self.number(9, 99_999)?.and_then(|h| per_metre(slc, h));
        let size = |n: Option<u32>| n.unwrap_or(0) as u16;
        Ok(Image {
            width: size(width),
            height: size(height),
            ppm,
        })
    }
}

/// `T.NNN` and what follows the `:` after it.
fn split_tag(text: &[u8]) -> Option<((u32, u32), &[u8])> {
    let colon = text.iter().position(|&b| b == b':')?;
    let dot = text[..colon].iter().position(|&b| b == b'.')?;
    let kind = number(&text[..dot], "", 999).ok()?;
    let field = number(&text[dot + 1..colon], "", 999).ok()?;
    Some(((kind, field), &text[colon + 1..]))
}

/// The length of the binary record at the start of `rest`.
fn binary_len(rest: &[u8]) -> Result<usize, String> {
    let Some(&[a, b, c, d]) = rest.get(..4) else {
        return Err(format!(
            "{} bytes left, too few for the 4-byte length",
            rest.len()
        ));
    };
    let len = u32::from_be_bytes([a, b, c, d]) as usize;
    if len < 5 || len > rest.len() {
        return Err(format!(
            "{len} bytes stated, {} left in the file (5 at least)",
            rest.len()
        ));
    }
    Ok(len)
}

/// A resolution `NN.NN` in pixels per millimetre, as pixels per metre.
fn resolution(text: &[u8]) -> Result<u32, String> {
    let bad = || format!("`{}` is not pixels per mm like 19.69", show(text));
    let dot = text.iter().position(|&b| b == b'.').unwrap_or(text.len());
    let fraction = text.get(dot + 1..).unwrap_or_default();
    if fraction.len() > 3 || !fraction.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let thousandths = fraction
        .iter()
        .chain(b"000")
        .take(3)
        .fold(0, |n, &d| n * 10 + u32::from(d - b'0'));
    Ok(number(&text[..dot], "", 999).map_err(|_| bad())? * 1000 + thousandths)
}

/// A decimal number of at most 9 digits, up to `max`.
fn number(text: &[u8], what: &str, max: u32) -> Result<u32, String> {
    let digits = !text.is_empty() && text.len() <= 9 && text.iter().all(u8::is_ascii_digit);
    if digits {
        let n = text.iter().fold(0, |n, &d| n * 10 + u32::from(d - b'0'));
        if n <= max {
            return Ok(n);
        }
    }
    Err(format!(
        "{what} `{}` is not a number from 0 to {max}",
        show(text)
    ))
}

fn first_subfield(value: &[u8]) -> &[u8] {
    value.split(|&b| b == RS).next().unwrap_or_default()
}

/// The first item of the first subfield.
fn first(value: &[u8]) -> &[u8] {
    first_subfield(value)
        .split(|&b| b == US)
        .next()
        .unwrap_or_default()
}

fn items(subfield: &[u8]) -> Vec<&[u8]> {
    subfield.split(|&b| b == US).collect()
}

/// Up to 24 bytes of input, escaped, for messages.
fn show(text: &[u8]) -> String {
    let more = if text.len() > 24 { "…" } else { "" };
    format!("{}{more}", text[..text.len().min(24)].escape_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tagged record of `kind` from `fields` written `2:01|3:0|...`, with
    /// `~` for US and `^` for RS; its length is filled in.
    fn tagged(kind: u32, fields: &str) -> Vec<u8> {
        let mut body = Vec::new();
        for field in fields.split('|') {
            let (n, value) = field.split_once(':').unwrap_or_default();
            let value = value.replace('~', "\u{1f}").replace('^', "\u{1e}");
            body.extend(format!("\u{1d}{kind}.{n:0>3}:{value}").bytes());
        }
        body.push(FS);
        let mut len = body.len();
        loop {
            let head = format!("{kind}.001:{len}");
            if head.len() + body.len() == len {
                return [head.as_bytes(), &body].concat();
            }
            len = head.len() + body.len();
        }
    }

    /// A Type-1 record (NSR 19.69 px/mm) listing `records`, then them.
    fn file(records: &[(u32, Vec<u8>)]) -> Vec<u8> {
        let listed: String = records
            .iter()
            .enumerate()
            .map(|(i, r)| format!("^{}~{i:02}", r.0))
            .collect();
        let type1 = tagged(
            1,
            &format!("2:0500|3:1~{}{listed}|11:19.69|12:19.69", records.len()),
        );
        records
            .iter()
            .fold(type1, |out, r| [out, r.1.clone()].concat())
    }

    /// The fuzz seeds, small files with minutiae in each encoding.
    fn seeds() -> [(&'static str, Vec<u8>); 3] {
        // Three minutiae twice: M1 in pixels of a 400 x 500 image at 500
        // ppi, legacy as NBIS mindtct writes them: X = x / 19.685 px per mm
        // (100 -> 508), Y = 25.40 mm - 0.01 - y (50 -> 2285), TTT = 2 · angle
        // + 180 (45 -> 270). The image record comes after the Type-9.
        let both = tagged(
            9,
            "2:01|3:0|4:S|6:02|10:3|12:001~05082285270~0~A^002~12701015020~0~B^003~19810050180~0~D|\
             128:400|129:500|130:1|131:500|132:500|134:2|135:80|136:3|\
             137:1~100~50~45~1~60^2~250~300~100~2~80^3~390~490~0~0~0",
        );
        let image = tagged(
            14,
            "2:01|3:0|4:HITDEX|5:20240101|6:400|7:500|8:1|9:500|10:500|999:\u{1c}\u{1d}9.0",
        );
        // A 2 x 1 pixel Type-4 (IDC 2, ISR 0) and EFS minutiae in a region
        // of interest 1 mm right and 2 mm down of the image's corner.
        let type4 = vec![
            0, 0, 0, 20, 2, 0, 1, 255, 255, 255, 255, 255, 0, 0, 2, 0, 1, 0, FS, GS,
        ];
        let efs = tagged(
            9,
            "2:02|3:4|4:U|300:500~600~100~200|302:3~~~|331:0~0~90~E^250~120~359~B~5^10~10~0~X",
        );
        // Legacy minutiae of an image the file does not hold.
        let legacy = tagged(
            9,
            "2:00|3:4|4:S|10:2|12:001~01000200090~0~A~2,1^002~02000100045~5~B",
        );
        [
            ("m1-and-legacy.an2k", file(&[(9, both), (14, image)])),
            ("efs.an2k", file(&[(4, type4), (9, efs)])),
            ("legacy.an2k", file(&[(2, tagged(2, "2:00")), (9, legacy)])),
        ]
    }

    fn seed(name: &str) -> Vec<u8> {
        seeds()
            .into_iter()
            .find(|s| s.0 == name)
            .map(|s| s.1)
            .unwrap_or_default()
    }

    fn minutia(x: u16, y: u16, degrees: u32, kind: MinutiaKind, quality: u8) -> Minutia {
        Minutia {
            x,
            y,
            angle: Angle::from_degrees(degrees),
            kind,
            quality,
        }
    }

    #[test]
    fn m1_and_legacy_blocks_agree() {
        let bytes = seed("m1-and-legacy.an2k");
        let file = Transaction::walk(&bytes, Path::new("both")).expect("seed reads");
        let record = &file.type9s[0];
        assert_eq!(encodings(record), [Encoding::M1, Encoding::Legacy]);
        let m1 = decode(record, Encoding::M1, file.images.get(&1), file.nsr).expect("M1");
        let legacy =
            decode(record, Encoding::Legacy, file.images.get(&1), file.nsr).expect("legacy");
        assert_eq!(
            (m1.width, m1.height, m1.x_resolution, m1.finger, m1.quality),
            (400, 500, 197, 2, 80)
        );
        assert_eq!(
            (
                legacy.width,
                legacy.height,
                legacy.x_resolution,
                legacy.finger
            ),
            (400, 500, 197, 2)
        );
        assert_eq!(
            m1.minutiae[1],
            minutia(250, 300, 200, MinutiaKind::Bifurcation, 80)
        );
        assert_eq!(m1.minutiae.len(), legacy.minutiae.len());
        for (a, b) in m1.minutiae.iter().zip(&legacy.minutiae) {
            let turn = a.angle.units().abs_diff(b.angle.units());
            let turn = turn.min(Angle::FULL_TURN - turn);
            let near = a.x.abs_diff(b.x) <= 1 && a.y.abs_diff(b.y) <= 1 && turn <= Angle::ANSI_STEP;
            assert!(near && a.kind == b.kind, "{a:?} vs {b:?}");
        }
        let found = read(&bytes, Path::new("both")).expect("seed reads");
        assert_eq!(
            (
                found.len(),
                found[0].record,
                found[0].idc,
                found[0].encoding
            ),
            (1, 2, 1, Encoding::M1)
        );
    }

    #[test]
    fn efs_and_legacy_seeds_convert() {
        // (100 + 250) · 0.01 mm · 19.69 px/mm (the Type-4's ISR 0) = 68.9 px.
        let efs = read(&seed("efs.an2k"), Path::new("efs")).expect("seed reads");
        let t = &efs[0].template;
        assert_eq!(
            (efs[0].encoding, efs[0].idc, t.width, t.height, t.finger),
            (Encoding::Efs, 2, 2, 1, 3)
        );
        assert_eq!(
            t.minutiae[1],
            minutia(69, 63, 359, MinutiaKind::Bifurcation, 0)
        );
        // No image: y down from the highest minutia (Y 2.00 mm is y 0, Y
        // 1.00 mm 19.69 px lower); angles turned by 180°.
        let legacy = read(&seed("legacy.an2k"), Path::new("legacy")).expect("seed reads");
        let t = &legacy[0].template;
        assert_eq!(
            (legacy[0].record, t.height, t.x_resolution, t.impression),
            (3, 0, 197, 4)
        );
        let expected = [
            minutia(20, 0, 270, MinutiaKind::Ending, 0),
            minutia(39, 20, 225, MinutiaKind::Bifurcation, 0),
        ];
        assert_eq!(t.minutiae, expected);
    }

    #[test]
    fn errors_name_record_and_field() {
        let problem = |bytes: &[u8]| {
            read(bytes, Path::new("t.an2k"))
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        let edit =
            |name, from: &str, to: &str| String::from_utf8_lossy(&seed(name)).replace(from, to);
        let count = edit("legacy.an2k", "9.010:2", "9.010:3");
        let expected = "t.an2k: record 3 (Type-9), field 9.010: says 3 minutiae, field 9.012 has 2";
        assert_eq!(problem(count.as_bytes()), expected);
        let kind = edit("legacy.an2k", "\u{1f}B", "\u{1f}Q");
        let expected =
            "t.an2k: record 3 (Type-9), field 9.012, subfield 2: type `Q` is not A, B, C or D";
        assert_eq!(problem(kind.as_bytes()), expected);
        let angle = edit("m1-and-legacy.an2k", "\u{1f}100\u{1f}2", "\u{1f}190\u{1f}2");
        let expected =
            "record 2 (Type-9), field 9.137, subfield 2: angle `190` is not a number from 0 to 179";
        assert!(problem(angle.as_bytes()).ends_with(expected));
        let efs = seed("efs.an2k");
        assert!(problem(&efs[..efs.len() - 1]).contains("record 3 (Type-9), length: "));
        assert!(problem(&[&efs[..], b"x"].concat())
            .ends_with("record 3 (Type-9), end: 1 bytes follow the last record"));
        let expected =
            "record 2 (Type-4), length: 99 bytes stated, 6 left in the file (5 at least)";
        assert!(problem(&file(&[(4, vec![0, 0, 0, 99, 2, 0])])).ends_with(expected));
    }

    #[test]
    fn long_numbers_are_errors_not_overflows() {
        assert!(number(b"99999999999999999999", "length", 999).is_err());
        assert!(number(b"\xff\xff", "length", 999).is_err());
    }

    /// Every prefix (one in `stride` of large files) and, for small files,
    /// every byte replaced by separators and digits: never a panic, and any
    /// error names the record.
    fn damage(name: &str, bytes: &[u8]) {
        let check = |damaged: &[u8]| {
            if let Err(e) = read(damaged, Path::new(name)) {
                assert!(
                    !e.place.is_empty() && e.to_string().contains(": record "),
                    "{e}"
                );
            }
        };
        (0..bytes.len())
            .step_by(bytes.len() / 4000 + 1)
            .for_each(|len| check(&bytes[..len]));
        if bytes.len() <= 10_000 {
            for (at, byte) in (0..bytes.len())
                .flat_map(|at| [0, FS, GS, RS, US, b'9', b':', 0xFF].map(|b| (at, b)))
            {
                let mut damaged = bytes.to_vec();
                damaged[at] = byte;
                check(&damaged);
            }
        }
    }

    #[test]
    fn damaged_seeds_never_panic() {
        seeds().iter().for_each(|(name, bytes)| damage(name, bytes));
    }

    /// `../shared/datasets/fingerprint/format-samples`, if there.
    fn samples(test: &str) -> Option<PathBuf> {
        crate::fingerprint::test_data(test).map(|d| d.join("format-samples"))
    }

    #[test]
    fn sample_files_read() {
        let Some(dir) = samples("sample_files_read") else {
            return;
        };
        let load = |name: &str| {
            read(&std::fs::read(dir.join(name)).expect(name), Path::new(name)).expect(name)
        };
        let summary = |found: &[FingerMinutiae]| {
            found
                .iter()
                .map(|f| (f.record, f.idc, f.encoding, f.template.minutiae.len()))
                .collect::<Vec<_>>()
        };
        // type9.an2k, 9.012 minutia 001 `01320715248 A`, NSR 19.69: x =
        // 1.32 mm = 26 px; the highest (Y 16.24 mm) 9.09 mm above it, so y =
        // 179 px; 248° + 180° = 68°.
        let type9 = load("type9.an2k");
        assert_eq!(summary(&type9), [(2, 0, Encoding::Legacy, 28)]);
        let t = &type9[0].template;
        assert_eq!(
            (t.width, t.height, t.x_resolution, t.impression),
            (0, 0, 197, 6)
        );
        assert_eq!(t.minutiae[0], minutia(26, 179, 68, MinutiaKind::Ending, 0));
        // type9-13.an2k, `01320714248 A` of a Type-13 (IDC 00) 191 x 357 px
        // at 197 px/cm: y = 357 - 7.14 · 19.7 = 216.3.
        let type13 = load("type9-13.an2k");
        assert_eq!(summary(&type13), [(3, 0, Encoding::Legacy, 28)]);
        let t = &type13[0].template;
        assert_eq!(
            (t.width, t.height, t.minutiae[0]),
            (191, 357, minutia(26, 216, 68, MinutiaKind::Ending, 0))
        );
        // type9-15.an2k: type9.an2k's minutiae after two Type-15 palms; IDC
        // 01 in 9.002 (03 in 1.003); NSR 00.00, so 19.69.
        let type15 = load("type9-15.an2k");
        assert_eq!(summary(&type15), [(5, 1, Encoding::Legacy, 28)]);
        assert_eq!(type15[0].template.minutiae, type9[0].template.minutiae);
        // type9-efs.an2k: eight EFS records; record 2's 9.331 starts
        // `1908~41~186~E`, its region 36.61 mm from the left (9.300):
        // (36.61 + 19.08) · 19.69 = 1096.5 px. It ends `1156~2112~326~B`.
        let efs = load("type9-efs.an2k");
        let counts = [60, 35, 68, 37, 54, 48, 53, 59].into_iter().enumerate();
        let expected: Vec<_> = counts
            .map(|(i, n)| (i + 2, i as u32 + 1, Encoding::Efs, n))
            .collect();
        assert_eq!(summary(&efs), expected);
        let t = &efs[0].template;
        assert_eq!(
            (t.finger, t.minutiae[0]),
            (8, minutia(1097, 8, 186, MinutiaKind::Ending, 0))
        );
        assert_eq!(
            t.minutiae[59],
            minutia(948, 416, 326, MinutiaKind::Bifurcation, 0)
        );
        // type4-slaps.an2k: four binary Type-4 images, no Type-9.
        assert_eq!(load("type4-slaps.an2k"), []);
    }

    #[test]
    fn damaged_samples_never_panic() {
        let Some(dir) = samples("damaged_samples_never_panic") else {
            return;
        };
        for name in [
            "type9.an2k",
            "type9-13.an2k",
            "type9-15.an2k",
            "type9-efs.an2k",
            "type4-slaps.an2k",
        ] {
            damage(name, &std::fs::read(dir.join(name)).expect(name));
        }
    }

    #[test]
    fn fuzz_seeds_are_current() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/an2k");
        for (name, bytes) in seeds() {
            if std::env::var_os("HITDEX_WRITE_SEEDS").is_some() {
                std::fs::create_dir_all(&dir)
                    .and_then(|()| std::fs::write(dir.join(name), &bytes))
                    .expect(name);
            }
            let current = std::fs::read(dir.join(name)).is_ok_and(|on_disk| on_disk == bytes);
            assert!(current, "fuzz/seeds/an2k/{name} is not what the tests build (HITDEX_WRITE_SEEDS=1 writes it)");
        }
    }
}
