//! Reading a whole file: the header, then the body in parallel chunks split
//! at line boundaries, then (for stored profiles) the duplicate check.
//!
//! Chunks are parsed independently and do not know their first line number;
//! each reports how many lines it read, so line numbers are fixed up in
//! order afterwards. The error reported is always the one on the earliest
//! line, whatever the chunking: a chunk stops at its first error, chunks
//! before the first failing one are complete, and the duplicate check only
//! sees lines before that error.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use hitdex_engine::dna::Profile;
use rayon::prelude::*;

use super::cells::Cursor;
use super::error::{CsvError, Problem};
use super::header::{Column, Header};
use super::{row, Mode};

/// Input bytes per chunk: large enough to amortise scheduling, small enough
/// to balance two to dozens of cores on a 1.5 GB file.
const CHUNK: usize = 1 << 20;

/// Below this size a file is read rather than memory-mapped.
const MMAP_THRESHOLD: u64 = 1 << 20;

/// Reads the DNA CSV file at `path`.
///
/// # Errors
/// [`CsvError::Io`] if the file cannot be read, [`CsvError::Invalid`] for
/// the earliest bad line (see [`read_bytes`]).
pub fn read_path(path: &Path, mode: Mode) -> Result<Vec<Profile>, CsvError> {
    let io = |source| CsvError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_file() && meta.len() >= MMAP_THRESHOLD {
        // SAFETY: the map is read-only and dropped before we return. If
        // another process truncates the file meanwhile, reading faults
        // (SIGBUS), as with any mmap-based reader (ripgrep takes the same
        // risk); writing to an input file while it is imported is not
        // supported. Every byte is validated as UTF-8 and parsed as
        // untrusted input.
        if let Ok(map) = unsafe { memmap2::Mmap::map(&file) } {
            return read_bytes(&map, path, mode);
        }
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut bytes).map_err(io)?;
    read_bytes(&bytes, path, mode)
}

/// Reads a DNA CSV held in memory; `source` names it in errors.
///
/// # Errors
/// [`CsvError::Invalid`] naming `source`, the earliest bad line and its
/// column: no header, unknown, duplicate or missing columns, a row with the
/// wrong number of cells, a malformed quote, invalid UTF-8, an unreadable
/// allele, an empty reference, a bad kind, and in [`Mode::Store`] an empty
/// authority, fewer than six typed loci or a repeated (authority, reference).
pub fn read_bytes(bytes: &[u8], source: &Path, mode: Mode) -> Result<Vec<Profile>, CsvError> {
    read_chunked(bytes, source, mode, CHUNK)
}

/// [`read_bytes`] with a chosen chunk size, so tests can split tiny inputs.
pub(super) fn read_chunked(
    bytes: &[u8],
    source: &Path,
    mode: Mode,
    chunk: usize,
) -> Result<Vec<Profile>, CsvError> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let header_end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let body = bytes.get(header_end + 1..).unwrap_or_default();
    let invalid = |line, column: Option<usize>, names: &[String], problem| CsvError::Invalid {
        path: source.to_path_buf(),
        line,
        column: column.and_then(|c| names.get(c).cloned()),
        problem: Box::new(problem),
    };

    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err(invalid(1, None, &[], Problem::Utf16));
    }
    let header_text = std::str::from_utf8(&bytes[..header_end]).map_err(|e| {
        let column = column_at(&bytes[..e.valid_up_to()]);
        CsvError::Invalid {
            path: source.to_path_buf(),
            line: 1,
            column: Some(format!("#{}", column + 1)),
            problem: Box::new(Problem::InvalidUtf8),
        }
    })?;
    let mut cells = Vec::new();
    let blank = Cursor::new(header_text)
        .next_line(&mut cells)
        .map_err(|(c, p)| {
            let names: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
            invalid(1, Some(c), &names, p)
        })?;
    if blank {
        return Err(invalid(1, None, &[], Problem::Empty));
    }
    let header = Header::parse(&cells, mode).map_err(|(c, p)| {
        let names: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
        invalid(1, c, &names, p)
    })?;

    let chunks = split(body, chunk.max(1));
    let (mut profiles, parsed) = parse_chunks(&chunks, &header, mode);

    // Close the gaps blank lines left, stop at the first error, and note
    // where each chunk's profiles and lines start.
    let mut spans = Vec::with_capacity(chunks.len());
    let (mut kept, mut start, mut line) = (0, 0, 2);
    let mut error = None;
    for (p, bytes) in parsed.into_iter().zip(&chunks) {
        spans.push(Span {
            first_profile: kept,
            bytes,
            first_line: line,
        });
        if kept != start {
            for k in 0..p.rows {
                profiles.swap(kept + k, start + k);
            }
        }
        kept += p.rows;
        start += p.capacity;
        if let Some((local, column, problem)) = p.error {
            error = Some(invalid(line + local, column, &header.names, problem));
            break;
        }
        line += p.lines;
    }
    profiles.truncate(kept);

    if mode == Mode::Store {
        if let Some((first, second)) = first_duplicate(&profiles) {
            let p = &profiles[second];
            let problem = Problem::DuplicateReference {
                authority: p.authority.clone(),
                reference: p.reference.clone(),
                first_line: line_of(&spans, first),
            };
            let column = header.columns.iter().position(|&c| c == Column::Reference);
            return Err(invalid(
                line_of(&spans, second),
                column,
                &header.names,
                problem,
            ));
        }
    }
    match error {
        Some(e) => Err(e),
        None => Ok(profiles),
    }
}

