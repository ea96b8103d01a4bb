//! Whether a FITS file holds all the data its headers declare (FITS Standard 4.0 §3-4): for
//! every HDU, the header (2880-byte blocks up to the END card) and then `|BITPIX| / 8 ×
//! GCOUNT × (PCOUNT + NAXIS1 × ... × NAXISn)` data bytes (§4.4.1.1; random groups leave out
//! NAXIS1 = 0, §6). A file that ends before that is *short*, which is also what a file looks
//! like while it is being written, so a caller (live ingest) can try it again later; a file
//! that is not FITS, or whose mandatory keywords are wrong, is *corrupt*.
//!
//! Plain files are checked from their length and headers only (the data is never read).
//! Whole-file gzip (`.fits.gz`, recognised by its magic bytes) is decompressed as a stream
//! with flate2, keeping one block in memory; a gzip stream cut short is short as well.
//! Bytes after the last HDU that do not start an extension (`XTENSION=`) are ignored, as
//! CFITSIO ignores them; the last HDU's data need not be padded to a whole block.

use std::fs::File;
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// The FITS block size, bytes.
pub const BLOCK: u64 = 2880;

/// Why a file is not a complete FITS file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incomplete {
    /// The file ends before its headers and data do: cut short, or still being written.
    Short(String),
    /// Not FITS, or a header whose mandatory keywords are missing or wrong.
    Corrupt(String),
    /// The file could not be read (permissions, I/O error).
    Unreadable(String),
}

impl Incomplete {
    /// Whether the file may still be being written (and is worth another look later).
    pub fn is_short(&self) -> bool {
        matches!(self, Incomplete::Short(_))
    }
}

impl std::fmt::Display for Incomplete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Incomplete::Short(why) => write!(
                f,
                "short: {why} (a file still being written looks like this)"
            ),
            Incomplete::Corrupt(why) => write!(f, "not a valid FITS file: {why}"),
            Incomplete::Unreadable(why) => write!(f, "cannot read: {why}"),
        }
    }
}

/// Where one HDU lies in the file (in the decompressed stream for a gzip file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HduLayout {
    /// 0-based HDU index.
    pub index: usize,
    /// `XTENSION` of an extension (`IMAGE`, `BINTABLE`, `TABLE`), `None` for the primary HDU.
    pub xtension: Option<String>,
    /// BITPIX: 8, 16, 32, 64, -32 or -64.
    pub bitpix: i32,
    /// NAXIS1, NAXIS2, ... (FITS order).
    pub naxis: Vec<u64>,
    /// Byte offset of the header's first block.
    pub header_start: u64,
    /// Byte offset of the data (just after the header's last block).
    pub data_start: u64,
    /// Data bytes the header declares (without the padding to a whole block).
    pub data_bytes: u64,
}

/// The layout of every HDU of the file at `path`, or why the file is incomplete.
pub fn check_file(path: &Path) -> Result<Vec<HduLayout>, Incomplete> {
    let file = File::open(path).map_err(|e| Incomplete::Unreadable(e.to_string()))?;
    let len = file
        .metadata()
        .map_err(|e| Incomplete::Unreadable(e.to_string()))?
        .len();
    check(&file, len, None)
}

/// Each HDU's header bytes (whole 2880-byte blocks, END included), in HDU order.
pub type HeaderBytes = Vec<Vec<u8>>;

/// [`check_file`], also giving each HDU's header bytes (whole blocks, END included) of a
/// plain file, read on the way (`None` for a gzip file), so that a caller that wants the
/// headers need not read the file again.
pub fn check_file_with_headers(
    path: &Path,
) -> Result<(Vec<HduLayout>, Option<HeaderBytes>), Incomplete> {
    let file = File::open(path).map_err(|e| Incomplete::Unreadable(e.to_string()))?;
    let len = file
        .metadata()
        .map_err(|e| Incomplete::Unreadable(e.to_string()))?
        .len();
    check_open_file_with_headers(&file, len)
}

