//! Writing DNA CSV, fast enough for the generator's ten million profiles:
//! rows are formatted straight into byte buffers (no `fmt`, no allocation
//! per cell), and [`Layout::write_profiles`] formats chunks in parallel.

use std::io::{self, Write};

use hitdex_engine::dna::{Allele, Genotype, Locus, Profile, AMELOGENIN};
use rayon::prelude::*;

/// Rows formatted per parallel task.
const ROWS_PER_TASK: usize = 8192;

/// The columns of a written file: `reference,authority,kind`, then `loci`
/// in the order given, then Amelogenin if asked.
#[derive(Debug, Clone, Copy)]
pub struct Layout<'a> {
    /// Locus columns, in order.
    pub loci: &'a [Locus],
    /// Whether to end with an Amelogenin column.
    pub amelogenin: bool,
}

impl<'a> Layout<'a> {
    /// The columns `reference,authority,kind,<loci>`, without Amelogenin.
    pub fn new(loci: &'a [Locus]) -> Self {
        Layout {
            loci,
            amelogenin: false,
        }
    }

    /// The same columns, followed by Amelogenin if `yes`.
    pub fn with_amelogenin(self, yes: bool) -> Self {
        Layout {
            amelogenin: yes,
            ..self
        }
    }

    /// Writes the header line with canonical locus names.
    ///
    /// # Errors
    /// I/O errors of `w`.
    pub fn write_header(&self, w: &mut impl Write) -> io::Result<()> {
        let mut line = b"reference,authority,kind".to_vec();
        for l in self.loci {
            line.push(b',');
            line.extend_from_slice(l.name().as_bytes());
        }
        if self.amelogenin {
            line.push(b',');
            line.extend_from_slice(AMELOGENIN.as_bytes());
        }
        line.push(b'\n');
        w.write_all(&line)
    }

    /// Writes one profile as a line.
    ///
    /// # Errors
    /// I/O errors of `w`, and [`io::ErrorKind::InvalidInput`] for a
    /// reference or authority with a line break, which CSV cannot hold here.
    pub fn write_profile(&self, w: &mut impl Write, p: &Profile) -> io::Result<()> {
        let mut line = Vec::with_capacity(128);
        self.format(&mut line, p)?;
        w.write_all(&line)
    }

    /// Writes many profiles in order, formatting chunks of them in parallel
    /// and handing `w` one large buffer per chunk.
    ///
    /// # Errors
    /// As [`write_profile`](Self::write_profile); nothing after the chunk
    /// of a bad profile is written.
    pub fn write_profiles(&self, w: &mut impl Write, profiles: &[Profile]) -> io::Result<()> {
        // A bounded batch keeps memory flat however many profiles there are.
        let batch = ROWS_PER_TASK * rayon::current_num_threads().max(1) * 2;
        for group in profiles.chunks(batch) {
            let buffers: Vec<io::Result<Vec<u8>>> = group
                .par_chunks(ROWS_PER_TASK)
                .map(|chunk| {
                    let mut buf = Vec::with_capacity(chunk.len() * (16 + 8 * self.loci.len()));
                    for p in chunk {
                        self.format(&mut buf, p)?;
                    }
                    Ok(buf)
                })
                .collect();
            for buf in buffers {
                w.write_all(&buf?)?;
            }
        }
        Ok(())
    }

    /// Appends the line of `p` to `out`.
    fn format(&self, out: &mut Vec<u8>, p: &Profile) -> io::Result<()> {
        text_cell(out, &p.reference)?;
        out.push(b',');
        text_cell(out, &p.authority)?;
        out.push(b',');
        out.extend_from_slice(p.kind.as_str().as_bytes());
        for &l in self.loci {
            out.push(b',');
            genotype(out, l, p.genotype(l));
        }
        if self.amelogenin {
            out.push(b',');
            if p.amelogenin != [0, 0] {
                let code = |b: u8| if matches!(b, b'X' | b'Y') { b } else { b'*' };
                out.extend_from_slice(&[code(p.amelogenin[0]), b'/', code(p.amelogenin[1])]);
            }
        }
        out.push(b'\n');
        Ok(())
    }
}

/// A reference or authority, quoted when the reader would otherwise change
/// it (a comma, a quote, or spaces at either end).
fn text_cell(out: &mut Vec<u8>, s: &str) -> io::Result<()> {
    let bytes = s.as_bytes();
    if bytes.contains(&b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("line break in {s:?} cannot be written to CSV"),
        ));
    }
    let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\r');
    let quote = bytes.iter().any(|&b| b == b',' || b == b'"')
        || bytes.first().is_some_and(blank)
        || bytes.last().is_some_and(blank);
    if !quote {
        out.extend_from_slice(bytes);
        return Ok(());
    }
    out.push(b'"');
    for &b in bytes {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
    Ok(())
}

/// `a/b`, or nothing for an untyped locus.
fn genotype(out: &mut Vec<u8>, locus: Locus, g: Genotype) {
    if g.is_typed() {
        let [a, b] = g.alleles();
        allele(out, locus, a);
        out.push(b'/');
        allele(out, locus, b);
    }
}

/// `15`, `9.3` or `*`.
fn allele(out: &mut Vec<u8>, locus: Locus, a: Allele) {
    match a.repeats(locus) {
        None if a.is_wildcard() => out.push(b'*'),
        None => {}
        Some((n, k)) => {
            // n < 256: at most three digits.
            if n >= 100 {
                out.push(b'0' + (n / 100) as u8);
            }
            if n >= 10 {
                out.push(b'0' + (n / 10 % 10) as u8);
            }
            out.push(b'0' + (n % 10) as u8);
            if k != 0 {
                out.extend_from_slice(&[b'.', b'0' + k]);
            }
        }
    }
}

/// Writes the header `reference,authority,kind,<loci>` (no Amelogenin; see
/// [`Layout`] for that).
///
/// # Errors
/// I/O errors of `w`.
pub fn write_header(w: &mut impl Write, loci: &[Locus]) -> io::Result<()> {
    Layout::new(loci).write_header(w)
}

/// Writes one profile under the header of [`write_header`].
///
/// # Errors
/// As [`Layout::write_profile`].
pub fn write_profile(w: &mut impl Write, loci: &[Locus], p: &Profile) -> io::Result<()> {
    Layout::new(loci).write_profile(w, p)
}

/// Writes many profiles in order, formatted in parallel.
///
/// # Errors
/// As [`Layout::write_profiles`].
pub fn write_profiles(w: &mut impl Write, loci: &[Locus], profiles: &[Profile]) -> io::Result<()> {
    Layout::new(loci).write_profiles(w, profiles)
}

/// Writes `profiles` to the file `path` under a header of every locus any
/// of them types (canonical order); returns the file's size.
///
/// # Errors
/// I/O errors (without the path: callers name it).
pub fn write_path(path: &std::path::Path, profiles: &[Profile]) -> io::Result<u64> {
    let mut typed = [false; hitdex_engine::dna::LOCUS_COUNT];
    for p in profiles {
        for (l, g) in p.loci.iter().enumerate() {
            typed[l] |= g.is_typed();
        }
    }
    let loci: Vec<Locus> = Locus::all().filter(|l| typed[l.index()]).collect();
    let mut w = io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    write_header(&mut w, &loci)?;
    write_profiles(&mut w, &loci, profiles)?;
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}
