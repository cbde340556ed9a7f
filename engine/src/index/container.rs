//! The shard container: the file layout every category's shard shares.
//!
//! ```text
//! header    64 bytes   magic, format version, category, section count,
//!                      file length, created, three category fields
//! sections  16 bytes each: offset, length (all offsets 64-byte aligned)
//! digest    32 bytes   BLAKE3 of header and section table
//! ...       the sections, in order
//! footer    64 bytes   BLAKE3 of everything before, file length, magic
//! ```
//!
//! [`open`] maps a file and checks magic, version, category, the header
//! digest, the file length and that every section lies inside the file; it
//! copies and parses nothing. [`verify`] recomputes the whole-file digest.
//! What the sections hold is the category's business (`shard` for DNA,
//! `fingerprint::gallery` for fingers).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::{Error, Result};

const MAGIC: &[u8; 8] = b"HITDEXSH";
const FOOTER_MAGIC: &[u8; 8] = b"HDXSHEND";
/// Format version written and accepted (of the container and of every
/// category's sections).
pub const FORMAT_VERSION: u32 = 7;
const HEADER_BYTES: usize = 64;
const FOOTER_BYTES: usize = 64;
/// Alignment of every section.
pub const ALIGN: usize = 64;

/// What a shard holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Category {
    /// DNA profiles.
    Dna = 1,
    /// Finger minutiae templates.
    Fingerprint = 2,
    // 3 is kept for ballistic signatures (SPEC section 5), so that the
    // numbers follow the SPEC's order of categories.
    /// Vehicles: keyed digests of registration plates and VINs.
    Vehicle = 4,
    /// Telephone numbers: keyed digests of E.164 numbers.
    Phone = 5,
    /// Persons: keyed digests of names and date of birth.
    Identity = 6,
}

impl Category {
    /// The name in manifests and messages.
    pub fn name(self) -> &'static str {
        match self {
            Category::Dna => "dna",
            Category::Fingerprint => "fingerprint",
            Category::Vehicle => "vehicle",
            Category::Phone => "phone",
            Category::Identity => "identity",
        }
    }

    /// Every category, in the order of their numbers.
    pub const ALL: [Category; 5] = [Category::Dna, Category::Fingerprint, Category::Vehicle, Category::Phone, Category::Identity];

    /// The category stored as `number` in a shard header.
    pub fn of_number(number: u32) -> Option<Category> {
        Category::ALL.into_iter().find(|c| *c as u32 == number)
    }

    /// The category called `name`.
    pub fn of_name(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// The header's variable part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// What the shard holds.
    pub category: Category,
    /// When the shard was written (Unix seconds).
    pub created: u64,
    /// Three numbers the category defines (counts, table sizes).
    pub fields: [u64; 3],
}

/// An open, mapped shard file whose container checks passed.
#[derive(Debug)]
pub struct Mapped {
    /// The file.
    pub path: PathBuf,
    /// Its bytes.
    pub map: Mmap,
    /// Its header.
    pub header: Header,
    /// `(offset, length)` of each section.
    pub sections: Vec<(usize, usize)>,
}

impl Mapped {
    /// Section `i` (empty if there is no such section).
    pub fn section(&self, i: usize) -> &[u8] {
        self.sections.get(i).map_or(&[], |&(off, len)| &self.map[off..off + len])
    }
}

