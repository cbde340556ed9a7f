//! NIST `xyt` minutiae files (NBIS `mindtct` output, `bozorth3` input).
//!
//! One minutia per line: `x y theta [quality]`, whitespace-separated
//! integers, in the NIST internal convention: origin at the bottom-left of
//! the image with y up, theta in degrees counter-clockwise from the x axis,
//! pointing away from the ridge ending or bifurcation valley, "the opposite
//! direction from M1" (NBIS `lfs2nist_minutia_XYT`, which writes
//! `y = ih - y` and `t = 270 - direction` where M1 has `90 - direction`).
//! So, with `H` the image height:
//!
//! ```text
//! template x = x,   template y = H - y,   template angle = theta + 180°
//! ```
//!
//! Reading then writing gives the same lines (quality 0 is written when the
//! file had none; a y of 0, which NBIS never writes, comes back as 1). The format has no minutia type: read minutiae are
//! [`MinutiaKind::Other`]; writing rounds angles to whole degrees.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use hitdex_engine::fingerprint::{Angle, Minutia, MinutiaKind, Template};

/// Why an `xyt` file cannot be read. Displayed as `file:line: column N (name): problem`.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {problem}", path.display())]
pub struct XytError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// What is wrong, naming the column.
    pub problem: String,
}

/// Reads an `xyt` file. `height` is the image height in pixels; `None`
/// takes the largest y in the file (the flip is then only a convention,
/// which the matcher does not mind: it is translation invariant). The
/// template's `height` is set to the height used; width and resolution
/// are unknown (0).
///
/// # Errors
/// [`XytError`] naming the line for text that is not UTF-8, a line
/// without three or four integers, a coordinate above 16383 (ISO's 14
/// bits) or above `height`, theta above 360, quality above 100.
pub fn read(bytes: &[u8], height: Option<u16>, source: &Path) -> Result<Template, XytError> {
    let error = |line: usize, problem: String| XytError { path: source.to_path_buf(), line, problem };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        error(line, "not valid UTF-8".into())
    })?;
    const COLUMNS: [(&str, u32); 4] = [("x", 16383), ("y", 16383), ("theta", 360), ("quality", 100)];
    let mut rows: Vec<(usize, [u16; 4])> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        if !(3..=4).contains(&fields.len()) {
            return Err(error(i + 1, format!("{} fields; a minutia is `x y theta [quality]`", fields.len())));
        }
        let mut row = [0u16; 4];
        for (c, (field, (name, max))) in fields.iter().zip(COLUMNS).enumerate() {
            match field.parse::<u32>() {
                Ok(v) if v <= max => row[c] = v as u16,
                Ok(v) => return Err(error(i + 1, format!("column {} ({name}): {v} is above {max}", c + 1))),
                Err(_) => return Err(error(i + 1, format!("column {} ({name}): {field:?} is not a non-negative integer", c + 1))),
            }
        }
        rows.push((i + 1, row));
    }
    let h = height.unwrap_or_else(|| rows.iter().map(|(_, r)| r[1]).max().unwrap_or(0));
    let mut minutiae = Vec::with_capacity(rows.len());
    for (line, [x, y, theta, quality]) in rows {
        if y > h {
            return Err(error(line, format!("column 2 (y): {y} is above the image height {h}")));
        }
        // NBIS writes y from 1 to the height; a 0 would land one row below
        // the image: it is taken as the last row.
        let y = (h - y).min(h.saturating_sub(1));
        minutiae.push(Minutia { x, y, angle: Angle::from_degrees(u32::from(theta)).opposite(), kind: MinutiaKind::Other, quality: quality as u8 });
    }
    Ok(Template { height: h, minutiae, ..Template::default() })
}