/// [`check_file_with_headers`] for a file the caller has opened and stat'ed (`len`: its
/// size in bytes then), so that the caller can stat it again through the same descriptor
/// and tell whether it changed while it was read (the live ingest does). Plain files are
/// read with positioned reads (the descriptor's offset is left where it was); a gzip file is
/// read from the descriptor's offset, which must be 0.
pub fn check_open_file_with_headers(
    file: &File,
    len: u64,
) -> Result<(Vec<HduLayout>, Option<HeaderBytes>), Incomplete> {
    let mut headers = Vec::new();
    let layouts = check(file, len, Some(&mut headers))?;
    let plain = headers.len() == layouts.len();
    Ok((layouts, plain.then_some(headers)))
}

/// [`check_file`] of an open file of `len` bytes, keeping a plain file's headers in
/// `headers` when given.
fn check(
    file: &File,
    len: u64,
    headers: Option<&mut Vec<Vec<u8>>>,
) -> Result<Vec<HduLayout>, Incomplete> {
    // The first block, read once: its first two bytes tell gzip from plain, and a plain
    // file's scan starts with it.
    let mut first = Box::new([0u8; BLOCK as usize]);
    let want = len.min(BLOCK) as usize;
    let n = pread_full(file, &mut first[..want], 0)
        .map_err(|e| Incomplete::Unreadable(e.to_string()))?;
    if n >= 2 && first[..2] == [0x1f, 0x8b] {
        let gz = flate2::read::MultiGzDecoder::new(BufReader::new(file));
        let mut stream = Stream::Gzip(Box::new(gz), 0);
        let layouts = scan(&mut stream, None)?;
        // The rest of the stream, to its trailer: flate2 checks the CRC and the length there,
        // and a stream cut anywhere, even inside the trailer, ends early.
        if let Stream::Gzip(g, _) = &mut stream {
            match std::io::copy(g.as_mut(), &mut std::io::sink()) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Err(Incomplete::Short(
                        "the gzip stream ends before its end (its trailer is cut)".into(),
                    ))
                }
                Err(e) => return Err(Incomplete::Corrupt(format!("gzip: {e}"))),
            }
        }
        Ok(layouts)
    } else {
        let stream = &mut Stream::Plain {
            file,
            len,
            pos: 0,
            first: Some((first, n)),
        };
        scan(stream, headers)
    }
}

/// Read until `buf` is full or the input ends; the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Read from `offset` until `buf` is full or the file ends (positioned reads, which leave
/// the descriptor's offset alone); the bytes read.
fn pread_full(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], offset + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A file read block by block: a plain file of `len` bytes (read at `pos`; skips only move
/// `pos`; `first`: its first block and how many bytes of it there are, already read) or a
/// gzip stream (skips are reads).
enum Stream<'a> {
    Plain {
        file: &'a File,
        len: u64,
        pos: u64,
        first: Option<(Box<[u8; BLOCK as usize]>, usize)>,
    },
    Gzip(Box<flate2::read::MultiGzDecoder<BufReader<&'a File>>>, u64),
}

/// How an input failed: it ended (short), or an error (a broken gzip stream is short, as
/// one being written is; anything else is unreadable).
enum Failure {
    Ended,
    Io(String),
}

impl Stream<'_> {
    fn position(&self) -> u64 {
        match self {
            Stream::Plain { pos, .. } => *pos,
            Stream::Gzip(_, pos) => *pos,
        }
    }

    /// One block, or how it could not be read in whole.
    fn block(&mut self, buf: &mut [u8; BLOCK as usize]) -> Result<usize, Failure> {
        let n = match self {
            // Nothing is read past the length stat'ed: a file that grew since is read again
            // later (the live ingest compares its stat before and after).
            Stream::Plain {
                file,
                len,
                pos,
                first,
            } => {
                let want = (len.saturating_sub(*pos)).min(BLOCK) as usize;
                let n = match first.take() {
                    Some((block, n)) if *pos == 0 => {
                        buf[..n].copy_from_slice(&block[..n]);
                        Ok(n)
                    }
                    _ => pread_full(file, &mut buf[..want], *pos),
                };
                if let Ok(k) = n {
                    *pos += k as u64;
                }
                n
            }
            Stream::Gzip(g, pos) => {
                let n = read_full(g, buf);
                if let Ok(k) = n {
                    *pos += k as u64;
                }
                n
            }
        };
        match n {
            Ok(k) => Ok(k),
            Err(e) if matches!(self, Stream::Gzip(..)) => {
                // flate2 reports a gzip stream cut short as UnexpectedEof or invalid data.
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    Err(Failure::Ended)
                } else {
                    Err(Failure::Io(format!("gzip: {e}")))
                }
            }
            Err(e) => Err(Failure::Io(e.to_string())),
        }
    }

    /// Skip `n` bytes; the bytes actually there (fewer when the input ends).
    fn skip(&mut self, n: u64) -> Result<u64, Failure> {
        match self {
            Stream::Plain { len, pos, .. } => {
                let there = n.min(len.saturating_sub(*pos));
                *pos += there;
                Ok(there)
            }
            Stream::Gzip(g, pos) => {
                // Counted chunk by chunk, so that a stream that ends early still says how much
                // of the data it held.
                let mut buf = [0u8; 64 * 1024];
                let mut done = 0u64;
                while done < n {
                    let want = (n - done).min(buf.len() as u64) as usize;
                    match g.read(&mut buf[..want]) {
                        Ok(0) => break,
                        Ok(k) => done += k as u64,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                        Err(e) => return Err(Failure::Io(format!("gzip: {e}"))),
                    }
                }
                *pos += done;
                Ok(done)
            }
        }
    }
}