/// Parses every chunk in parallel straight into one vector: each chunk owns
/// a region with a slot per line, so no per-chunk vectors are concatenated
/// (for ten million profiles that copy and its page faults cost a second).
/// Blank lines leave unused slots at the end of their region.
fn parse_chunks(chunks: &[&[u8]], header: &Header, mode: Mode) -> (Vec<Profile>, Vec<Parsed>) {
    let capacity: Vec<usize> = chunks.par_iter().map(|c| count_lines(c)).collect();
    let mut profiles = Vec::new();
    (0..capacity.iter().sum())
        .into_par_iter()
        .map(|_| Profile::default())
        .collect_into_vec(&mut profiles);
    let mut regions = Vec::with_capacity(chunks.len());
    let mut rest = profiles.as_mut_slice();
    for &n in &capacity {
        let (region, tail) = std::mem::take(&mut rest).split_at_mut(n);
        regions.push(region);
        rest = tail;
    }
    let parsed = chunks
        .par_iter()
        .zip(regions)
        .map_init(
            || row::Memo::new(header.columns.len()),
            |memo, (c, region)| parse_chunk(c, header, mode, memo, region),
        )
        .collect();
    (profiles, parsed)
}

/// Lines in a chunk, counting a last line without its line end.
/// The 0-based column of the cell that the line prefix `before` ends in:
/// the commas outside quotes.
fn column_at(before: &[u8]) -> usize {
    let mut quoted = false;
    before
        .iter()
        .filter(|&&b| {
            quoted ^= b == b'"';
            b == b',' && !quoted
        })
        .count()
}

fn count_lines(bytes: &[u8]) -> usize {
    // Byte counters per block of 255 let the compiler compare 32 bytes a
    // step; a plain `filter().count()` widens every byte to 64 bits.
    let ends: usize = bytes
        .chunks(255)
        .map(|block| {
            usize::from(
                block
                    .iter()
                    .map(|&b| u8::from(b == b'\n'))
                    .fold(0u8, u8::wrapping_add),
            )
        })
        .sum();
    ends + usize::from(bytes.last().is_some_and(|&b| b != b'\n'))
}