/// Writes `t` as `xyt` lines (`x y theta quality`), flipping y about
/// `t.height` and rounding angles to whole degrees.
///
/// # Errors
/// A message naming the minutia if its y is above `t.height`.
pub fn write(t: &Template) -> Result<String, String> {
    let mut out = String::with_capacity(t.minutiae.len() * 16);
    for (i, m) in t.minutiae.iter().enumerate() {
        let y = t.height.checked_sub(m.y).ok_or_else(|| format!("minutia {}: y {} is below the image height {}", i + 1, m.y, t.height))?;
        let _ = writeln!(out, "{} {} {} {}", m.x, y, m.angle.opposite().round_degrees(), m.quality);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_convert_to_the_iso_convention_and_back() {
        let text = "100 171 247 12\n101 258 0 13\n\n117 234 180\n";
        let t = read(text.as_bytes(), Some(374), Path::new("a.xyt")).unwrap();
        assert_eq!(t.height, 374);
        assert_eq!(t.minutiae[0], Minutia { x: 100, y: 203, angle: Angle::from_degrees(67), kind: MinutiaKind::Other, quality: 12 });
        assert_eq!(t.minutiae[1].angle, Angle::from_degrees(180));
        assert_eq!(t.minutiae[2].angle, Angle::from_degrees(0));
        assert_eq!(write(&t).unwrap(), "100 171 247 12\n101 258 0 13\n117 234 180 0\n");
    }

    #[test]
    fn a_y_of_zero_stays_inside_the_image() {
        let t = read(b"10 0 90\n20 50 90\n", None, Path::new("a.xyt")).unwrap();
        assert_eq!((t.height, t.minutiae[0].y, t.minutiae[1].y), (50, 49, 0));
        let iso = crate::fingerprint::fmr::write_iso(&[Template { width: 100, ..t }]).unwrap();
        crate::fingerprint::fmr::read(&iso, crate::fingerprint::fmr::Standard::Iso2005, Path::new("a.iso")).unwrap();
    }

    #[test]
    fn bad_lines_are_named() {
        let err = |text: &str| read(text.as_bytes(), Some(300), Path::new("a.xyt")).unwrap_err().to_string();
        assert_eq!(err("1 2 3\n4 5\n"), "a.xyt:2: 2 fields; a minutia is `x y theta [quality]`");
        assert_eq!(err("1 2 3 4 5\n"), "a.xyt:1: 5 fields; a minutia is `x y theta [quality]`");
        assert_eq!(err("1 -2 3\n"), "a.xyt:1: column 2 (y): \"-2\" is not a non-negative integer");
        assert_eq!(err("1 2 361\n"), "a.xyt:1: column 3 (theta): 361 is above 360");
        assert_eq!(err("1 2 3 101\n"), "a.xyt:1: column 4 (quality): 101 is above 100");
        assert_eq!(err("1 301 3\n"), "a.xyt:1: column 2 (y): 301 is above the image height 300");
        assert_eq!(err("1 2 3\nÿ 2 3"), "a.xyt:2: column 1 (x): \"ÿ\" is not a non-negative integer");
        assert_eq!(read(b"1 2 3\n\xff", None, Path::new("a.xyt")).unwrap_err().to_string(), "a.xyt:2: not valid UTF-8");
    }

    /// An independent check of the half turn: FVC2002's `iso/` records come
    /// from another extractor, in ISO's convention, on images resampled to
    /// 300×400. Minutiae both extractors found must point the same way once
    /// the `xyt` ones are read with this module's conversion.
    #[test]
    fn xyt_directions_agree_with_another_extractors_iso_directions() {
        let Some(d) = crate::fingerprint::test_data("xyt_directions_agree_with_another_extractors_iso_directions") else { return };
        let d = d.join("fvc2002/DB1_B");
        let (mut near, mut far) = (0, 0);
        for name in ["101_1", "102_3", "105_2", "108_5"] {
            let xyt = read(&std::fs::read(d.join(format!("xyt/{name}.xyt"))).unwrap(), Some(374), Path::new(name)).unwrap();
            let iso_bytes = std::fs::read(d.join(format!("iso/{name}.iso"))).unwrap();
            let iso = &crate::fingerprint::fmr::read(&iso_bytes, crate::fingerprint::fmr::Standard::Iso2005, Path::new(name)).unwrap().views[0];
            // DB1 images are 388×374; the iso ones were resampled to 300×400.
            let (sx, sy) = (300.0 / 388.0, 400.0 / 374.0);
            for m in &iso.minutiae {
                let distance = |p: &Minutia| (f64::from(p.x) * sx - f64::from(m.x)).hypot(f64::from(p.y) * sy - f64::from(m.y));
                let closest = xyt.minutiae.iter().min_by(|a, b| distance(a).total_cmp(&distance(b)));
                let Some(p) = closest.filter(|p| distance(p) < 4.0) else { continue };
                let diff = (p.angle.degrees() - m.angle.degrees()).rem_euclid(360.0);
                if diff.min(360.0 - diff) < 45.0 {
                    near += 1;
                } else if diff.min(360.0 - diff) > 135.0 {
                    far += 1;
                }
            }
        }
        eprintln!("minutiae found by both extractors: {near} pointing the same way, {far} the opposite way");
        assert!(near > 40 && near > 4 * far, "{near} same way, {far} opposite");
    }

    #[test]
    fn every_fvc2002_xyt_file_reads_and_writes_back() {
        let Some(d) = crate::fingerprint::test_data("every_fvc2002_xyt_file_reads_and_writes_back") else { return };
        let d = d.join("fvc2002");
        let mut n = 0;
        for (db, height) in [(1, 374), (2, 560), (3, 300), (4, 384)] {
            for entry in std::fs::read_dir(d.join(format!("DB{db}_B/xyt"))).unwrap() {
                let path = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                let t = read(&bytes, Some(height), &path).unwrap_or_else(|e| panic!("{e}"));
                assert!(t.minutiae.len() >= 5, "{path:?}");
                let normalised: String = String::from_utf8(bytes).unwrap().lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") + "\n").collect();
                assert_eq!(write(&t).unwrap(), normalised, "{path:?}");
                n += 1;
            }
        }
        assert_eq!(n, 320);
    }
}