/// One header's keywords that fix the data size.
/// An integer keyword's value, or its text when it is not an integer.
type IntCard = Result<i64, String>;

#[derive(Default)]
struct Sizing {
    xtension: Option<String>,
    bitpix: Option<IntCard>,
    naxis: Option<IntCard>,
    naxes: Vec<Option<IntCard>>,
    pcount: Option<IntCard>,
    gcount: Option<IntCard>,
    groups: bool,
}

/// The value field of a card (columns 11-80) without its comment, trimmed.
fn value(card: &[u8]) -> &str {
    let text = std::str::from_utf8(&card[10..]).unwrap_or("");
    // A string value may hold '/', but the keywords read here are numbers, logicals and
    // XTENSION (whose values never hold one).
    text.split('/').next().unwrap_or("").trim()
}

fn scan(
    input: &mut Stream,
    mut headers: Option<&mut Vec<Vec<u8>>>,
) -> Result<Vec<HduLayout>, Incomplete> {
    let mut out = Vec::new();
    let mut buf = [0u8; BLOCK as usize];
    loop {
        let index = out.len();
        let header_start = input.position();
        let mut sizing = Sizing::default();
        let mut ended = false;
        let mut blocks = 0u64;
        let mut header = Vec::new();
        while !ended {
            let n = match input.block(&mut buf) {
                Ok(n) => n,
                Err(Failure::Ended) => 0,
                Err(Failure::Io(e)) => return Err(Incomplete::Unreadable(e)),
            };
            if n == 0 && blocks == 0 && index > 0 {
                return Ok(out);
            }
            if blocks == 0 && index > 0 && !buf[..n.min(10)].starts_with(b"XTENSION= ") {
                // Not an extension: trailing bytes after the last HDU.
                return Ok(out);
            }
            if index == 0 && blocks == 0 && !b"SIMPLE  =".starts_with(&buf[..n.min(9)]) {
                // Not FITS, however short: what is there already says so.
                return Err(Incomplete::Corrupt(
                    "it does not begin with SIMPLE = T".into(),
                ));
            }
            if n < BLOCK as usize {
                return Err(Incomplete::Short(format!(
                    "the header of HDU {index} ends after {} bytes, before its END card",
                    blocks * BLOCK + n as u64
                )));
            }
            if let Some(b) = buf.iter().find(|b| !(0x20..=0x7e).contains(*b)) {
                return Err(Incomplete::Corrupt(format!(
                    "the header of HDU {index} holds the byte 0x{b:02x}, which is not ASCII text"
                )));
            }
            if headers.is_some() {
                header.extend_from_slice(&buf);
            }
            for (k, card) in buf.chunks(80).enumerate() {
                let key = std::str::from_utf8(&card[..8]).unwrap_or("").trim_end();
                let first = blocks == 0 && k == 0;
                if first {
                    match (index, key) {
                        (0, "SIMPLE") if value(card) == "T" => {}
                        (0, _) => {
                            return Err(Incomplete::Corrupt(
                                "it does not begin with SIMPLE = T".into(),
                            ))
                        }
                        _ => {
                            // An extension's first card is XTENSION (checked above).
                            sizing.xtension =
                                Some(value(card).trim_matches('\'').trim().to_string())
                        }
                    }
                    continue;
                }
                if key == "END" {
                    ended = true;
                    break;
                }
                if &card[8..10] != b"= " {
                    continue;
                }
                let int = || {
                    let v = value(card);
                    v.parse::<i64>().map_err(|_| format!("'{v}'"))
                };
                match key {
                    "BITPIX" => sizing.bitpix = Some(int()),
                    "NAXIS" => sizing.naxis = Some(int()),
                    "PCOUNT" => sizing.pcount = Some(int()),
                    "GCOUNT" => sizing.gcount = Some(int()),
                    "GROUPS" => sizing.groups = value(card) == "T",
                    _ => {
                        if let Some(n) = key
                            .strip_prefix("NAXIS")
                            .and_then(|n| n.parse::<usize>().ok())
                        {
                            if (1..=999).contains(&n) {
                                if sizing.naxes.len() < n {
                                    sizing.naxes.resize(n, None);
                                }
                                sizing.naxes[n - 1] = Some(int());
                            }
                        }
                    }
                }
            }
            blocks += 1;
        }
        let layout = sized(index, sizing, header_start, header_start + blocks * BLOCK)?;
        let padded = layout.data_bytes.div_ceil(BLOCK) * BLOCK;
        let there = match input.skip(padded) {
            Ok(k) => k,
            Err(Failure::Ended) => 0,
            Err(Failure::Io(e)) => return Err(Incomplete::Unreadable(e)),
        };
        if there < layout.data_bytes {
            return Err(Incomplete::Short(format!(
                "HDU {index} declares {} data bytes, the file holds {there} of them",
                layout.data_bytes
            )));
        }
        let complete = there == padded;
        out.push(layout);
        if let Some(h) = headers.as_deref_mut() {
            h.push(header);
        }
        if !complete {
            // The last HDU's padding is missing: nothing can follow it.
            return Ok(out);
        }
    }
}