/// Writes a shard file (temporary name, sync, rename: a crash never leaves
/// a half-written shard under the real name).
///
/// # Errors
/// I/O errors.
pub fn write(path: &Path, header: &Header, sections: &[&[u8]]) -> Result<()> {
    let table_end = HEADER_BYTES + sections.len() * 16 + 32;
    let mut offset = table_end.next_multiple_of(ALIGN);
    let mut table = Vec::with_capacity(sections.len() * 16);
    for s in sections {
        table.extend_from_slice(&(offset as u64).to_le_bytes());
        table.extend_from_slice(&(s.len() as u64).to_le_bytes());
        offset = (offset + s.len()).next_multiple_of(ALIGN);
    }
    let total = offset + FOOTER_BYTES;
    let mut head = Vec::with_capacity(HEADER_BYTES);
    head.extend_from_slice(MAGIC);
    head.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    head.extend_from_slice(&(header.category as u32).to_le_bytes());
    head.extend_from_slice(&(sections.len() as u32).to_le_bytes());
    head.extend_from_slice(&[0; 4]);
    head.extend_from_slice(&(total as u64).to_le_bytes());
    head.extend_from_slice(&header.created.to_le_bytes());
    for f in header.fields {
        head.extend_from_slice(&f.to_le_bytes());
    }
    debug_assert_eq!(head.len(), HEADER_BYTES);
    let mut head_hash = blake3::Hasher::new();
    head_hash.update(&head);
    head_hash.update(&table);
    let head_digest = head_hash.finalize();

    let tmp = temp_path(path);
    let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let mut out = HashingWriter { inner: BufWriter::with_capacity(1 << 20, file), hash: blake3::Hasher::new(), written: 0 };
    let io = |e| Error::io(&tmp, e);
    out.write_all(&head).map_err(io)?;
    out.write_all(&table).map_err(io)?;
    out.write_all(head_digest.as_bytes()).map_err(io)?;
    out.pad_to(table_end.next_multiple_of(ALIGN)).map_err(io)?;
    for s in sections {
        out.write_all(s).map_err(io)?;
        let at = out.written.next_multiple_of(ALIGN);
        out.pad_to(at).map_err(io)?;
    }
    let digest = out.hash.finalize();
    let mut inner = out.inner;
    inner.write_all(&footer(digest.as_bytes(), total)).map_err(io)?;
    let file = inner.into_inner().map_err(|e| Error::io(&tmp, e.into_error()))?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Maps the shard at `path` and checks its container: magic, version,
/// `category`, header digest, length, footer and that it has `sections`
/// sections, each inside the file.
///
/// # Errors
/// `Io` if the file cannot be read; `Corrupt` if a check fails.
pub fn open(path: &Path, category: Category, sections: usize) -> Result<Mapped> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    // SAFETY: shards are immutable once renamed into place (writers
    // always write a new file and rename), so the mapping does not change
    // under us. A file truncated by another process would raise SIGBUS,
    // as for any mmap reader; Hitdex itself never truncates a shard.
    let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
    let bad = |reason: String| Error::corrupt(path, reason);
    let b = &map[..];
    let table_end = HEADER_BYTES + sections * 16 + 32;
    if b.len() < table_end + FOOTER_BYTES {
        return Err(bad(format!("file is {} bytes, too short for a shard", b.len())));
    }
    if &b[..8] != MAGIC {
        return Err(bad("not a Hitdex shard (bad magic)".into()));
    }
    let version = u32_at(b, 8).unwrap_or(0);
    if version != FORMAT_VERSION {
        return Err(bad(format!("format version {version}, this build reads version {FORMAT_VERSION}")));
    }
    let found = u32_at(b, 12).unwrap_or(0);
    if found != category as u32 {
        let name = Category::of_number(found).map_or("unknown", Category::name);
        return Err(bad(format!("a shard of category {found} ({name}), expected {} ({})", category as u32, category.name())));
    }
    if u32_at(b, 16) != Some(sections as u32) {
        return Err(bad(format!("section count {}, expected {sections}", u32_at(b, 16).unwrap_or(0))));
    }
    let digest = blake3::hash(&b[..HEADER_BYTES + sections * 16]);
    if digest.as_bytes() != &b[HEADER_BYTES + sections * 16..table_end] {
        return Err(bad("header checksum mismatch".into()));
    }
    let total = u64_at(b, 24).unwrap_or(0) as usize;
    if total != b.len() {
        return Err(bad(format!("file is {} bytes but the header says {total} (truncated?)", b.len())));
    }
    if &b[b.len() - 8..] != FOOTER_MAGIC {
        return Err(bad("footer missing (truncated?)".into()));
    }
    let mut table = Vec::with_capacity(sections);
    for i in 0..sections {
        let off = u64_at(b, HEADER_BYTES + 16 * i).unwrap_or(u64::MAX) as usize;
        let len = u64_at(b, HEADER_BYTES + 16 * i + 8).unwrap_or(u64::MAX) as usize;
        if !off.is_multiple_of(ALIGN) || off.checked_add(len).is_none_or(|end| end > b.len() - FOOTER_BYTES) {
            return Err(bad(format!("section {i} lies outside the file")));
        }
        table.push((off, len));
    }
    let header = Header {
        category,
        created: u64_at(b, 32).unwrap_or(0),
        fields: std::array::from_fn(|i| u64_at(b, 40 + 8 * i).unwrap_or(0)),
    };
    Ok(Mapped { path: path.to_path_buf(), map, header, sections: table })
}

