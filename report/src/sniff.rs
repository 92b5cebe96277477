//! Deciding what kind of text file a report is, from its first bytes.
//!
//! CRMs export with `,`, `;` (German Excel) or TAB, in UTF-8 (often with a BOM) or
//! Windows-1252. We look at the first [`SAMPLE_LEN`] bytes only, so the decision costs nothing
//! on a million-row file.

/// How many bytes are sampled.
pub const SAMPLE_LEN: usize = 64 * 1024;

/// The text encoding of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 without a byte-order mark.
    Utf8,
    /// UTF-8 starting with a byte-order mark (Excel's "CSV UTF-8").
    Utf8Bom,
    /// Windows-1252 (the first 64 KiB are not valid UTF-8).
    Windows1252,
}

impl std::fmt::Display for TextEncoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf8Bom => "UTF-8 (BOM)",
            TextEncoding::Windows1252 => "Windows-1252",
        })
    }
}

/// The result of sniffing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    /// The field delimiter.
    pub delimiter: u8,
    /// The encoding.
    pub encoding: TextEncoding,
    /// Bytes to skip at the start (the BOM).
    pub skip: usize,
}

/// Why a sample is not a CSV text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotText {
    /// Nothing at all.
    Empty,
    /// A UTF-16 byte-order mark.
    Utf16,
    /// NUL bytes (binary data, or UTF-16 without BOM).
    Nul,
}

/// Sniffs `sample` (the first bytes of the file; `complete` when it is the whole file).
pub fn sniff(sample: &[u8], complete: bool) -> Result<Sniffed, NotText> {
    if sample.starts_with(&[0xFF, 0xFE]) || sample.starts_with(&[0xFE, 0xFF]) {
        return Err(NotText::Utf16);
    }
    let (skip, bom) = if sample.starts_with(&[0xEF, 0xBB, 0xBF]) {
        (3, true)
    } else {
        (0, false)
    };
    let body = &sample[skip..];
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(NotText::Empty);
    }
    if body.contains(&0) {
        return Err(NotText::Nul);
    }
    let encoding = match std::str::from_utf8(body) {
        Ok(_) if bom => TextEncoding::Utf8Bom,
        Ok(_) => TextEncoding::Utf8,
        // The sample may end in the middle of a multi-byte character: that is not an error.
        Err(e) if e.error_len().is_none() && !complete => {
            if bom {
                TextEncoding::Utf8Bom
            } else {
                TextEncoding::Utf8
            }
        }
        Err(_) => TextEncoding::Windows1252,
    };
    Ok(Sniffed {
        delimiter: delimiter(body),
        encoding,
        skip,
    })
}

/// Picks the delimiter that occurs most often (outside quotes) in the header line; `,` when
/// none occurs (a single-column report).
fn delimiter(body: &[u8]) -> u8 {
    let mut counts = [0usize; 3]; // , ; TAB
    let mut quoted = false;
    // Blank lines before the header do not count as the header line.
    let start = body
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n' | b' '))
        .unwrap_or(body.len());
    for &b in &body[start..] {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b',', b';', b'\t'];
    let mut best = 0;
    for i in 1..3 {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    candidates[best]
}

/// Decodes one field: UTF-8 when valid, else Windows-1252; always a `String`.
pub fn decode(bytes: &[u8], encoding: TextEncoding) -> String {
    match encoding {
        TextEncoding::Windows1252 => cp1252(bytes),
        TextEncoding::Utf8 | TextEncoding::Utf8Bom => match std::str::from_utf8(bytes) {
            Ok(s) => s.to_string(),
            Err(_) => cp1252(bytes),
        },
    }
}

fn cp1252(bytes: &[u8]) -> String {
    let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
    text.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(sniff(b"a;b;c\n1;2;3\n", true).unwrap().delimiter, b';');
        assert_eq!(sniff(b"a,b,c\n", true).unwrap().delimiter, b',');
        assert_eq!(sniff(b"a\tb\tc\n", true).unwrap().delimiter, b'\t');
        // A comma inside a quoted header does not count.
        assert_eq!(
            sniff(b"\"Name, Vorname\";E-Mail\n", true)
                .unwrap()
                .delimiter,
            b';'
        );
        // Only the header line counts, not commas in later rows.
        assert_eq!(sniff(b"a;b\n1,2,3,4,5;x\n", true).unwrap().delimiter, b';');
        assert_eq!(sniff(b"email\nx@y.de\n", true).unwrap().delimiter, b',');
        assert_eq!(sniff(b"\r\n\r\na;b\n", true).unwrap().delimiter, b';');
    }

    #[test]
    fn encodings() {
        let s = sniff(b"\xEF\xBB\xBFName;E-Mail\n", true).unwrap();
        assert_eq!((s.encoding, s.skip), (TextEncoding::Utf8Bom, 3));
        assert_eq!(
            sniff("Straße;E-Mail\n".as_bytes(), true).unwrap().encoding,
            TextEncoding::Utf8
        );
        assert_eq!(
            sniff(b"Stra\xDFe;E-Mail\n", true).unwrap().encoding,
            TextEncoding::Windows1252
        );
        // A sample cut inside "ß" is still UTF-8 when the file goes on.
        assert_eq!(
            sniff(b"Stra\xC3", false).unwrap().encoding,
            TextEncoding::Utf8
        );
        assert_eq!(
            sniff(b"Stra\xC3", true).unwrap().encoding,
            TextEncoding::Windows1252
        );
    }

    #[test]
    fn not_text() {
        assert_eq!(sniff(b"", true), Err(NotText::Empty));
        assert_eq!(sniff(b" \r\n", true), Err(NotText::Empty));
        assert_eq!(sniff(b"\xFF\xFEa\0", true), Err(NotText::Utf16));
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", true),
            Err(NotText::Nul)
        );
    }

    #[test]
    fn decoding() {
        assert_eq!(decode(b"M\xFCller", TextEncoding::Windows1252), "Müller");
        assert_eq!(decode(b"\x80 5", TextEncoding::Windows1252), "€ 5");
        assert_eq!(decode("Müller".as_bytes(), TextEncoding::Utf8), "Müller");
        // A stray cp1252 field in a UTF-8 file is not lost.
        assert_eq!(decode(b"M\xFCller", TextEncoding::Utf8), "Müller");
    }
}