/// The layout of HDU `index` from its header's keywords.
fn sized(
    index: usize,
    s: Sizing,
    header_start: u64,
    data_start: u64,
) -> Result<HduLayout, Incomplete> {
    let bad = |why: String| Incomplete::Corrupt(format!("HDU {index}: {why}"));
    // A mandatory integer keyword: its value, or an error quoting what the header says.
    let integer = |key: &str, card: Option<IntCard>| -> Result<i64, Incomplete> {
        match card {
            None => Err(bad(format!("no {key}"))),
            Some(Ok(v)) => Ok(v),
            Some(Err(text)) => Err(bad(format!("{key} = {text} is not an integer"))),
        }
    };
    let bitpix = integer("BITPIX", s.bitpix)?;
    if ![8, 16, 32, 64, -32, -64].contains(&bitpix) {
        return Err(bad(format!(
            "BITPIX = {bitpix} is not 8, 16, 32, 64, -32 or -64"
        )));
    }
    let naxis = integer("NAXIS", s.naxis)?;
    if !(0..=999).contains(&naxis) {
        return Err(bad(format!("NAXIS = {naxis} is not in 0..999")));
    }
    let mut naxes = Vec::with_capacity(naxis as usize);
    for n in 1..=naxis as usize {
        let key = format!("NAXIS{n}");
        match s.naxes.get(n - 1).cloned().flatten() {
            None => return Err(bad(format!("NAXIS = {naxis} but no NAXIS{n}"))),
            Some(card) => {
                let v = integer(&key, Some(card))?;
                if v < 0 {
                    return Err(bad(format!("{key} = {v} is negative")));
                }
                naxes.push(v as u64);
            }
        }
    }
    let pcount = s.pcount.map_or(Ok(0), |c| integer("PCOUNT", Some(c)))?;
    let gcount = s.gcount.map_or(Ok(1), |c| integer("GCOUNT", Some(c)))?;
    if pcount < 0 || gcount < 0 {
        return Err(bad(format!(
            "PCOUNT = {pcount}, GCOUNT = {gcount}: not valid counts"
        )));
    }
    // Random groups (§6): NAXIS1 = 0 and GROUPS = T; NAXIS1 is left out of the product.
    let axes: &[u64] = if index == 0 && s.groups && naxes.first() == Some(&0) {
        &naxes[1..]
    } else {
        &naxes
    };
    let elements = if naxis == 0 {
        Some(0u128)
    } else {
        axes.iter()
            .try_fold(1u128, |acc, &n| acc.checked_mul(u128::from(n)))
    };
    let bytes = elements
        .and_then(|e| e.checked_add(pcount as u128))
        .and_then(|e| e.checked_mul(gcount as u128))
        .and_then(|e| e.checked_mul(bitpix.unsigned_abs() as u128 / 8))
        .filter(|&b| b <= u128::from(u64::MAX / 2))
        .ok_or_else(|| bad("the declared data size overflows".into()))?;
    Ok(HduLayout {
        index,
        xtension: s.xtension,
        bitpix: bitpix as i32,
        naxis: naxes,
        header_start,
        data_start,
        data_bytes: bytes as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A header of these cards (each padded to 80 characters), END, padded to whole blocks.
    fn header(cards: &[&str]) -> Vec<u8> {
        let mut h = Vec::new();
        for c in cards.iter().chain(&["END"]) {
            h.extend_from_slice(format!("{c:<80}").as_bytes());
        }
        h.resize(h.len().div_ceil(BLOCK as usize) * BLOCK as usize, b' ');
        h
    }

    /// A primary image of `w` x `h` 16-bit pixels and a binary-table extension of 3 rows of
    /// 8 bytes with a 100-byte heap, each padded.
    fn two_hdus(w: usize, h: usize) -> (Vec<u8>, usize) {
        let mut f = header(&[
            "SIMPLE  =                    T",
            "BITPIX  =                   16",
            "NAXIS   =                    2",
            &format!("NAXIS1  = {w:>20}"),
            &format!("NAXIS2  = {h:>20}"),
            "EXTEND  =                    T",
        ]);
        let data = 2 * w * h;
        f.extend(std::iter::repeat_n(7u8, data));
        f.resize(f.len().div_ceil(BLOCK as usize) * BLOCK as usize, 0);
        f.extend(header(&[
            "XTENSION= 'BINTABLE'           / binary table",
            "BITPIX  =                    8",
            "NAXIS   =                    2",
            "NAXIS1  =                    8",
            "NAXIS2  =                    3",
            "PCOUNT  =                  100",
            "GCOUNT  =                    1",
            "TFIELDS =                    1",
        ]));
        f.extend(std::iter::repeat_n(1u8, 24 + 100));
        f.resize(f.len().div_ceil(BLOCK as usize) * BLOCK as usize, 0);
        (f, data)
    }

    fn check_bytes(bytes: &[u8]) -> Result<Vec<HduLayout>, Incomplete> {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f.fits");
        std::fs::write(&p, bytes).expect("write");
        check_file(&p)
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        g.write_all(bytes).expect("gzip");
        g.finish().expect("gzip")
    }

    #[test]
    fn complete_files_give_every_hdu_and_its_place() {
        let (f, data) = two_hdus(100, 30);
        for bytes in [f.clone(), gzip(&f)] {
            let l = check_bytes(&bytes).expect("complete");
            assert_eq!(l.len(), 2);
            assert_eq!((l[0].bitpix, l[0].naxis.clone()), (16, vec![100, 30]));
            assert_eq!((l[0].data_start, l[0].data_bytes), (2880, data as u64));
            assert_eq!(l[1].xtension.as_deref(), Some("BINTABLE"));
            assert_eq!(l[1].header_start, 2880 + 8640);
            assert_eq!(l[1].data_bytes, 124);
        }
        // The last HDU's padding may be missing; bytes after the last HDU that are not an
        // extension are ignored.
        let cut = f.len() - BLOCK as usize + 124;
        assert_eq!(check_bytes(&f[..cut]).expect("unpadded").len(), 2);
        let mut trailing = f.clone();
        trailing.extend_from_slice(&[0u8; 500]);
        assert_eq!(check_bytes(&trailing).expect("trailing").len(), 2);
    }

    #[test]
    fn an_open_file_is_checked_up_to_the_length_stat_ed_and_its_offset_left_alone() {
        use std::io::Seek;
        let (f, _) = two_hdus(100, 30);
        let dir = tempfile::tempdir().expect("tempdir");
        let plain = dir.path().join("f.fits");
        std::fs::write(&plain, &f).expect("write");
        let file = File::open(&plain).expect("open");
        let (layouts, headers) =
            check_open_file_with_headers(&file, f.len() as u64).expect("complete");
        assert_eq!(layouts, check_file(&plain).expect("complete"));
        let headers = headers.expect("a plain file's headers");
        assert_eq!(headers.len(), 2);
        assert_eq!(headers[0], f[..2880]);
        assert_eq!(headers[1], f[11520..14400]);
        assert_eq!((&file).stream_position().expect("offset"), 0);
        // Stat'ed while it was being written: only the bytes there then count (the caller
        // compares a second stat and tries again).
        let err = check_open_file_with_headers(&file, 5000).expect_err("short then");
        assert!(err.is_short(), "{err}");
        // A gzip file: the same layouts, no header bytes.
        let gz = dir.path().join("f.fits.gz");
        let zipped = gzip(&f);
        std::fs::write(&gz, &zipped).expect("write");
        let file = File::open(&gz).expect("open");
        let (zl, zh) = check_open_file_with_headers(&file, zipped.len() as u64).expect("gzip");
        assert_eq!(zl, layouts);
        assert!(zh.is_none());
    }

    #[test]
    fn a_few_bytes_that_are_not_fits_are_corrupt_not_short() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, bytes) in [
            ("text.fits", &b"this is not FITS\n"[..]),
            ("x.fits", &b"X"[..]),
            ("almost.fits", &b"SIMPLE =  T"[..]),
        ] {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).expect("write");
            assert_eq!(
                check_file(&p),
                Err(Incomplete::Corrupt(
                    "it does not begin with SIMPLE = T".into()
                )),
                "{name}"
            );
        }
        // What could still become FITS is short: nothing yet, or the start of SIMPLE.
        for bytes in [
            &b""[..],
            &b"SIMP"[..],
            &b"SIMPLE  =                    T"[..],
        ] {
            let p = dir.path().join("partial.fits");
            std::fs::write(&p, bytes).expect("write");
            assert!(check_file(&p).is_err_and(|e| e.is_short()), "{bytes:?}");
        }
    }

    #[test]
    fn files_cut_anywhere_are_short_with_the_hdu_named() {
        let (f, data) = two_hdus(100, 30);
        // Header only; half the image; the extension's header cut; its heap cut; empty.
        for (cut, says) in [
            (2880, "HDU 0 declares 6000 data bytes, the file holds 0"),
            (
                2880 + data / 2,
                "HDU 0 declares 6000 data bytes, the file holds 3000",
            ),
            (
                2880 + 8640 + 1000,
                "the header of HDU 1 ends after 1000 bytes",
            ),
            (
                2880 + 8640 + 2880 + 50,
                "HDU 1 declares 124 data bytes, the file holds 50",
            ),
            (0, "the header of HDU 0 ends after 0 bytes"),
            (79, "the header of HDU 0 ends after 79 bytes"),
        ] {
            for bytes in [f[..cut].to_vec(), gzip(&f[..cut])] {
                let e = check_bytes(&bytes).expect_err("short");
                assert!(e.is_short(), "{cut}: {e}");
                assert!(e.to_string().contains(says), "{cut}: {e}");
            }
        }
        // A gzip stream cut short (a file being compressed) is short too, wherever it is cut:
        // in the data (saying how much of it is there), or in the trailer's last bytes.
        let g = gzip(&f);
        let e = check_bytes(&g[..g.len() / 2]).expect_err("cut gzip");
        assert!(e.is_short(), "{e}");
        for cut in 1..=10 {
            let e = check_bytes(&g[..g.len() - cut]).expect_err("gzip without its trailer");
            assert!(e.is_short(), "{cut}: {e}");
        }
        let mut bad_crc = g.clone();
        let n = bad_crc.len();
        bad_crc[n - 8] ^= 0xff;
        let e = check_bytes(&bad_crc).expect_err("bad CRC");
        assert!(!e.is_short() && e.to_string().contains("gzip"), "{e}");
    }

    #[test]
    fn files_that_are_not_fits_or_have_wrong_keywords_are_corrupt() {
        let block = |cards: &[&str]| header(cards);
        for (bytes, says) in [
            (vec![b'x'; 2880], "does not begin with SIMPLE = T"),
            (
                block(&["SIMPLE  =                    F"]),
                "does not begin with SIMPLE = T",
            ),
            (
                block(&[
                    "SIMPLE  =                    T",
                    "BITPIX  =                   12",
                    "NAXIS   =                    0",
                ]),
                "BITPIX = 12",
            ),
            (
                block(&[
                    "SIMPLE  =                    T",
                    "BITPIX  =                    8",
                ]),
                "no NAXIS",
            ),
            (
                block(&[
                    "SIMPLE  =                    T",
                    "BITPIX  =                    8",
                    "NAXIS   =                    2",
                    "NAXIS1  =                   10",
                ]),
                "no NAXIS2",
            ),
            (
                block(&[
                    "SIMPLE  =                    T",
                    "BITPIX  =                    8",
                    "NAXIS   =                    1",
                    "NAXIS1  =                   -5",
                ]),
                "NAXIS1 = -5",
            ),
            (
                block(&[
                    "SIMPLE  =                    T",
                    "BITPIX  =                  -64",
                    "NAXIS   =                    3",
                    "NAXIS1  =  9000000000000000000",
                    "NAXIS2  =  9000000000000000000",
                    "NAXIS3  =                    9",
                ]),
                "overflows",
            ),
            (
                block(&[
                    "SIMPLE  =                    T",
                    "BITPIX  =                    8",
                    "NAXIS   =                    1",
                    "NAXIS1  = 99999999999999999999",
                ]),
                "NAXIS1 = '99999999999999999999' is not an integer",
            ),
            (
                block(&[
                    "SIMPLE  =                    T",
                    "BITPIX  =                    8",
                    "NAXIS   =                    1",
                    "NAXIS1  =               1.5E3",
                ]),
                "NAXIS1 = '1.5E3' is not an integer",
            ),
            (
                block(&[
                    "SIMPLE  =                    T",
                    "BITPIX  = 'x'",
                    "NAXIS   =                    0",
                ]),
                "BITPIX = ''x'' is not an integer",
            ),
        ] {
            let e = check_bytes(&bytes).expect_err(says);
            assert!(!e.is_short(), "{says}: {e}");
            assert!(e.to_string().contains(says), "{says}: {e}");
        }
        let mut binary = header(&["SIMPLE  =                    T"]);
        binary[200] = 0xff;
        let e = check_bytes(&binary).expect_err("binary header");
        assert!(e.to_string().contains("0xff"), "{e}");
        // A missing file cannot be read (neither short nor corrupt).
        let e = check_file(Path::new("/nonexistent/vogate.fits")).expect_err("missing");
        assert!(matches!(e, Incomplete::Unreadable(_)), "{e}");
    }
}