/// Recomputes the whole-file digest of an open shard.
///
/// # Errors
/// `Corrupt` if the bytes were altered.
pub fn verify(m: &Mapped) -> Result<()> {
    let b = &m.map[..];
    let digest = blake3::Hasher::new().update_rayon(&b[..b.len() - FOOTER_BYTES]).finalize();
    if footer(digest.as_bytes(), b.len()) != b[b.len() - FOOTER_BYTES..] {
        return Err(Error::corrupt(&m.path, "checksum mismatch: the shard's bytes were altered"));
    }
    Ok(())
}

/// The footer: whole-file digest, file length, zeros, magic.
fn footer(digest: &[u8; 32], total: usize) -> [u8; FOOTER_BYTES] {
    let mut f = [0u8; FOOTER_BYTES];
    f[..32].copy_from_slice(digest);
    f[32..40].copy_from_slice(&(total as u64).to_le_bytes());
    f[FOOTER_BYTES - 8..].copy_from_slice(FOOTER_MAGIC);
    f
}

/// `name.tmp` beside `path`.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// A list of strings as shards store them: `u32` offsets into a heap of
/// bytes, one more offset than strings (the heap's length).
#[derive(Debug, Default)]
pub(crate) struct Strings {
    /// Little-endian `u32` offsets.
    pub offsets: Vec<u8>,
    /// The strings' bytes, one after another.
    pub heap: Vec<u8>,
}

impl Strings {
    /// Appends `s`.
    pub fn push(&mut self, s: &str) -> Result<()> {
        let at = u32::try_from(self.heap.len()).map_err(|_| Error::Invalid("strings of one shard exceed 4 GiB".into()))?;
        self.offsets.extend_from_slice(&at.to_le_bytes());
        self.heap.extend_from_slice(s.as_bytes());
        Ok(())
    }

    /// Ends the offsets with the heap's length (after the last push).
    pub fn finish(&mut self) -> Result<()> {
        self.push("")
    }
}

/// String `i` of a stored [`Strings`], if its offsets and bytes are sound.
pub(crate) fn string_at<'a>(offsets: &[u8], heap: &'a [u8], i: usize) -> Option<&'a str> {
    let (a, b) = (u32_at(offsets, i * 4)? as usize, u32_at(offsets, i * 4 + 4)? as usize);
    std::str::from_utf8(heap.get(a..b)?).ok()
}

/// The authorities of a shard being written, each stored once and named
/// by a `u16` id.
#[derive(Debug, Default)]
pub(crate) struct Authorities<'a> {
    ids: std::collections::HashMap<&'a str, u16>,
    /// The names, by id.
    pub names: Strings,
}

impl<'a> Authorities<'a> {
    /// The id of `authority`, a new one the first time.
    pub fn id(&mut self, authority: &'a str) -> Result<u16> {
        if let Some(&id) = self.ids.get(authority) {
            return Ok(id);
        }
        let id = u16::try_from(self.ids.len()).map_err(|_| Error::Invalid("more than 65,536 authorities in one shard".into()))?;
        self.names.push(authority)?;
        self.ids.insert(authority, id);
        Ok(id)
    }
}

/// The authority of record `id` of a shard: its `u16` id in `ids`, then
/// its name in the stored [`Authorities`].
pub(crate) fn authority_at<'a>(ids: &[u8], offsets: &[u8], heap: &'a [u8], id: usize) -> Option<&'a str> {
    let a = ids.get(id * 2..id * 2 + 2)?;
    string_at(offsets, heap, usize::from(u16::from_le_bytes([a[0], a[1]])))
}

/// The little-endian `u32` at byte `i`, if inside `b`.
pub(crate) fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// The little-endian `u64` at byte `i`, if inside `b`.
pub(crate) fn u64_at(b: &[u8], i: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?))
}

struct HashingWriter<W: Write> {
    inner: W,
    hash: blake3::Hasher,
    written: usize,
}

impl<W: Write> HashingWriter<W> {
    fn pad_to(&mut self, at: usize) -> std::io::Result<()> {
        let zeros = [0u8; ALIGN];
        while self.written < at {
            let k = (at - self.written).min(ALIGN);
            self.write_all(&zeros[..k])?;
        }
        Ok(())
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.hash.update(&buf[..k]);
        self.written += k;
        Ok(k)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