/// Splits `body` after a line end at least every `chunk` bytes.
fn split(body: &[u8], chunk: usize) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(body.len() / chunk + 1);
    let mut rest = body;
    while rest.len() > chunk {
        match rest[chunk..].iter().position(|&b| b == b'\n') {
            Some(i) => {
                let (head, tail) = rest.split_at(chunk + i + 1);
                out.push(head);
                rest = tail;
            }
            None => break,
        }
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// What one chunk gave: the rows written at the start of its region, the
/// region's size, its line count, and the first error as (0-based line in
/// the chunk, 0-based column, problem).
struct Parsed {
    rows: usize,
    capacity: usize,
    lines: usize,
    error: Option<(usize, Option<usize>, Problem)>,
}

fn parse_chunk(
    bytes: &[u8],
    header: &Header,
    mode: Mode,
    memo: &mut row::Memo,
    region: &mut [Profile],
) -> Parsed {
    // Validating the whole chunk at once is much faster than line by line;
    // on failure, parse the lines before the bad one and report it after.
    let (text, bad_line) = match std::str::from_utf8(bytes) {
        Ok(text) => (text, None),
        Err(e) => {
            let start = bytes[..e.valid_up_to()]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let bad_line = count_lines(&bytes[..start]);
            let column = column_at(&bytes[start..e.valid_up_to()]);
            (
                std::str::from_utf8(&bytes[..start]).unwrap_or_default(),
                Some((bad_line, column)),
            )
        }
    };
    let mut cursor = Cursor::new(text);
    let mut cells = Vec::with_capacity(header.columns.len());
    let (mut rows, mut line) = (0, 0);
    let mut error = None;
    while !cursor.at_end() {
        match cursor.next_line(&mut cells) {
            Ok(true) => {}
            Ok(false) => {
                // The region has a slot per line, so there always is one.
                let Some(slot) = region.get_mut(rows) else {
                    break;
                };
                match row::profile(&cells, header, mode, memo, slot) {
                    Ok(()) => rows += 1,
                    Err((column, problem)) => {
                        error = Some((line, column, problem));
                        break;
                    }
                }
            }
            Err((cell, problem)) => {
                error = Some((line, (cell < header.columns.len()).then_some(cell), problem));
                break;
            }
        }
        line += 1;
    }
    if error.is_none() {
        error = bad_line.map(|(l, c)| (l, (c < header.columns.len()).then_some(c), Problem::InvalidUtf8));
    }
    Parsed {
        rows,
        capacity: region.len(),
        lines: line,
        error,
    }
}

/// Where a chunk's profiles and lines start.
struct Span<'a> {
    first_profile: usize,
    bytes: &'a [u8],
    first_line: usize,
}

/// The line of profile `index`, found by reading its chunk again (only
/// ever done to report a duplicate).
fn line_of(spans: &[Span<'_>], index: usize) -> usize {
    let k = spans
        .partition_point(|s| s.first_profile <= index)
        .saturating_sub(1);
    let Some(span) = spans.get(k) else { return 0 };
    let text = match std::str::from_utf8(span.bytes) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(&span.bytes[..e.valid_up_to()]).unwrap_or_default(),
    };
    let mut cursor = Cursor::new(text);
    let mut cells: Vec<Cow<'_, str>> = Vec::new();
    let (mut line, mut seen) = (span.first_line, span.first_profile);
    while let Ok(blank) = cursor.next_line(&mut cells) {
        if !blank {
            if seen == index {
                return line;
            }
            seen += 1;
        }
        line += 1;
    }
    line
}

/// The first repeated (authority, reference): indices of the earlier and
/// the later profile, the later one as early as possible.
///
/// Sorting 64-bit hashes in parallel finds the (rare) candidates without a
/// ten-million-entry hash map; only colliding hashes are compared as text.
fn first_duplicate(profiles: &[Profile]) -> Option<(usize, usize)> {
    /// A 128-bit multiply folded to 64 bits mixes every input bit into
    /// every output bit (a plain multiply-rotate, FxHash-style, collided
    /// on one reference in a thousand of generated data).
    fn mix(x: u64) -> u64 {
        let r = u128::from(x) * 0xa076_1d64_78bd_642f_u128;
        (r as u64) ^ (r >> 64) as u64
    }
    fn key(p: &Profile) -> u64 {
        // Not SipHash, which is slower: collisions only cost a comparison.
        let mut h = (p.authority.len() as u64) << 32 | p.reference.len() as u64;
        for part in [p.authority.as_bytes(), p.reference.as_bytes()] {
            let words = part.chunks_exact(8);
            let tail = words.remainder();
            let mut word = [0u8; 8];
            for w in words {
                word.copy_from_slice(w);
                h = mix(h ^ u64::from_le_bytes(word));
            }
            word = [0u8; 8];
            word[..tail.len()].copy_from_slice(tail);
            h = mix(h ^ u64::from_le_bytes(word));
        }
        h
    }
    let mut hashes: Vec<u64> = profiles.par_iter().map(key).collect();
    hashes.par_sort_unstable();
    let repeated: HashSet<u64> = hashes
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    if repeated.is_empty() {
        return None;
    }
    let mut first_seen: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, p) in profiles.iter().enumerate() {
        if !repeated.contains(&key(p)) {
            continue;
        }
        if let Some(&first) = first_seen.get(&(p.authority.as_str(), p.reference.as_str())) {
            return Some((first, i));
        }
        first_seen.insert((p.authority.as_str(), p.reference.as_str()), i);
    }
    None
}
